import type { EntityManager, EntityTarget, ObjectLiteral } from 'typeorm';
import type { QueryDeepPartialEntity } from 'typeorm/query-builder/QueryPartialEntity';
import { insertMany } from '../storage/bulk-insert';

/**
 * A plain INSERT of a complete row. TypeORM's insert() types every column as a deep partial, which its
 * JSON columns of `Record<string, unknown>` do not satisfy; the row here is a whole entity, so it fits.
 * A row with every column set goes through `insertMany` (one prepared statement per table, reused; TypeORM's
 * insert() rebuilds its statement and reads generated values back each time, several times the cost on the
 * message path); a row leaving columns to their database defaults goes through insert().
 */
export async function insertRow<T extends ObjectLiteral>(
  m: EntityManager,
  target: EntityTarget<T>,
  row: T,
): Promise<void> {
  const columns = m.connection.getMetadata(target).columns.filter((c) => !c.isGenerated && !c.isVirtual);
  if (columns.every((c) => c.getEntityValue(row) !== undefined)) await insertMany(m, target, [row]);
  else await m.insert(target, row);
}

export function patch<T extends ObjectLiteral>(p: Partial<T>): QueryDeepPartialEntity<T> {
  return p;
}

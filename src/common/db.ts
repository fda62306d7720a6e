import type { EntityManager, EntityTarget, ObjectLiteral } from 'typeorm';
import type { QueryDeepPartialEntity } from 'typeorm/query-builder/QueryPartialEntity';

/**
 * A plain INSERT of a complete row. TypeORM's insert() types every column as a deep partial, which its
 * JSON columns of `Record<string, unknown>` do not satisfy; the row here is a whole entity, so it fits.
 */
export async function insertRow<T extends ObjectLiteral>(
  m: EntityManager,
  target: EntityTarget<T>,
  row: T,
): Promise<void> {
  await m.insert(target, row);
}

export function patch<T extends ObjectLiteral>(p: Partial<T>): QueryDeepPartialEntity<T> {
  return p;
}

import { randomUUID } from 'node:crypto';
import {
  EventSubscriber,
  type EntitySubscriberInterface,
  type InsertEvent,
  type ObjectLiteral,
  type UpdateEvent,
} from 'typeorm';

/**
 * Fills what every row needs but no caller should have to remember: a UUID `id` made in code (the same on
 * both drivers, no database extension), `createdAt`/`updatedAt` as epoch ms on insert, and `updatedAt` on
 * update. Works for `save()`, `insert()` and query-builder writes alike, plain objects included.
 */
@EventSubscriber()
export class RowDefaultsSubscriber implements EntitySubscriberInterface<ObjectLiteral> {
  beforeInsert(event: InsertEvent<ObjectLiteral>): void {
    const row = event.entity as ObjectLiteral | undefined;
    if (!row) return;
    const now = Date.now();
    for (const column of event.metadata.columns) {
      const prop = column.propertyName;
      if (
        prop === 'id' &&
        column.isPrimary &&
        !column.isGenerated &&
        (row.id === undefined || row.id === null)
      ) {
        row.id = randomUUID();
      } else if (
        (prop === 'createdAt' || prop === 'updatedAt') &&
        (row[prop] === undefined || row[prop] === null)
      ) {
        row[prop] = now;
      }
    }
  }

  beforeUpdate(event: UpdateEvent<ObjectLiteral>): void {
    const row = event.entity;
    if (!row) return;
    if (event.metadata.columns.some((c) => c.propertyName === 'updatedAt')) row.updatedAt = Date.now();
  }
}

import { Column, PrimaryColumn, type ValueTransformer } from 'typeorm';

/**
 * Column shapes shared by every entity, chosen to mean the same thing on SQLite and PostgreSQL
 * (docs/adr/0003-storage.md): ids are varchar(36) UUIDs made in code, times are bigint epoch
 * milliseconds, JSON is text written and read by TypeORM (`simple-json`).
 */

/** pg returns int8 as a string because it may exceed 2^53; epoch milliseconds never do. */
export const epochMsTransformer: ValueTransformer = {
  to: (value: unknown): unknown => value,
  from: (value: unknown): unknown => (value === null || value === undefined ? value : Number(value)),
};

/** The primary key of a table whose rows get a UUID from code (see RowDefaultsSubscriber). */
export function IdColumn(primaryKeyConstraintName: string): PropertyDecorator {
  return PrimaryColumn({ type: 'varchar', length: 36, primaryKeyConstraintName });
}

/** A reference to another row's UUID (with or without a foreign key). */
export function RefColumn(options: { nullable?: boolean } = {}): PropertyDecorator {
  return Column({ type: 'varchar', length: 36, nullable: options.nullable ?? false });
}

/** A time as epoch milliseconds (UTC): sorts and compares as a number on both drivers. */
export function EpochMsColumn(options: { nullable?: boolean } = {}): PropertyDecorator {
  return Column({ type: 'bigint', nullable: options.nullable ?? false, transformer: epochMsTransformer });
}

/** A JSON value stored as text; SQL never looks inside it. */
export function JsonColumn(options: { nullable?: boolean } = {}): PropertyDecorator {
  return Column({ type: 'simple-json', nullable: options.nullable ?? false });
}

/** A short enumerated value (state, kind, status): varchar, not a database enum, so adding a value needs no migration. */
export function EnumColumn(options: { nullable?: boolean; default?: string } = {}): PropertyDecorator {
  return Column({
    type: 'varchar',
    length: 32,
    nullable: options.nullable ?? false,
    ...(options.default === undefined ? {} : { default: options.default }),
  });
}

/** Free text of any length (names, addresses, message bodies, remote ids). */
export function TextColumn(options: { nullable?: boolean } = {}): PropertyDecorator {
  return Column({ type: 'text', nullable: options.nullable ?? false });
}

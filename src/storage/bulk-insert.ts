import type { EntityManager, EntityTarget, ObjectLiteral } from 'typeorm';

/** Rows per statement by default; callers with wide rows stay under SQLite's 32,766 bound parameters. */
export const BULK_CHUNK = 500;

/**
 * Inserts whole rows with one multi-row INSERT per chunk, values converted by the entity's own column
 * metadata (transformers, JSON, the driver's parameter style: `?` on SQLite, `$n` on PostgreSQL). TypeORM's
 * insert() builds the same statement but spends most of its time on parameter bookkeeping that grows
 * with the statement, several times the database's own work for a few hundred rows. Rows must be
 * complete (ids, timestamps): subscribers do not run. Generated columns are left to the database;
 * `returning` names columns to read back (in no promised order: include a unique one to match rows by).
 */
export async function insertMany<T extends ObjectLiteral>(
  m: EntityManager,
  target: EntityTarget<T>,
  rows: readonly T[],
  opts: { returning?: string[]; chunk?: number } = {},
): Promise<Record<string, unknown>[]> {
  if (rows.length === 0) return [];
  const meta = m.connection.getMetadata(target);
  const driver = m.connection.driver;
  const columns = meta.columns.filter((c) => !c.isGenerated && !c.isVirtual);
  const chunk = opts.chunk ?? BULK_CHUNK;
  const returning = opts.returning?.length
    ? ` RETURNING ${opts.returning.map((name) => driver.escape(meta.findColumnWithPropertyName(name)?.databaseName ?? name)).join(', ')}`
    : '';
  const head = `INSERT INTO ${driver.escape(meta.tablePath)} (${columns.map((c) => driver.escape(c.databaseName)).join(', ')}) VALUES `;
  const out: Record<string, unknown>[] = [];
  for (let i = 0; i < rows.length; i += chunk) {
    const params: unknown[] = [];
    const values = rows.slice(i, i + chunk).map((row) => {
      const cells = columns.map((c) => {
        params.push(driver.preparePersistentValue(c.getEntityValue(row), c));
        return driver.createParameter(`p${params.length - 1}`, params.length - 1);
      });
      return `(${cells.join(', ')})`;
    });
    const result: unknown = await m.query(head + values.join(', ') + returning, params);
    if (returning && Array.isArray(result)) out.push(...(result as Record<string, unknown>[]));
  }
  return out;
}

/**
 * Updates one row by its primary key. The statement's text depends only on the table and the columns set,
 * so the driver reuses its prepared statement: some 20× cheaper than TypeORM's update() for the thousands
 * of single-row updates a roster burst can bring. Values go through the column metadata as in insertMany.
 */
export async function updateById<T extends ObjectLiteral>(
  m: EntityManager,
  target: EntityTarget<T>,
  id: string | number,
  patch: Partial<T>,
): Promise<void> {
  const meta = m.connection.getMetadata(target);
  const driver = m.connection.driver;
  const [primary, ...more] = meta.primaryColumns;
  if (!primary || more.length > 0) throw new Error(`${meta.name} has no single-column primary key`);
  const params: unknown[] = [];
  const param = (v: unknown): string => {
    params.push(v);
    return driver.createParameter(`p${params.length - 1}`, params.length - 1);
  };
  const sets = Object.entries(patch).map(([prop, value]) => {
    const column = meta.findColumnWithPropertyName(prop);
    if (!column) throw new Error(`${meta.name} has no column ${prop}`);
    return `${driver.escape(column.databaseName)} = ${param(driver.preparePersistentValue(value, column))}`;
  });
  if (sets.length === 0) return;
  await m.query(
    `UPDATE ${driver.escape(meta.tablePath)} SET ${sets.join(', ')} WHERE ${driver.escape(primary.databaseName)} = ${param(id)}`,
    params,
  );
}

/**
 * The value of column `select` of the first row whose columns equal `where` (by property name), or
 * undefined. One plain statement whose text depends only on the table and the columns (so the driver
 * reuses its prepared statement): for lookups on the message path, where TypeORM's findOne spends several
 * times the database's own work building the query and hydrating an entity.
 */
export async function selectValue<T extends ObjectLiteral>(
  m: EntityManager,
  target: EntityTarget<T>,
  select: keyof T & string,
  where: Partial<Record<keyof T & string, string | number>>,
): Promise<unknown> {
  const meta = m.connection.getMetadata(target);
  const driver = m.connection.driver;
  const column = (prop: string) => {
    const c = meta.findColumnWithPropertyName(prop);
    if (!c) throw new Error(`${meta.name} has no column ${prop}`);
    return driver.escape(c.databaseName);
  };
  const params: unknown[] = [];
  const conds = Object.entries(where).map(([prop, value]) => {
    params.push(value);
    return `${column(prop)} = ${driver.createParameter(`p${params.length - 1}`, params.length - 1)}`;
  });
  const rows: unknown = await m.query(
    `SELECT ${column(select)} AS v FROM ${driver.escape(meta.tablePath)} WHERE ${conds.join(' AND ')} LIMIT 1`,
    params,
  );
  return Array.isArray(rows) && rows.length > 0 ? (rows[0] as { v: unknown }).v : undefined;
}

/**
 * Whole entities whose columns equal `where` (by property name; an array value is `IN (…)`), hydrated
 * through the column metadata as TypeORM's find() would (JSON, booleans, transformers) but without its
 * query builder: one plain statement whose text depends only on the table, the columns and the array
 * lengths, so the driver reuses it. For the message path's lookups by id; relations are not loaded.
 */
export async function selectRows<T extends ObjectLiteral>(
  m: EntityManager,
  target: EntityTarget<T>,
  where: Partial<Record<keyof T & string, string | number | readonly (string | number)[]>>,
  opts: { limit?: number; columns?: readonly (keyof T & string)[] } = {},
): Promise<T[]> {
  const meta = m.connection.getMetadata(target);
  const driver = m.connection.driver;
  // `columns`: only these properties are read (a list of thousands of rows needs only what it shows).
  const only = opts.columns ? new Set<string>(opts.columns) : undefined;
  const columns = meta.columns.filter((c) => !c.isVirtual && (!only || only.has(c.propertyName)));
  if (only && columns.length !== only.size)
    throw new Error(`${meta.name} lacks some of the columns ${[...only].join(', ')}`);
  const params: unknown[] = [];
  const param = (v: unknown): string => {
    params.push(v);
    return driver.createParameter(`p${params.length - 1}`, params.length - 1);
  };
  const conds = Object.entries(where).map(([prop, value]) => {
    const c = meta.findColumnWithPropertyName(prop);
    if (!c) throw new Error(`${meta.name} has no column ${prop}`);
    const name = driver.escape(c.databaseName);
    if (!Array.isArray(value)) return `${name} = ${param(value)}`;
    // An empty list matches nothing (SQL has no empty IN list).
    return value.length ? `${name} IN (${value.map(param).join(', ')})` : '1 = 0';
  });
  const select = columns.map((c) => driver.escape(c.databaseName)).join(', ');
  const limit = opts.limit !== undefined ? ` LIMIT ${Math.max(0, Math.floor(opts.limit))}` : '';
  const rows: unknown = await m.query(
    `SELECT ${select} FROM ${driver.escape(meta.tablePath)}${conds.length ? ` WHERE ${conds.join(' AND ')}` : ''}${limit}`,
    params,
  );
  if (!Array.isArray(rows)) return [];
  return (rows as Record<string, unknown>[]).map((row) => {
    const entity = meta.create() as T;
    for (const c of columns) c.setEntityValue(entity, driver.prepareHydratedValue(row[c.databaseName], c));
    return entity;
  });
}

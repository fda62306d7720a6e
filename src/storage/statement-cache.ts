/**
 * Prepared SQLite statements kept for reuse, bounded by the total length of their SQL as well as by count.
 *
 * A prepared statement's native memory grows with its text (some 30–60 bytes per character here): a
 * 500-key `IN (…)` list or a 300-row INSERT holds 50–500 KB. TypeORM's own cache keeps the last N
 * statements whatever their size, and a roster batch makes a new text for every list length, so with
 * N = 1000 the cache alone held tens of MB outside the JS heap after one 10,000-contact login. Here a text
 * longer than `maxChars` is never kept (it is prepared for the call and freed with its JS object), and the
 * least recently used ones go once the kept texts exceed `budgetChars` in all.
 */
export class StatementCache<S> {
  private readonly kept = new Map<string, S>();
  private chars = 0;

  constructor(private readonly limits: { maxEntries: number; maxChars: number; budgetChars: number }) {}

  /** The statement for `sql`: a kept one (now the most recently used), or a new one from `prepare`. */
  get(sql: string, prepare: (sql: string) => S): S {
    const hit = this.kept.get(sql);
    if (hit !== undefined) {
      // Map order is insertion order: moving it to the end makes the first entry the least recently used.
      this.kept.delete(sql);
      this.kept.set(sql, hit);
      return hit;
    }
    const stmt = prepare(sql);
    if (sql.length > this.limits.maxChars) return stmt;
    this.kept.set(sql, stmt);
    this.chars += sql.length;
    while (this.kept.size > this.limits.maxEntries || this.chars > this.limits.budgetChars) {
      const oldest = this.kept.keys().next().value as string;
      this.kept.delete(oldest);
      this.chars -= oldest.length;
    }
    return stmt;
  }

  get size(): number {
    return this.kept.size;
  }

  /** Total length of the kept statements' SQL. */
  get keptChars(): number {
    return this.chars;
  }

  clear(): void {
    this.kept.clear();
    this.chars = 0;
  }
}

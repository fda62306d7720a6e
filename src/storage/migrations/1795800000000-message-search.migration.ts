import type { MigrationInterface, QueryRunner } from 'typeorm';

/*
 * Full-text search over message text. SQLite: an FTS5 index kept in step with `messages` by triggers
 * (external content, so the text is stored once). PostgreSQL: a GIN index on the 'simple' text-search
 * configuration (no stemming: messages mix languages). The entity declares the PostgreSQL index with
 * `synchronize: false` so schema comparison leaves it alone; the FTS5 table is not an entity.
 */
export class MessageSearch1795800000000 implements MigrationInterface {
  name = 'MessageSearch1795800000000';

  async up(q: QueryRunner): Promise<void> {
    if (q.connection.options.type === 'postgres') {
      await q.query(
        `CREATE INDEX "IDX_messages_text_search" ON "messages" USING gin (to_tsvector('simple', "text"))`,
      );
      return;
    }
    await q.query(
      `CREATE VIRTUAL TABLE "messages_fts" USING fts5("text", content='messages', content_rowid='rowid', tokenize='unicode61 remove_diacritics 2')`,
    );
    await q.query(`INSERT INTO "messages_fts"(rowid, "text") SELECT rowid, "text" FROM "messages"`);
    await q.query(
      `CREATE TRIGGER "messages_fts_insert" AFTER INSERT ON "messages" BEGIN INSERT INTO "messages_fts"(rowid, "text") VALUES (new.rowid, new."text"); END`,
    );
    await q.query(
      `CREATE TRIGGER "messages_fts_delete" AFTER DELETE ON "messages" BEGIN INSERT INTO "messages_fts"("messages_fts", rowid, "text") VALUES ('delete', old.rowid, old."text"); END`,
    );
    await q.query(
      `CREATE TRIGGER "messages_fts_update" AFTER UPDATE OF "text" ON "messages" BEGIN INSERT INTO "messages_fts"("messages_fts", rowid, "text") VALUES ('delete', old.rowid, old."text"); INSERT INTO "messages_fts"(rowid, "text") VALUES (new.rowid, new."text"); END`,
    );
  }

  async down(q: QueryRunner): Promise<void> {
    if (q.connection.options.type === 'postgres') {
      await q.query(`DROP INDEX "IDX_messages_text_search"`);
      return;
    }
    for (const t of ['messages_fts_insert', 'messages_fts_delete', 'messages_fts_update'])
      await q.query(`DROP TRIGGER "${t}"`);
    await q.query(`DROP TABLE "messages_fts"`);
  }
}

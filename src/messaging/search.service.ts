import { Inject, Injectable } from '@nestjs/common';
import { DataSource, In } from 'typeorm';
import { ApiError } from '../api/api-error';
import { Message } from '../storage/entities';
import { DATA_SOURCE } from '../tokens';
import { messageView } from './message.view';

/** Words of a query: letters, digits and underscores; everything else (FTS syntax included) separates. */
export function searchTerms(q: string): string[] {
  return (q.normalize('NFKC').match(/[\p{L}\p{N}_]+/gu) ?? []).slice(0, 16);
}

/**
 * Full-text search over the user's own messages: SQLite FTS5 in embedded mode, PostgreSQL text search in
 * cluster mode (both built by a migration). Every word must occur; deleted messages are never found.
 */
@Injectable()
export class SearchService {
  constructor(@Inject(DATA_SOURCE) private readonly ds: DataSource) {}

  async messages(ownerId: string, q: string, limit: number) {
    const terms = searchTerms(q);
    if (terms.length === 0)
      throw ApiError.validation('q needs at least one word to search for', [{ field: 'q' }]);
    let rows: { id: string }[];
    if (this.ds.options.type === 'postgres') {
      rows = await this.ds.query(
        `SELECT id FROM messages
         WHERE to_tsvector('simple', "text") @@ plainto_tsquery('simple', $1) AND "ownerId" = $2 AND deleted = false
         ORDER BY "sentAt" DESC LIMIT $3`,
        [terms.join(' '), ownerId, limit],
      );
    } else {
      // Each word quoted: the user's text is data, never FTS5 query syntax.
      const match = terms.map((t) => `"${t}"`).join(' ');
      rows = await this.ds.query(
        `SELECT m.id AS id FROM messages_fts f JOIN messages m ON m.rowid = f.rowid
         WHERE messages_fts MATCH ? AND m."ownerId" = ? AND m.deleted = 0
         ORDER BY m."sentAt" DESC LIMIT ?`,
        [match, ownerId, limit],
      );
    }
    if (rows.length === 0) return [];
    const found = await this.ds.getRepository(Message).find({ where: { id: In(rows.map((r) => r.id)) } });
    const byId = new Map(found.map((m) => [m.id, m]));
    return rows.flatMap((r) => {
      const m = byId.get(r.id);
      return m ? [messageView(m)] : [];
    });
  }
}

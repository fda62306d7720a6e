import type { DataSource } from 'typeorm';
import type { AccountStateStore } from '../sdk';
import { AccountState } from '../storage/entities';

/** The adapters' per-account key/value state (sync tokens, device ids), kept in the database. */
export class DbAccountStateStore implements AccountStateStore {
  constructor(
    private readonly ds: DataSource,
    private readonly accountId: string,
  ) {}

  async get<T = unknown>(key: string): Promise<T | undefined> {
    const row = await this.ds
      .getRepository(AccountState)
      .findOne({ where: { accountId: this.accountId, key } });
    return row ? (row.value as T) : undefined;
  }

  async set(key: string, value: unknown): Promise<void> {
    // A JSON null is stored as SQL NULL, which the column refuses: null means "no value".
    if (value === null || value === undefined) return this.delete(key);
    await this.ds
      .getRepository(AccountState)
      .upsert({ accountId: this.accountId, key, value: value }, ['accountId', 'key']);
  }

  async delete(key: string): Promise<void> {
    await this.ds.getRepository(AccountState).delete({ accountId: this.accountId, key });
  }
}

import { Entity, JoinColumn, ManyToOne, PrimaryColumn, type Relation } from 'typeorm';
import { JsonColumn } from '../columns';
import { Account } from './account.entity';

/** The adapters' per-account key/value store (sync tokens, cursors); removed with the account. */
@Entity('account_state')
export class AccountState {
  @PrimaryColumn({ type: 'varchar', length: 36, primaryKeyConstraintName: 'PK_account_state' })
  accountId!: string;

  @PrimaryColumn({ type: 'varchar', length: 255, primaryKeyConstraintName: 'PK_account_state' })
  key!: string;

  @ManyToOne(() => Account, { onDelete: 'CASCADE' })
  @JoinColumn({ name: 'accountId', foreignKeyConstraintName: 'FK_account_state_account' })
  account?: Relation<Account>;

  /** Any JSON value except null (a key set to nothing is a deleted row). */
  @JsonColumn()
  value!: unknown;
}

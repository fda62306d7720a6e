import { Column, Entity, Index, JoinColumn, ManyToOne, type Relation } from 'typeorm';
import type { ConnectionState } from '@switchboard/sdk';
import { EnumColumn, EpochMsColumn, IdColumn, JsonColumn, RefColumn, TextColumn } from '../columns';
import { User } from './user.entity';

/** One login on one network, owned by a gateway user. */
@Entity('accounts')
@Index('IDX_accounts_owner', ['ownerId'])
// One account per network login and user (NULL keys, of adapters that name none, are never equal).
@Index('UQ_accounts_owner_login', ['ownerId', 'adapterId', 'loginKey'], { unique: true })
export class Account {
  @IdColumn('PK_accounts')
  id!: string;

  /** No cascade: deleting a user who still has accounts is refused, so network sessions are stopped first. */
  @RefColumn()
  ownerId!: string;

  @ManyToOne(() => User, { onDelete: 'NO ACTION' })
  @JoinColumn({ name: 'ownerId', foreignKeyConstraintName: 'FK_accounts_owner' })
  owner?: Relation<User>;

  /** The adapter's manifest id ("irc", "xmpp", …). */
  @Column({ type: 'varchar', length: 64 })
  adapterId!: string;

  @TextColumn({ nullable: true })
  label!: string | null;

  /**
   * The network login the options name, from the adapter's `loginKey` (SDK 1.3): the bare JID, the IRC
   * server and nick… NULL when the adapter names none, or for an account that duplicates an older one's
   * login (created before the rule: it is left running, and reported at each boot).
   */
  @TextColumn({ nullable: true })
  loginKey!: string | null;

  /** The adapter options without secrets: those live sealed in `secrets`. */
  @JsonColumn()
  options!: Record<string, unknown>;

  /** Secret options (passwords, tokens) as JSON sealed by SecretBox; never plaintext. */
  @TextColumn({ nullable: true })
  secrets!: string | null;

  @Column({ type: 'boolean', default: true })
  enabled!: boolean;

  @EnumColumn({ default: 'connecting' })
  state!: ConnectionState;

  @TextColumn({ nullable: true })
  stateMessage!: string | null;

  @EpochMsColumn()
  createdAt!: number;

  @EpochMsColumn()
  updatedAt!: number;
}

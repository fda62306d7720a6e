import { Column, Entity, Index, JoinColumn, ManyToOne, type Relation } from 'typeorm';
import type { ConnectionState } from '@switchboard/sdk';
import { EnumColumn, EpochMsColumn, IdColumn, JsonColumn, RefColumn, TextColumn } from '../columns';
import { User } from './user.entity';

/** One login on one network, owned by a gateway user. */
@Entity('accounts')
@Index('IDX_accounts_owner', ['ownerId'])
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

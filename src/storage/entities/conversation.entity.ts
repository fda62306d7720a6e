import { Column, Entity, Index, JoinColumn, ManyToOne, Unique, type Relation } from 'typeorm';
import { EnumColumn, EpochMsColumn, IdColumn, RefColumn, TextColumn } from '../columns';
import { Account } from './account.entity';

export type ConversationKind = 'direct' | 'group';

/** A direct chat or a room on one account; `remoteId` is the network's room id. */
@Entity('conversations')
@Unique('UQ_conversations_account_remote', ['accountId', 'remoteId'])
@Index('IDX_conversations_owner_last_message', ['ownerId', 'lastMessageAt'])
export class Conversation {
  @IdColumn('PK_conversations')
  id!: string;

  @RefColumn()
  ownerId!: string;

  @RefColumn()
  accountId!: string;

  @ManyToOne(() => Account, { onDelete: 'CASCADE' })
  @JoinColumn({ name: 'accountId', foreignKeyConstraintName: 'FK_conversations_account' })
  account?: Relation<Account>;

  @TextColumn()
  remoteId!: string;

  @EnumColumn()
  kind!: ConversationKind;

  @TextColumn({ nullable: true })
  title!: string | null;

  @TextColumn({ nullable: true })
  topic!: string | null;

  /** For a direct chat: the other side's endpoint. */
  @RefColumn({ nullable: true })
  peerEndpointId!: string | null;

  @Column({ type: 'integer', default: 0 })
  unread!: number;

  @EpochMsColumn({ nullable: true })
  lastMessageAt!: number | null;

  @EpochMsColumn()
  createdAt!: number;
}

import { Column, Entity, Index, JoinColumn, ManyToOne, Unique, type Relation } from 'typeorm';
import { EnumColumn, EpochMsColumn, IdColumn, JsonColumn, RefColumn, TextColumn } from '../columns';
import { Conversation } from './conversation.entity';

export type MessageKind = 'text' | 'notice' | 'emote';
export type MessageStatus = 'queued' | 'sent' | 'delivered' | 'failed';

export interface StoredAttachment {
  name: string;
  mimeType: string;
  size?: number;
  url: string;
}

/** Where a bridged relay came from, so the bridge never echoes it back. */
export interface MessageOrigin {
  bridgeId: string;
  conversationId: string;
  messageId: string;
  [extra: string]: unknown;
}

/**
 * One message in a conversation, in or out. `transactionId` identifies it to the outbox and to
 * echo matching; `clientId` makes a client's send idempotent within the conversation (NULLs are
 * distinct under a unique constraint on both drivers, so messages without one never collide).
 */
@Entity('messages')
@Unique('UQ_messages_transaction', ['transactionId'])
@Unique('UQ_messages_conversation_client', ['conversationId', 'clientId'])
@Index('IDX_messages_conversation_sent', ['conversationId', 'sentAt'])
// Full-text index made by a migration (PostgreSQL GIN; SQLite uses an FTS5 table): not for schema sync.
@Index('IDX_messages_text_search', { synchronize: false })
export class Message {
  @IdColumn('PK_messages')
  id!: string;

  @RefColumn()
  ownerId!: string;

  @RefColumn()
  conversationId!: string;

  @ManyToOne(() => Conversation, { onDelete: 'CASCADE' })
  @JoinColumn({ name: 'conversationId', foreignKeyConstraintName: 'FK_messages_conversation' })
  conversation?: Relation<Conversation>;

  @RefColumn({ nullable: true })
  senderEndpointId!: string | null;

  @TextColumn()
  senderName!: string;

  @Column({ type: 'boolean', default: false })
  self!: boolean;

  @EnumColumn({ default: 'text' })
  kind!: MessageKind;

  @TextColumn()
  text!: string;

  @TextColumn({ nullable: true })
  html!: string | null;

  @RefColumn({ nullable: true })
  replyToId!: string | null;

  @EpochMsColumn({ nullable: true })
  editedAt!: number | null;

  @Column({ type: 'boolean', default: false })
  deleted!: boolean;

  @JsonColumn({ nullable: true })
  attachments!: StoredAttachment[] | null;

  @EpochMsColumn()
  sentAt!: number;

  @EnumColumn()
  status!: MessageStatus;

  @TextColumn({ nullable: true })
  failReason!: string | null;

  @Column({ type: 'varchar', length: 255, nullable: true })
  clientId!: string | null;

  @Column({ type: 'varchar', length: 255 })
  transactionId!: string;

  @JsonColumn({ nullable: true })
  origin!: MessageOrigin | null;
}

import { Entity, Index, JoinColumn, ManyToOne, Unique, type Relation } from 'typeorm';
import { EpochMsColumn, IdColumn, RefColumn, TextColumn } from '../columns';
import { Message } from './message.entity';

/** The cross-network message-id map: which network message (account, room, id) is which stored message. */
@Entity('message_remote_ids')
@Unique('UQ_message_remote_ids_remote', ['accountId', 'roomId', 'remoteId'])
@Index('IDX_message_remote_ids_message', ['messageId'])
export class MessageRemoteId {
  @IdColumn('PK_message_remote_ids')
  id!: string;

  @RefColumn()
  messageId!: string;

  @ManyToOne(() => Message, { onDelete: 'CASCADE' })
  @JoinColumn({ name: 'messageId', foreignKeyConstraintName: 'FK_message_remote_ids_message' })
  message?: Relation<Message>;

  @RefColumn()
  accountId!: string;

  @TextColumn()
  roomId!: string;

  @TextColumn()
  remoteId!: string;

  @EpochMsColumn()
  createdAt!: number;
}

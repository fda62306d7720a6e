import { Entity, Index, JoinColumn, ManyToOne, Unique, type Relation } from 'typeorm';
import { EpochMsColumn, IdColumn, RefColumn } from '../columns';
import { Message } from './message.entity';

/**
 * The persistent cross-network message map of bridges: the copy a bridge wrote of a message in another
 * conversation. Edits, deletions and replies of the source follow it to each copy, also after a restart.
 */
@Entity('relay_links')
@Unique('UQ_relay_links_copy', ['copyMessageId'])
@Index('IDX_relay_links_source', ['sourceMessageId'])
export class RelayLink {
  @IdColumn('PK_relay_links')
  id!: string;

  @RefColumn()
  ownerId!: string;

  /** The bridge that wrote the copy (kept when the bridge is removed: old copies still map). */
  @RefColumn()
  bridgeId!: string;

  @RefColumn()
  sourceMessageId!: string;

  @ManyToOne(() => Message, { onDelete: 'CASCADE' })
  @JoinColumn({ name: 'sourceMessageId', foreignKeyConstraintName: 'FK_relay_links_source' })
  source?: Relation<Message>;

  @RefColumn()
  copyMessageId!: string;

  @ManyToOne(() => Message, { onDelete: 'CASCADE' })
  @JoinColumn({ name: 'copyMessageId', foreignKeyConstraintName: 'FK_relay_links_copy' })
  copy?: Relation<Message>;

  @RefColumn()
  targetConversationId!: string;

  @EpochMsColumn()
  createdAt!: number;
}

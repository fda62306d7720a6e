import { Entity, Index, JoinColumn, ManyToOne, type Relation } from 'typeorm';
import { EpochMsColumn, IdColumn, JsonColumn, RefColumn } from '../columns';
import { Conversation } from './conversation.entity';

/**
 * A membership change a bridge will announce, held while its burst is coalesced (ADR 0013). Written when
 * the change is noted, deleted in the transaction that writes its notice, and read back at boot: a crash
 * while a burst is held loses no notice. Goes away with its conversation.
 */
@Entity('membership_holds')
@Index('IDX_membership_holds_conversation', ['conversationId', 'notedAt'])
export class MembershipHold {
  @IdColumn('PK_membership_holds')
  id!: string;

  @RefColumn()
  ownerId!: string;

  /** The source conversation, where the change happened. */
  @RefColumn()
  conversationId!: string;

  @ManyToOne(() => Conversation, { onDelete: 'CASCADE' })
  @JoinColumn({ name: 'conversationId', foreignKeyConstraintName: 'FK_membership_holds_conversation' })
  conversation?: Relation<Conversation>;

  /** The change (`MemberChange`: kind, name, newName, reason, quit). */
  @JsonColumn()
  change!: Record<string, unknown>;

  /** When it was noted; strictly increasing within a process, so it also orders a burst. */
  @EpochMsColumn()
  notedAt!: number;
}

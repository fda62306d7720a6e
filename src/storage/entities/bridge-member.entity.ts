import { Entity, Index, JoinColumn, ManyToOne, PrimaryColumn, type Relation } from 'typeorm';
import { Bridge } from './bridge.entity';
import { Conversation } from './conversation.entity';

/** A conversation taking part in a bridge; goes away with either. */
@Entity('bridge_members')
@Index('IDX_bridge_members_conversation', ['conversationId'])
export class BridgeMember {
  @PrimaryColumn({ type: 'varchar', length: 36, primaryKeyConstraintName: 'PK_bridge_members' })
  bridgeId!: string;

  @PrimaryColumn({ type: 'varchar', length: 36, primaryKeyConstraintName: 'PK_bridge_members' })
  conversationId!: string;

  @ManyToOne(() => Bridge, { onDelete: 'CASCADE' })
  @JoinColumn({ name: 'bridgeId', foreignKeyConstraintName: 'FK_bridge_members_bridge' })
  bridge?: Relation<Bridge>;

  @ManyToOne(() => Conversation, { onDelete: 'CASCADE' })
  @JoinColumn({ name: 'conversationId', foreignKeyConstraintName: 'FK_bridge_members_conversation' })
  conversation?: Relation<Conversation>;
}

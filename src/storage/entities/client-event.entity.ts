import { Column, Entity, Index, PrimaryGeneratedColumn } from 'typeorm';
import { EpochMsColumn, JsonColumn, RefColumn } from '../columns';

/** The per-user event log WebSocket clients replay with `?since=`; `seq` orders events written in the same millisecond. */
@Entity('client_events')
@Index('IDX_client_events_user_at', ['userId', 'at'])
export class ClientEvent {
  @PrimaryGeneratedColumn('increment', { type: 'integer', primaryKeyConstraintName: 'PK_client_events' })
  seq!: number;

  @RefColumn()
  userId!: string;

  @Column({ type: 'varchar', length: 64 })
  type!: string;

  /** The event's payload; JSON null is stored as SQL NULL. */
  @JsonColumn({ nullable: true })
  data!: unknown;

  /** Epoch milliseconds. */
  @EpochMsColumn()
  at!: number;
}

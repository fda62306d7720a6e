import { Entity, Index } from 'typeorm';
import { EnumColumn, EpochMsColumn, IdColumn, JsonColumn, RefColumn, TextColumn } from '../columns';

export type CallMedia = 'audio' | 'video';
export type CallState = 'negotiating' | 'ringing' | 'connected' | 'ended' | 'failed';

/** A call session; `route` is the negotiator's chosen route as the API shows it. */
@Entity('calls')
@Index('IDX_calls_owner', ['ownerId'])
export class Call {
  @IdColumn('PK_calls')
  id!: string;

  @RefColumn()
  ownerId!: string;

  @RefColumn({ nullable: true })
  endpointId!: string | null;

  @RefColumn({ nullable: true })
  personId!: string | null;

  @EnumColumn()
  media!: CallMedia;

  @JsonColumn({ nullable: true })
  route!: Record<string, unknown> | null;

  @EnumColumn()
  state!: CallState;

  @TextColumn({ nullable: true })
  endReason!: string | null;

  @EpochMsColumn()
  createdAt!: number;

  @EpochMsColumn()
  updatedAt!: number;
}

import { Entity, Index } from 'typeorm';
import { EnumColumn, EpochMsColumn, IdColumn, JsonColumn, RefColumn, TextColumn } from '../columns';

export type BridgeSource = 'api' | 'config';

/** Linked conversations across networks; members are in bridge_members. */
@Entity('bridges')
@Index('IDX_bridges_owner', ['ownerId'])
export class Bridge {
  @IdColumn('PK_bridges')
  id!: string;

  @RefColumn()
  ownerId!: string;

  @TextColumn({ nullable: true })
  name!: string | null;

  @JsonColumn()
  options!: Record<string, unknown>;

  /** Bridges declared in the config file are reconciled at boot; API ones are left alone. */
  @EnumColumn()
  source!: BridgeSource;

  @EpochMsColumn()
  createdAt!: number;
}

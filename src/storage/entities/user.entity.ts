import { Column, Entity, Unique } from 'typeorm';
import type { PresenceState } from '@switchboard/sdk';
import { EnumColumn, EpochMsColumn, IdColumn, TextColumn } from '../columns';

/** A person who logs into the gateway (not a contact on a network). */
@Entity('users')
@Unique('UQ_users_username', ['username'])
export class User {
  @IdColumn('PK_users')
  id!: string;

  @Column({ type: 'varchar', length: 255 })
  username!: string;

  /** A password hash string (algorithm and parameters included), never the password. */
  @TextColumn()
  passwordHash!: string;

  @Column({ type: 'boolean', default: false })
  isAdmin!: boolean;

  @EpochMsColumn()
  createdAt!: number;

  /**
   * The presence the user last set for themselves (PUT /api/v1/presence), applied to each of their
   * accounts as it connects; null until they set one (accounts come up as their networks default them).
   */
  @EnumColumn({ nullable: true })
  presenceState!: PresenceState | null;

  @TextColumn({ nullable: true })
  presenceStatus!: string | null;

  @EpochMsColumn({ nullable: true })
  presenceSince!: number | null;
}

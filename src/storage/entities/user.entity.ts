import { Column, Entity, Unique } from 'typeorm';
import { EpochMsColumn, IdColumn, TextColumn } from '../columns';

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
}

import { Column, Entity, Index, JoinColumn, ManyToOne, Unique, type Relation } from 'typeorm';
import type { PresenceState } from '@switchboard/sdk';
import { EnumColumn, EpochMsColumn, IdColumn, JsonColumn, RefColumn, TextColumn } from '../columns';
import { Account } from './account.entity';
import { Person } from './person.entity';

/** A contact on one network as seen from one account, optionally linked to a Person. */
@Entity('endpoints')
@Unique('UQ_endpoints_account_address', ['accountId', 'address'])
@Index('IDX_endpoints_owner', ['ownerId'])
@Index('IDX_endpoints_person', ['personId'])
export class Endpoint {
  @IdColumn('PK_endpoints')
  id!: string;

  @RefColumn()
  ownerId!: string;

  @RefColumn()
  accountId!: string;

  @ManyToOne(() => Account, { onDelete: 'CASCADE' })
  @JoinColumn({ name: 'accountId', foreignKeyConstraintName: 'FK_endpoints_account' })
  account?: Relation<Account>;

  /** Unlinked (null) when the person is deleted; the endpoint itself belongs to the account. */
  @RefColumn({ nullable: true })
  personId!: string | null;

  @ManyToOne(() => Person, { onDelete: 'SET NULL' })
  @JoinColumn({ name: 'personId', foreignKeyConstraintName: 'FK_endpoints_person' })
  person?: Relation<Person> | null;

  /** The network id ("irc", "xmpp", …), kept here so listings need no join. */
  @Column({ type: 'varchar', length: 64 })
  network!: string;

  /** The contact's address on the network (nick, JID, MXID, SIP URI). */
  @TextColumn()
  address!: string;

  @TextColumn({ nullable: true })
  displayName!: string | null;

  @EnumColumn({ default: 'unknown' })
  presenceState!: PresenceState;

  @TextColumn({ nullable: true })
  presenceStatus!: string | null;

  @EpochMsColumn({ nullable: true })
  presenceSince!: number | null;

  /** Discovered per-contact capabilities ({ voice: true, video: false, … }). */
  @JsonColumn()
  capabilities!: Record<string, unknown>;

  /** Hints for linking endpoints to people (verified emails, phone numbers, avatars' hashes…). */
  @JsonColumn()
  hints!: Record<string, unknown>;

  @EpochMsColumn({ nullable: true })
  lastActiveAt!: number | null;
}

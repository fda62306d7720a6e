import { Entity, Index, JoinColumn, ManyToOne, Unique, type Relation } from 'typeorm';
import { EpochMsColumn, IdColumn, RefColumn, TextColumn } from '../columns';
import { User } from './user.entity';

/** A bearer token; only its hash is stored, so a database dump does not log anyone in. */
@Entity('api_tokens')
@Unique('UQ_api_tokens_token_hash', ['tokenHash'])
@Index('IDX_api_tokens_user', ['userId'])
export class ApiToken {
  @IdColumn('PK_api_tokens')
  id!: string;

  @RefColumn()
  userId!: string;

  @ManyToOne(() => User, { onDelete: 'CASCADE' })
  @JoinColumn({ name: 'userId', foreignKeyConstraintName: 'FK_api_tokens_user' })
  user?: Relation<User>;

  @TextColumn()
  tokenHash!: string;

  @EpochMsColumn()
  createdAt!: number;

  @EpochMsColumn()
  expiresAt!: number;

  @EpochMsColumn({ nullable: true })
  lastUsedAt!: number | null;
}

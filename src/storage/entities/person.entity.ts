import { Entity, Index } from 'typeorm';
import { EpochMsColumn, IdColumn, RefColumn, TextColumn } from '../columns';

/** A metacontact: one human, reachable through one or more endpoints. */
@Entity('people')
@Index('IDX_people_owner', ['ownerId'])
export class Person {
  @IdColumn('PK_people')
  id!: string;

  @RefColumn()
  ownerId!: string;

  @TextColumn()
  displayName!: string;

  @EpochMsColumn()
  createdAt!: number;

  @EpochMsColumn()
  updatedAt!: number;
}

import { Entity, Index } from 'typeorm';
import { EnumColumn, EpochMsColumn, IdColumn, RefColumn } from '../columns';

export type PersonLinkDecisionKind = 'merged' | 'split';

/** A user's merge or split of two endpoints; automatic link suggestions never undo one. */
@Entity('person_link_decisions')
@Index('IDX_person_link_decisions_owner', ['ownerId'])
export class PersonLinkDecision {
  @IdColumn('PK_person_link_decisions')
  id!: string;

  @RefColumn()
  ownerId!: string;

  @RefColumn()
  endpointA!: string;

  @RefColumn()
  endpointB!: string;

  @EnumColumn()
  decision!: PersonLinkDecisionKind;

  @EpochMsColumn()
  createdAt!: number;
}

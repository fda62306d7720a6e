import { Table, TableForeignKey, TableIndex, type MigrationInterface, type QueryRunner } from 'typeorm';

/** Membership changes held for a bridge's coalesced notice (ADR 0013). Frozen; see the entity. */
export class MembershipHolds1796200000000 implements MigrationInterface {
  name = 'MembershipHolds1796200000000';

  async up(q: QueryRunner): Promise<void> {
    const ref = (name: string) => ({ name, type: 'varchar', length: '36', isNullable: false });
    await q.createTable(
      new Table({
        name: 'membership_holds',
        columns: [
          { ...ref('id'), isPrimary: true, primaryKeyConstraintName: 'PK_membership_holds' },
          ref('ownerId'),
          ref('conversationId'),
          { name: 'change', type: 'text', isNullable: false },
          { name: 'notedAt', type: 'bigint', isNullable: false },
        ],
        indices: [
          new TableIndex({
            name: 'IDX_membership_holds_conversation',
            columnNames: ['conversationId', 'notedAt'],
          }),
        ],
        foreignKeys: [
          new TableForeignKey({
            name: 'FK_membership_holds_conversation',
            columnNames: ['conversationId'],
            referencedTableName: 'conversations',
            referencedColumnNames: ['id'],
            onDelete: 'CASCADE',
          }),
        ],
      }),
    );
  }

  async down(q: QueryRunner): Promise<void> {
    await q.dropTable('membership_holds');
  }
}

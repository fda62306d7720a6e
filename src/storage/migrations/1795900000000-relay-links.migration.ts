import {
  Table,
  TableForeignKey,
  TableIndex,
  TableUnique,
  type MigrationInterface,
  type QueryRunner,
} from 'typeorm';

/** Bridges' message map (issue 7): which message is the relayed copy of which. Frozen; see the entity. */
export class RelayLinks1795900000000 implements MigrationInterface {
  name = 'RelayLinks1795900000000';

  async up(q: QueryRunner): Promise<void> {
    const ref = (name: string) => ({ name, type: 'varchar', length: '36', isNullable: false });
    await q.createTable(
      new Table({
        name: 'relay_links',
        columns: [
          { ...ref('id'), isPrimary: true, primaryKeyConstraintName: 'PK_relay_links' },
          ref('ownerId'),
          ref('bridgeId'),
          ref('sourceMessageId'),
          ref('copyMessageId'),
          ref('targetConversationId'),
          { name: 'createdAt', type: 'bigint', isNullable: false },
        ],
        uniques: [new TableUnique({ name: 'UQ_relay_links_copy', columnNames: ['copyMessageId'] })],
        indices: [new TableIndex({ name: 'IDX_relay_links_source', columnNames: ['sourceMessageId'] })],
        foreignKeys: [
          new TableForeignKey({
            name: 'FK_relay_links_source',
            columnNames: ['sourceMessageId'],
            referencedTableName: 'messages',
            referencedColumnNames: ['id'],
            onDelete: 'CASCADE',
          }),
          new TableForeignKey({
            name: 'FK_relay_links_copy',
            columnNames: ['copyMessageId'],
            referencedTableName: 'messages',
            referencedColumnNames: ['id'],
            onDelete: 'CASCADE',
          }),
        ],
      }),
    );
  }

  async down(q: QueryRunner): Promise<void> {
    await q.dropTable('relay_links');
  }
}

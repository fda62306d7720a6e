import { Table, TableForeignKey, TableUnique, type MigrationInterface, type QueryRunner } from 'typeorm';

/** Files bridges fetched and serve by link (issue 7, ADR 0014). Frozen; see the entity. */
export class MediaFiles1796000000000 implements MigrationInterface {
  name = 'MediaFiles1796000000000';

  async up(q: QueryRunner): Promise<void> {
    const ref = (name: string) => ({ name, type: 'varchar', length: '36', isNullable: false });
    await q.createTable(
      new Table({
        name: 'media_files',
        columns: [
          {
            name: 'id',
            type: 'varchar',
            length: '64',
            isNullable: false,
            isPrimary: true,
            primaryKeyConstraintName: 'PK_media_files',
          },
          ref('ownerId'),
          ref('sourceMessageId'),
          { name: 'sourceIndex', type: 'integer', isNullable: false },
          { name: 'name', type: 'text', isNullable: false },
          { name: 'mimeType', type: 'varchar', length: '255', isNullable: false },
          { name: 'size', type: 'integer', isNullable: false },
          { name: 'dataBase64', type: 'text', isNullable: false },
          { name: 'createdAt', type: 'bigint', isNullable: false },
        ],
        uniques: [
          new TableUnique({ name: 'UQ_media_files_source', columnNames: ['sourceMessageId', 'sourceIndex'] }),
        ],
        foreignKeys: [
          new TableForeignKey({
            name: 'FK_media_files_source',
            columnNames: ['sourceMessageId'],
            referencedTableName: 'messages',
            referencedColumnNames: ['id'],
            onDelete: 'CASCADE',
          }),
        ],
      }),
    );
  }

  async down(q: QueryRunner): Promise<void> {
    await q.dropTable('media_files');
  }
}

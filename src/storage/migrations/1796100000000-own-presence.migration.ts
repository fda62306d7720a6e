import { TableColumn, type MigrationInterface, type QueryRunner } from 'typeorm';

/** The presence a user set for themselves, kept to apply to each account as it connects. Frozen; see the entity. */
export class OwnPresence1796100000000 implements MigrationInterface {
  name = 'OwnPresence1796100000000';

  async up(q: QueryRunner): Promise<void> {
    await q.addColumns('users', [
      new TableColumn({ name: 'presenceState', type: 'varchar', length: '32', isNullable: true }),
      new TableColumn({ name: 'presenceStatus', type: 'text', isNullable: true }),
      new TableColumn({ name: 'presenceSince', type: 'bigint', isNullable: true }),
    ]);
  }

  async down(q: QueryRunner): Promise<void> {
    for (const c of ['presenceSince', 'presenceStatus', 'presenceState']) await q.dropColumn('users', c);
  }
}

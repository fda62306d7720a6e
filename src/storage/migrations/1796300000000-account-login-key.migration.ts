import { TableColumn, TableIndex, type MigrationInterface, type QueryRunner } from 'typeorm';

/**
 * One account per network login and user: the login each account's options name, unique per owner and
 * adapter (ADR 0016). Existing rows start with NULL; the gateway fills them in at boot. Frozen; see the entity.
 */
export class AccountLoginKey1796300000000 implements MigrationInterface {
  name = 'AccountLoginKey1796300000000';

  async up(q: QueryRunner): Promise<void> {
    await q.addColumn('accounts', new TableColumn({ name: 'loginKey', type: 'text', isNullable: true }));
    await q.createIndex(
      'accounts',
      new TableIndex({
        name: 'UQ_accounts_owner_login',
        columnNames: ['ownerId', 'adapterId', 'loginKey'],
        isUnique: true,
      }),
    );
  }

  async down(q: QueryRunner): Promise<void> {
    await q.dropIndex('accounts', 'UQ_accounts_owner_login');
    await q.dropColumn('accounts', 'loginKey');
  }
}

import {
  Table,
  TableForeignKey,
  TableIndex,
  TableUnique,
  type MigrationInterface,
  type QueryRunner,
  type TableColumnOptions,
} from 'typeorm';

/*
 * The first schema, written with TypeORM's Table API so the same code builds it on SQLite and
 * PostgreSQL (the driver turns 'bigint', 'boolean', 'text' … into its own types). A migration is a
 * frozen snapshot: it spells out every name and type itself and imports nothing from the entities,
 * which will keep changing after it shipped.
 */

const id = (name = 'id'): TableColumnOptions => ({ name, type: 'varchar', length: '36', isPrimary: true });
const ref = (name: string, nullable = false): TableColumnOptions => ({
  name,
  type: 'varchar',
  length: '36',
  isNullable: nullable,
});
const text = (name: string, nullable = false): TableColumnOptions => ({
  name,
  type: 'text',
  isNullable: nullable,
});
const varchar = (name: string, length: number, nullable = false): TableColumnOptions => ({
  name,
  type: 'varchar',
  length: String(length),
  isNullable: nullable,
});
const enumLike = (name: string, def?: string, nullable = false): TableColumnOptions => ({
  name,
  type: 'varchar',
  length: '32',
  isNullable: nullable,
  ...(def === undefined ? {} : { default: `'${def}'` }),
});
/** Epoch milliseconds. */
const time = (name: string, nullable = false): TableColumnOptions => ({
  name,
  type: 'bigint',
  isNullable: nullable,
});
/** JSON as text (the entities use TypeORM's simple-json). */
const json = (name: string, nullable = false): TableColumnOptions => ({
  name,
  type: 'text',
  isNullable: nullable,
});

const fk = (
  name: string,
  column: string,
  referencedTableName: string,
  onDelete: 'CASCADE' | 'SET NULL' | 'NO ACTION',
): TableForeignKey =>
  new TableForeignKey({
    name,
    columnNames: [column],
    referencedTableName,
    referencedColumnNames: ['id'],
    onDelete,
  });
const unique = (name: string, ...columnNames: string[]): TableUnique =>
  new TableUnique({ name, columnNames });
const index = (name: string, ...columnNames: string[]): TableIndex => new TableIndex({ name, columnNames });
const pk = (name: string, columns: TableColumnOptions[]): TableColumnOptions[] =>
  columns.map((c) => (c.isPrimary ? { ...c, primaryKeyConstraintName: name } : c));

/**
 * Built afresh for each run (createTable() fills in names on the objects it is given). A column default
 * is raw SQL, and the one place the dialects differ here: SQLite stores booleans as 0/1.
 */
function tables(dialect: 'sqlite' | 'postgres'): Table[] {
  const bool = (name: string, def: boolean): TableColumnOptions => ({
    name,
    type: 'boolean',
    isNullable: false,
    default: dialect === 'postgres' ? String(def) : def ? '1' : '0',
  });
  return [
    new Table({
      name: 'users',
      columns: pk('PK_users', [
        id(),
        varchar('username', 255),
        text('passwordHash'),
        bool('isAdmin', false),
        time('createdAt'),
      ]),
      uniques: [unique('UQ_users_username', 'username')],
    }),
    new Table({
      name: 'api_tokens',
      columns: pk('PK_api_tokens', [
        id(),
        ref('userId'),
        text('tokenHash'),
        time('createdAt'),
        time('expiresAt'),
        time('lastUsedAt', true),
      ]),
      uniques: [unique('UQ_api_tokens_token_hash', 'tokenHash')],
      indices: [index('IDX_api_tokens_user', 'userId')],
      foreignKeys: [fk('FK_api_tokens_user', 'userId', 'users', 'CASCADE')],
    }),
    new Table({
      name: 'accounts',
      columns: pk('PK_accounts', [
        id(),
        ref('ownerId'),
        varchar('adapterId', 64),
        text('label', true),
        json('options'),
        text('secrets', true),
        bool('enabled', true),
        enumLike('state', 'connecting'),
        text('stateMessage', true),
        time('createdAt'),
        time('updatedAt'),
      ]),
      indices: [index('IDX_accounts_owner', 'ownerId')],
      foreignKeys: [fk('FK_accounts_owner', 'ownerId', 'users', 'NO ACTION')],
    }),
    new Table({
      name: 'account_state',
      columns: pk('PK_account_state', [
        id('accountId'),
        { ...varchar('key', 255), isPrimary: true },
        json('value'),
      ]),
      foreignKeys: [fk('FK_account_state_account', 'accountId', 'accounts', 'CASCADE')],
    }),
    new Table({
      name: 'people',
      columns: pk('PK_people', [
        id(),
        ref('ownerId'),
        text('displayName'),
        time('createdAt'),
        time('updatedAt'),
      ]),
      indices: [index('IDX_people_owner', 'ownerId')],
    }),
    new Table({
      name: 'endpoints',
      columns: pk('PK_endpoints', [
        id(),
        ref('ownerId'),
        ref('accountId'),
        ref('personId', true),
        varchar('network', 64),
        text('address'),
        text('displayName', true),
        enumLike('presenceState', 'unknown'),
        text('presenceStatus', true),
        time('presenceSince', true),
        json('capabilities'),
        json('hints'),
        time('lastActiveAt', true),
      ]),
      uniques: [unique('UQ_endpoints_account_address', 'accountId', 'address')],
      indices: [index('IDX_endpoints_owner', 'ownerId'), index('IDX_endpoints_person', 'personId')],
      foreignKeys: [
        fk('FK_endpoints_account', 'accountId', 'accounts', 'CASCADE'),
        fk('FK_endpoints_person', 'personId', 'people', 'SET NULL'),
      ],
    }),
    new Table({
      name: 'person_link_decisions',
      columns: pk('PK_person_link_decisions', [
        id(),
        ref('ownerId'),
        ref('endpointA'),
        ref('endpointB'),
        enumLike('decision'),
        time('createdAt'),
      ]),
      indices: [index('IDX_person_link_decisions_owner', 'ownerId')],
    }),
    new Table({
      name: 'conversations',
      columns: pk('PK_conversations', [
        id(),
        ref('ownerId'),
        ref('accountId'),
        text('remoteId'),
        enumLike('kind'),
        text('title', true),
        text('topic', true),
        ref('peerEndpointId', true),
        { name: 'unread', type: 'integer', isNullable: false, default: 0 },
        time('lastMessageAt', true),
        time('createdAt'),
      ]),
      uniques: [unique('UQ_conversations_account_remote', 'accountId', 'remoteId')],
      indices: [index('IDX_conversations_owner_last_message', 'ownerId', 'lastMessageAt')],
      foreignKeys: [fk('FK_conversations_account', 'accountId', 'accounts', 'CASCADE')],
    }),
    new Table({
      name: 'messages',
      columns: pk('PK_messages', [
        id(),
        ref('ownerId'),
        ref('conversationId'),
        ref('senderEndpointId', true),
        text('senderName'),
        bool('self', false),
        enumLike('kind', 'text'),
        text('text'),
        text('html', true),
        ref('replyToId', true),
        time('editedAt', true),
        bool('deleted', false),
        json('attachments', true),
        time('sentAt'),
        enumLike('status'),
        text('failReason', true),
        varchar('clientId', 255, true),
        varchar('transactionId', 255),
        json('origin', true),
      ]),
      uniques: [
        unique('UQ_messages_transaction', 'transactionId'),
        unique('UQ_messages_conversation_client', 'conversationId', 'clientId'),
      ],
      indices: [index('IDX_messages_conversation_sent', 'conversationId', 'sentAt')],
      foreignKeys: [fk('FK_messages_conversation', 'conversationId', 'conversations', 'CASCADE')],
    }),
    new Table({
      name: 'message_remote_ids',
      columns: pk('PK_message_remote_ids', [
        id(),
        ref('messageId'),
        ref('accountId'),
        text('roomId'),
        text('remoteId'),
        time('createdAt'),
      ]),
      uniques: [unique('UQ_message_remote_ids_remote', 'accountId', 'roomId', 'remoteId')],
      indices: [index('IDX_message_remote_ids_message', 'messageId')],
      foreignKeys: [fk('FK_message_remote_ids_message', 'messageId', 'messages', 'CASCADE')],
    }),
    new Table({
      name: 'bridges',
      columns: pk('PK_bridges', [
        id(),
        ref('ownerId'),
        text('name', true),
        json('options'),
        enumLike('source'),
        time('createdAt'),
      ]),
      indices: [index('IDX_bridges_owner', 'ownerId')],
    }),
    new Table({
      name: 'bridge_members',
      columns: pk('PK_bridge_members', [id('bridgeId'), id('conversationId')]),
      indices: [index('IDX_bridge_members_conversation', 'conversationId')],
      foreignKeys: [
        fk('FK_bridge_members_bridge', 'bridgeId', 'bridges', 'CASCADE'),
        fk('FK_bridge_members_conversation', 'conversationId', 'conversations', 'CASCADE'),
      ],
    }),
    new Table({
      name: 'calls',
      columns: pk('PK_calls', [
        id(),
        ref('ownerId'),
        ref('endpointId', true),
        ref('personId', true),
        enumLike('media'),
        json('route', true),
        enumLike('state'),
        text('endReason', true),
        time('createdAt'),
        time('updatedAt'),
      ]),
      indices: [index('IDX_calls_owner', 'ownerId')],
    }),
    new Table({
      name: 'client_events',
      columns: pk('PK_client_events', [
        { name: 'seq', type: 'integer', isPrimary: true, isGenerated: true, generationStrategy: 'increment' },
        ref('userId'),
        varchar('type', 64),
        json('data', true),
        time('at'),
      ]),
      indices: [index('IDX_client_events_user_at', 'userId', 'at')],
    }),
  ];
}

export class InitialSchema1795704019196 implements MigrationInterface {
  name = 'InitialSchema1795704019196';

  async up(queryRunner: QueryRunner): Promise<void> {
    for (const table of tables(dialectOf(queryRunner)))
      await queryRunner.createTable(table, false, true, true);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    for (const table of tables(dialectOf(queryRunner)).reverse())
      await queryRunner.dropTable(table.name, false, true, true);
  }
}

function dialectOf(queryRunner: QueryRunner): 'sqlite' | 'postgres' {
  const type = queryRunner.connection.driver.options.type;
  if (type === 'postgres') return 'postgres';
  if (type === 'better-sqlite3' || type === 'sqlite') return 'sqlite';
  throw new Error(`InitialSchema supports SQLite and PostgreSQL, not ${type}`);
}

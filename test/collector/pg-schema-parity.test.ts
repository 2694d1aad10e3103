// The two backends keep one schema: a fresh SQLite database migrated by the SQLite store's
// migrations and a fresh PostgreSQL database migrated by the PostgreSQL ones have the same
// tables, columns (type class, nullability, default, assigned key), primary keys, unique
// constraints, indexes and foreign keys (test/helpers/schema-shape.ts says how each is
// normalised), and the same seeded rows. A change to either schema without the other fails
// here with the differences listed. A real PostgreSQL (Debian's postgresql) on loopback.
import { MIGRATIONS } from '../../collector/store/migrations/index.js';
import { openDatabase } from '../../collector/store/db.js';
import { migratePostgres, MIGRATIONS_TABLE } from '../../collector/store/pg/migrate.js';
import { PG_MIGRATIONS, SQLITE_EQUIVALENT } from '../../collector/store/pg/migrations/index.js';
import { connectTo, needsPostgres, postgresForFile } from '../helpers/postgres.js';
import { diffShapes, postgresShape, sqliteShape, type SchemaShape } from '../helpers/schema-shape.js';

const pgTest = needsPostgres();
const server = postgresForFile();

/** A new PostgreSQL database, migrated, and its shape; `change` runs on it first when given. */
async function migratedPostgres(change?: string): Promise<{ shape: SchemaShape; seeds: { meta: string[]; secrets: string[] } }> {
  const pg = await server();
  const c = await connectTo(pg.url(await pg.createDatabase()));
  try {
    await migratePostgres(c);
    if (change !== undefined) await c.query(change);
    const meta = (await c.query<{ name: string }>('SELECT name FROM baseline_meta ORDER BY name')).rows.map((r) => r.name);
    const secrets = (await c.query<{ name: string }>('SELECT name FROM store_secrets WHERE length(value) >= 32 ORDER BY name')).rows.map((r) => r.name);
    return { shape: await postgresShape(c, [MIGRATIONS_TABLE]), seeds: { meta, secrets } };
  } finally {
    await c.end();
  }
}

function migratedSqlite(): { shape: SchemaShape; seeds: { meta: string[]; secrets: string[] } } {
  const db = openDatabase(':memory:');
  try {
    const meta = db.prepare<[], { name: string }>('SELECT name FROM baseline_meta ORDER BY name').all().map((r) => r.name);
    const secrets = db.prepare<[], { name: string }>('SELECT name FROM store_secrets WHERE length(value) >= 32 ORDER BY name').all().map((r) => r.name);
    return { shape: sqliteShape(db), seeds: { meta, secrets } };
  } finally {
    db.close();
  }
}

pgTest('the PostgreSQL schema has the shape of the SQLite schema: tables, columns, keys, unique constraints, indexes, foreign keys', async (t) => {
  const sqlite = migratedSqlite().shape;
  const postgres = (await migratedPostgres()).shape;
  // The reading itself: every table of the SQLite schema, with what the comparison looks at.
  t.true(Object.keys(sqlite).length >= 26, `${Object.keys(sqlite).length} SQLite tables`);
  t.deepEqual(sqlite['findings']?.unique, ['id']);
  t.true(sqlite['findings']?.columns['seq']?.auto, 'the rowid alias is the assigned key');
  t.true(sqlite['findings']?.indexes.includes('(state, severity_rank, node, seq)'), 'SQLite\'s implicit rowid column is in its indexes');
  t.true(sqlite['webhook_outbox']?.indexes.includes("(destination, seq) where status = 'pending' and delivery_id is not null"), 'a partial index keeps its predicate');
  t.true(sqlite['baseline_item_nodes']?.foreignKeys.includes('(baseline, path) -> baseline_items (baseline, path) on delete CASCADE'));
  const diff = diffShapes(sqlite, postgres);
  t.deepEqual(diff, [], `the schemas differ (SQLite: collector/store/migrations/, PostgreSQL: collector/store/pg/migrations/):\n${diff.join('\n')}`);
  const pg = await server();
  t.log(`PostgreSQL ${pg.version}: ${Object.keys(postgres).length} tables, ${Object.values(postgres).reduce((n, x) => n + x.indexes.length, 0)} indexes alike`);
});

pgTest('both schemas are seeded alike: the baseline counters and the key that seals cursors', async (t) => {
  const sqlite = migratedSqlite().seeds;
  const postgres = (await migratedPostgres()).seeds;
  t.true(sqlite.meta.includes('version') && sqlite.meta.length >= 7);
  t.deepEqual(postgres, sqlite);
});

pgTest('the PostgreSQL migrations stand for the latest SQLite migration: a new SQLite migration needs its PostgreSQL one', (t) => {
  const sqliteLatest = MIGRATIONS.at(-1)!.version;
  const pgLatest = PG_MIGRATIONS.at(-1)!.version;
  t.is(SQLITE_EQUIVALENT[pgLatest], sqliteLatest,
    `SQLite is at migration ${sqliteLatest}, and PostgreSQL migration ${pgLatest} stands for SQLite's ${SQLITE_EQUIVALENT[pgLatest]}: add collector/store/pg/migrations/${String(pgLatest + 1).padStart(3, '0')}-*.ts with the same change and map it in SQLITE_EQUIVALENT`);
});

pgTest('the comparison reports a drift on either side: a column, a type, a nullability, a default, an index and a foreign key', async (t) => {
  const sqlite = migratedSqlite().shape;
  const drifted = (await migratedPostgres(`
    ALTER TABLE findings ADD COLUMN cluster text;
    ALTER TABLE sessions ALTER COLUMN created_at TYPE text;
    ALTER TABLE nodes ALTER COLUMN os DROP NOT NULL;
    ALTER TABLE nodes ALTER COLUMN kernel DROP DEFAULT;
    DROP INDEX findings_by_node;
    CREATE INDEX findings_by_node ON findings (state, severity_rank, node);
    ALTER TABLE baseline_listens DROP CONSTRAINT baseline_listens_baseline_fkey;
    DROP TABLE node_exposure;
  `)).shape;
  const diff = diffShapes(sqlite, drifted);
  t.deepEqual(diff.sort(), [
    'column findings.cluster: only in postgres',
    'column nodes.kernel: sqlite text not null default, postgres text not null',
    'column nodes.os: sqlite text not null default, postgres text default',
    'column sessions.created_at: sqlite integer not null, postgres text not null',
    'foreign key of baseline_listens (baseline) -> baselines (seq) on delete CASCADE: only in sqlite',
    'index on findings (state, severity_rank, node): only in postgres',
    'index on findings (state, severity_rank, node, seq): only in sqlite',
    'table node_exposure: only in sqlite',
  ]);
});

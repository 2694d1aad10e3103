// The PostgreSQL schema's numbered migrations, in a table of their own (schema_migrations,
// migrate.ts). Append only, as the SQLite list is: a released migration is never edited, and a
// database newer than the code is refused.
//
// They are not the SQLite migrations translated one by one: PostgreSQL databases start at
// 001, which is the SQLite schema as of its migration 020 (the repairs and re-keyings SQLite
// ran on old data, 006, 008 and 013, have nothing to repair here). From here on, a change to
// the schema is a migration on each side, and test/collector/pg-schema-parity.test.ts fails
// until both say the same.
import { m001Initial } from './001-initial.js';
import { m002ListensAndExposureCuts } from './002-listens-and-exposure-cuts.js';
import { m003NodeBenchmark } from './003-node-benchmark.js';
import { m004ByteOrderKeys } from './004-byte-order-keys.js';
import { m005WebhookDrains } from './005-webhook-drains.js';
import { m006ClusterIdentity } from './006-cluster-identity.js';
import { m007RollupStripes } from './007-rollup-stripes.js';
import type { PgMigration } from '../migration.js';

export type { PgMigration } from '../migration.js';

/** The SQLite migration whose schema each PostgreSQL migration brings the database to. */
export const SQLITE_EQUIVALENT: Readonly<Record<number, number>> = { 1: 20, 2: 22, 3: 23, 4: 23, 5: 24, 6: 25, 7: 26 };

export const PG_MIGRATIONS: readonly PgMigration[] = [m001Initial, m002ListensAndExposureCuts, m003NodeBenchmark, m004ByteOrderKeys, m005WebhookDrains, m006ClusterIdentity, m007RollupStripes];

// The tests' side of the throwaway PostgreSQL server (postgres-server.ts starts it):
// `needsPostgres` declares a test that needs one (failing in CI when the server is missing).
//
// One server per test file (test.before / test.after.always); each test takes a fresh
// database of its own from `createDatabase`, so tests in a file run concurrently.
import test from 'ava';
import { join } from 'node:path';
import { asRoot, connectTo, PG_ROOT, postgresAccount, postgresBin, startPostgres, type PostgresOptions, type TestPostgres } from './postgres-server.js';
import { executable, needs, type Declare } from './requirements.js';

export { connectTo, PG_USER, postgresBin, startPostgres, type PostgresOptions, type TestPostgres } from './postgres-server.js';

/** Tests that need a PostgreSQL server: failing in CI when it is missing, skipped elsewhere. */
export function needsPostgres(): Declare {
  return needs({
    what: 'PostgreSQL server (initdb, postgres)',
    packages: ['postgresql'],
    check: () => {
      const bin = postgresBin();
      if (bin === undefined) return `nothing under ${PG_ROOT}`;
      for (const tool of ['initdb', 'postgres']) {
        const ok = executable(join(bin, tool));
        if (ok !== true) return ok;
      }
      if (asRoot()) {
        const account = postgresAccount();
        if (typeof account === 'string') return account;
      }
      return true;
    },
  });
}

/**
 * One server for a test file: started by the first test that asks for it (so a file whose
 * tests are skipped starts none) and stopped after the file's tests. Its options may be made
 * then too (certificates are made asynchronously).
 */
export function postgresForFile(opts: PostgresOptions | (() => Promise<PostgresOptions>) = {}): () => Promise<TestPostgres> {
  let server: Promise<TestPostgres> | undefined;
  test.after.always(async () => {
    const s = await server?.catch(() => undefined);
    await s?.stop();
  });
  return () => (server ??= (typeof opts === 'function' ? opts() : Promise.resolve(opts)).then(startPostgres));
}

let clusterRoles = 0;

/** A cluster's own role and schema on a test database (docs/fleets.md): what an operator creates per cluster. */
export interface ClusterRole {
  /** The role's name, which is also its schema's. */
  readonly role: string;
  readonly schema: string;
  /** Connects as the role (trust on loopback: no password). */
  readonly url: string;
}

/**
 * Creates a LOGIN role and a schema of the same name owned by it in `database`, as the
 * superuser: what docs/fleets.md has an operator run for each cluster. Roles belong to the
 * server, so the name carries the process id and a count.
 */
export async function createClusterRole(s: TestPostgres, database: string, prefix = 'cl'): Promise<ClusterRole> {
  const role = `${prefix}${process.pid}_${++clusterRoles}`;
  const admin = await connectTo(s.url(database));
  try {
    // Names made here of letters, digits and _: identifiers cannot be bound.
    await admin.query(`CREATE ROLE ${role} LOGIN`);
    await admin.query(`CREATE SCHEMA ${role} AUTHORIZATION ${role}`);
  } finally {
    await admin.end();
  }
  return { role, schema: role, url: `postgres://${role}@127.0.0.1:${s.port}/${database}` };
}

/** Runs `sql` on `database` as the superuser (grants and revokes between cluster roles). */
export async function asSuperuser(s: TestPostgres, database: string, sql: string): Promise<void> {
  const admin = await connectTo(s.url(database));
  try {
    await admin.query(sql);
  } finally {
    await admin.end();
  }
}

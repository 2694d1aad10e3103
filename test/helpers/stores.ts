// The store suites on both backends: a test declared with `storeTest` runs once on SQLite
// and once on PostgreSQL, with the same body, given a `Backend` that opens a fresh store of
// its kind. What a test asserts through the Store boundary must hold on both; a test that
// reads a backend's own tables (planner statistics, file contents) stays SQLite's alone.
//
// The PostgreSQL leg needs the server (test/helpers/postgres.ts): it fails in CI when the
// server is missing and is skipped elsewhere, saying what to install. One server per test
// file, a new database per store.
import test, { type ExecutionContext } from 'ava';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { OutboxQueue } from '../../collector/store/boundary/outbox.js';
import { openPgStore } from '../../collector/store/pg/store.js';
import { openStore } from '../../collector/store/sqlite.js';
import type { Store } from '../../collector/store/store.js';
import { pgDatabase, pgPool } from './pg-backends.js';
import { needsPostgres, postgresForFile } from './postgres.js';

export interface StoreOptions {
  readonly historyLimit?: number;
  readonly webhooks?: readonly OutboxQueue[];
}

export interface Backend {
  readonly name: 'sqlite' | 'postgres';
  /** A new, empty store, closed when the test ends. */
  open(t: ExecutionContext, opts?: StoreOptions): Promise<Store>;
  /**
   * A new, empty database, on which each `open` makes another store (a collector restarted
   * after the last one closed, or a replica beside it); each closed when the test ends.
   */
  database(t: ExecutionContext): Promise<{ open(opts?: StoreOptions): Promise<Store> }>;
}

const server = postgresForFile();
const pgTest = needsPostgres();

export const SQLITE: Backend = {
  name: 'sqlite',
  async open(t, opts = {}) {
    const dir = await mkdtemp(join(tmpdir(), 'nodeward-store-'));
    const store = openStore({ path: join(dir, 'nodeward.db'), ...opts });
    t.teardown(async () => {
      await store.close();
      await rm(dir, { recursive: true, force: true });
    });
    return store;
  },
  async database(t) {
    const dir = await mkdtemp(join(tmpdir(), 'nodeward-store-'));
    t.teardown(() => rm(dir, { recursive: true, force: true }));
    return {
      async open(opts = {}) {
        const store = openStore({ path: join(dir, 'nodeward.db'), ...opts });
        t.teardown(() => store.close());
        return store;
      },
    };
  },
};

export const POSTGRES: Backend = {
  name: 'postgres',
  async open(t, opts = {}) {
    // The pool is the store's: closing the store ends it (pgDatabase's teardown then finds it ended).
    const { pool } = await pgDatabase(t, server, 4);
    const store = await openPgStore({ pool, ...opts });
    t.teardown(() => store.close());
    return store;
  },
  async database(t) {
    const { url } = await pgDatabase(t, server, 1);
    return {
      async open(opts = {}) {
        const { pool } = await pgPool(t, url, 4, false);
        const store = await openPgStore({ pool, ...opts });
        t.teardown(() => store.close());
        return store;
      },
    };
  },
};

/** Declares `title` once per backend ("sqlite: ...", "postgres: ..."). */
export function storeTest(title: string, body: (t: ExecutionContext, backend: Backend) => Promise<void>): void {
  test(`sqlite: ${title}`, (t) => body(t, SQLITE));
  pgTest(`postgres: ${title}`, (t) => body(t, POSTGRES));
}

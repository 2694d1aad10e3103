// PLACEHOLDER, replaced at merge by the PostgreSQL outbox's own file (issue 23, written on
// another branch, whose factory's shape wins; pg/store.ts adapts). What the store needs of
// it: the OutboxStore for calls outside units, and per unit an OutboxUnit over the unit's Sql
// that is told, after the unit, whether it committed (announce its rows) or rolled back
// (forget them). Every database method rejects with NOT_IMPLEMENTED meanwhile.
import type { OutboxQueue, OutboxStore, OutboxUnit } from '../boundary/outbox.js';
import { StoreError } from '../boundary/errors.js';
import type { Sql, Transact } from './sql.js';

/** The outbox of one unit: its writes, and what becomes of them when the unit ends. */
export interface PgOutboxUnit extends OutboxUnit {
  committed(): void;
  rolledBack(): void;
}

export interface PgOutbox {
  readonly store: OutboxStore;
  forUnit(sql: Sql): PgOutboxUnit;
}

const rejects = (name: string) => () => Promise.reject(new StoreError('NOT_IMPLEMENTED', `PostgreSQL outbox.${name} is not written yet`));

export function createPgOutbox(_sql: Sql, _transact: Transact, queues: readonly OutboxQueue[]): PgOutbox {
  const store = new Proxy({}, {
    get: (_target, name) => (name === 'destinations' ? () => queues : name === 'subscribe' ? () => () => undefined : rejects(String(name))),
  }) as OutboxStore;
  return {
    store,
    forUnit: () => ({
      enqueue: rejects('enqueue'), fire: rejects('fire'), unfire: rejects('unfire'),
      committed: () => undefined,
      rolledBack: () => undefined,
    }),
  };
}

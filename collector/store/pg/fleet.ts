// The fleet on PostgreSQL (collector/fleet.ts, docs/fleets.md): this collector's own cluster,
// and every other cluster on the same database whose schema this collector's role was granted
// to read. Each cluster keeps its tables in a schema of its own, owned by a role of its own;
// an operator lets one collector read others with GRANT USAGE on their schema and SELECT on
// their tables.
//
// The clusters readable are found from information_schema.tables, which lists only the
// tables the role holds some privilege on: every schema other than ours with a
// cluster_identity table. Each one's identity row is read, and a store is opened over a small
// pool (at most 2 connections) whose sessions are in that schema (pool.ts sets search_path).
// Opening a store writes nothing (pg/store.ts reads the schema and the cursor key), and every
// write through a member's store is refused by the server, which checks the role's
// privileges on every statement.
//
// The list is read again at most every `refreshMs` on the injected clock, when members() is
// asked: members that appeared are opened, those gone (the grant revoked, the schema dropped)
// have their pools closed. One cluster that cannot be read (its schema name not one this
// collector accepts, no identity row, the grant on some table missing, a uid already seen) is
// left out, counted (nodeward_fleet_members_left_out_total) and logged once per change, and
// never keeps the others out. A listing that fails keeps the members of the last one.
import type pg from 'pg';
import type { Logger } from '../../../proto/support/logger.js';
import type { Clock } from '../../clock.js';
import type { Metrics } from '../../metrics.js';
import type { ClusterIdentity } from '../boundary/cluster.js';
import type { Fleet, FleetMember } from '../boundary/fleet.js';
import type { Store } from '../store.js';
import { scrubPassword } from './open.js';
import { createPool } from './pool.js';
import { checkSchemaName, quoteIdent } from './schema.js';
import type { PostgresSettings } from './settings.js';
import { openPgStore } from './store.js';

/** Connections each other cluster's store may hold: the API reads through it now and then. */
export const MEMBER_POOL_SIZE = 2;

/** How often main.ts has the list read again: a grant or a revoke is seen within this. */
export const FLEET_REFRESH_MS = 30_000;

export type LeftOutReason = 'schema_name' | 'no_identity' | 'duplicate' | 'unreadable';

export interface PgFleetOptions {
  readonly own: ClusterIdentity;
  /** This collector's store (never closed by the fleet). */
  readonly ownStore: Store;
  /** The schema of the own cluster (store.postgres.schema, default public): never listed as another. */
  readonly ownSchema: string;
  /** A pool of this collector's role (the own store's): the listing and identity reads run on it. */
  readonly pool: pg.Pool;
  /** How to connect; each member's pool is these with its schema and MEMBER_POOL_SIZE connections. */
  readonly settings: PostgresSettings;
  readonly clock: Clock;
  /** The list is read again at most this often (ms). */
  readonly refreshMs: number;
  readonly metrics: Metrics;
  readonly log: Logger;
  /** History entries per finding the member stores return (as the own store's). */
  readonly historyLimit?: number;
}

const LIST = `SELECT table_schema AS schema FROM information_schema.tables
  WHERE table_name = 'cluster_identity' AND table_schema <> $1 ORDER BY table_schema COLLATE "C"`;
const identityOf = (schema: string): string => `SELECT uid, name FROM ${quoteIdent(schema)}.cluster_identity WHERE singleton = 1`;

interface Open {
  readonly schema: string;
  identity: ClusterIdentity;
  readonly store: Store;
}

const byNameThenUid = (a: Open, b: Open): number =>
  a.identity.name < b.identity.name ? -1 : a.identity.name > b.identity.name ? 1
    : a.identity.uid < b.identity.uid ? -1 : a.identity.uid > b.identity.uid ? 1 : 0;

export function openPgFleet(o: PgFleetOptions): Fleet {
  const ownMember: FleetMember = { identity: o.own, own: true, store: o.ownStore };
  /** The other clusters, by schema. */
  const open = new Map<string, Open>();
  /** Why each schema left out is: logged when it changes, not at every refresh. */
  const leftOut = new Map<string, LeftOutReason>();
  let members: readonly FleetMember[] = [ownMember];
  let refreshedAt: number | undefined;
  let refreshing: Promise<void> | undefined;
  let closed = false;

  function leave(schema: string, reason: LeftOutReason, detail: string): void {
    o.metrics.inc('nodeward_fleet_members_left_out_total', 1, { reason });
    if (leftOut.get(schema) !== reason) o.log.warn({ schema, reason, detail }, 'fleet: a cluster readable by this collector is left out');
    leftOut.set(schema, reason);
  }

  async function openMember(schema: string): Promise<Store> {
    const pool = createPool({ ...o.settings, schema, poolSize: MEMBER_POOL_SIZE }, (err) =>
      o.log.warn({ schema, err: scrubPassword(err.message, o.settings.url()) }, 'fleet: an idle connection to another cluster ended'));
    try {
      return await openPgStore({ pool, schema, ...(o.historyLimit !== undefined ? { historyLimit: o.historyLimit } : {}) });
    } catch (err) {
      await pool.end().catch(() => undefined);
      throw err;
    }
  }

  async function closeMember(m: Open): Promise<void> {
    open.delete(m.schema);
    await m.store.close().catch((err: unknown) => o.log.warn({ schema: m.schema, err: (err as Error).message }, 'fleet: closing a cluster\'s pool failed'));
  }

  async function refresh(): Promise<void> {
    let schemas: string[];
    try {
      schemas = (await o.pool.query<{ schema: string }>(LIST, [o.ownSchema])).rows.map((r) => r.schema);
    } catch (err) {
      o.log.warn({ err: scrubPassword((err as Error).message, o.settings.url()) }, 'fleet: cannot list the readable clusters; keeping the last list');
      return;
    }
    const seenUids = new Set<string>(o.own.uid === '' ? [] : [o.own.uid]);
    const kept = new Set<string>();
    for (const schema of schemas) {
      if (closed) return;
      const badName = checkSchemaName(schema);
      if (badName !== undefined) {
        leave(schema, 'schema_name', badName);
        continue;
      }
      let identity: ClusterIdentity | undefined;
      try {
        const row = (await o.pool.query<{ uid: string; name: string }>(identityOf(schema))).rows[0];
        identity = row && { uid: row.uid, name: row.name };
      } catch (err) {
        leave(schema, 'unreadable', (err as Error).message);
        continue;
      }
      if (identity === undefined) {
        leave(schema, 'no_identity', 'its cluster_identity table has no row (no collector has adopted it yet)');
        continue;
      }
      if (identity.uid !== '' && seenUids.has(identity.uid)) {
        leave(schema, 'duplicate', `cluster uid ${identity.uid} is already in the fleet`);
        continue;
      }
      let member = open.get(schema);
      if (member === undefined) {
        try {
          member = { schema, identity, store: await openMember(schema) };
        } catch (err) {
          leave(schema, 'unreadable', (err as Error).message);
          continue;
        }
        if (closed) {
          await member.store.close().catch(() => undefined);
          return;
        }
        open.set(schema, member);
        o.log.info({ schema, cluster: identity.name, uid: identity.uid }, 'fleet: reading another cluster');
      }
      member.identity = identity;
      if (identity.uid !== '') seenUids.add(identity.uid);
      kept.add(schema);
      leftOut.delete(schema);
    }
    for (const m of [...open.values()]) {
      if (kept.has(m.schema)) continue;
      o.log.info({ schema: m.schema, cluster: m.identity.name }, 'fleet: another cluster is no longer readable; its pool is closed');
      await closeMember(m);
    }
    for (const schema of [...leftOut.keys()]) if (!schemas.includes(schema)) leftOut.delete(schema);
    members = [ownMember, ...[...open.values()].sort(byNameThenUid).map((m) => ({ identity: m.identity, own: false, store: m.store }))];
    o.metrics.set('nodeward_fleet_members', members.length);
  }

  return {
    async members(): Promise<readonly FleetMember[]> {
      if (closed) return [ownMember];
      const now = o.clock.now();
      if (refreshing === undefined && (refreshedAt === undefined || now - refreshedAt >= o.refreshMs)) {
        refreshedAt = now;
        refreshing = refresh()
          .catch((err: unknown) => o.log.error({ err: (err as Error).message }, 'fleet: refreshing the list failed; keeping the last one'))
          .finally(() => {
            refreshing = undefined;
          });
      }
      if (refreshing !== undefined) await refreshing;
      return members;
    },
    async close(): Promise<void> {
      closed = true;
      await refreshing?.catch(() => undefined);
      await Promise.all([...open.values()].map(closeMember));
      members = [ownMember];
    },
  };
}

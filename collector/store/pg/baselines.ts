// Central process baselines on PostgreSQL: the SQLite store (store/baselines.ts) ported, with
// the same merge and trust rules (its header is the specification) and the same results.
//
// What changes is that several collectors (replicas) may write at once, where SQLite's one
// writer made every transaction run alone. Each write takes its locks in one fixed order, so
// two replicas wait for each other but never deadlock:
//   1. the key lock (a transaction advisory lock), only when the write may create a baseline:
//      creations run one at a time, so BASELINE_LIMITS.keys, operatorKeys and a node's own
//      limit (ReportQuota) are counted and then used with nobody else adding rows in between;
//   2. the rows of the baselines it writes, FOR UPDATE, in key order (byte order, COLLATE "C");
//      an item, content, listen or removal is only written under its baseline's row lock;
//   3. the version counter's row (below);
//   4. the other counters' rows, always in the order the SQLite store bumps them.
// A write that found all its baselines, and then lost one to a concurrent delete before
// locking them, starts over taking the key lock first (it may not take it after step 2).
//
// The version counter is a row (baseline_meta 'version') updated in place, not a sequence.
// The update locks the row until the transaction ends, so a version is handed out only after
// the previous one has committed: versions are distinct and increase in commit order. With a
// sequence, version 8 could commit before 7; an agent catching up between the two would get
// 8, send 8 as the version it applied, and never be sent 7. The price is that baseline
// changes that take a version (operators' changes, locks, items joining a locked baseline)
// commit one at a time across replicas, as every write did on SQLite. Each version taken is
// announced to the other replicas (notify.ts) in the same transaction, so it is heard when
// the change commits, with the version it commits with.
//
// A report's merge into a baseline is planned by baseline-merge.ts (pure, the SQLite rules item
// by item) from what the baseline holds, read once, and written in one statement per kind of
// row, so its round trips do not grow with its items. Reads of several statements (get, list,
// sync, changedSince) run in one read-only snapshot (REPEATABLE READ), so they never show half
// of a concurrent change; the others are single statements. A page's or a catch-up's rows are
// read with one statement per table, not per row.
import { isValidBaselineKey, parseWorkloadKey } from '../../../proto/baseline-key.js';
import { ITEM_DIGEST_LIMITS } from '../../../proto/exec-identity.js';
import { StoreError } from '../boundary/errors.js';
import {
  BASELINE_LIMITS, MAX_LISTENS_PER_BASELINE, type AllowedContents, type BaselineAction, type BaselineCounters, type BaselineFilter,
  type BaselineListen, type BaselineStore, type CentralBaseline, type CentralState, type ChangeOutcome, type ContentToAllow, type ItemSource,
  type NodeBaselineCleanup, type ReportedBaseline, type ReportOutcome, type ReportQuota, type SyncEntry,
} from '../boundary/baselines.js';
import {
  groupBy, lockRow, toCentralBaseline, toSyncEntry, type BaselineParts, type RawBaseline, type RawDigest as BaseDigest, type RawItem as BaseItem,
  type RawListen as BaseListen, type RawRemoved as BaseRemoved,
} from '../baseline-rows.js';
import { decodeCursor, encodeCursor, type Page } from '../paging.js';
import { isoTime as iso } from '../time.js';
import { digestId, planMerge, type Counts, type Holdings, type MergePlan } from './baseline-merge.js';
import { notifyBaselineChange } from './notify.js';
import { PUBLIC_NAMES, type SchemaNames } from './schema.js';
import type { Sql, Transact } from './sql.js';

/** A row under a baseline, as read for several baselines at once: with its baseline's seq. */
type Under<T> = T & { baseline: number };
type RawListen = Under<BaseListen>;
type RawItem = Under<BaseItem>;
type RawDigest = Under<BaseDigest>;
type RawRemoved = Under<BaseRemoved>;

/**
 * The key lock's advisory key in the schema `public`: the ASCII of "nwbaseke" (nodeward
 * baseline keys) read as a big-endian 64-bit integer, as the migrator's lock is made of
 * "nodeward". Another schema's is derived from its name (schema.ts), so two clusters on one
 * database never wait on each other's creations.
 */
export const BASELINE_KEYS_LOCK = PUBLIC_NAMES.baselineKeysLock;

/** The counters the SQLite store bumps, in the order it bumps them (the lock order of step 4). */
const COUNTER_ORDER = ['items_dropped', 'items_refused', 'digests_dropped', 'digests_refused', 'keys_dropped', 'keys_over_node_limit', 'listens_dropped', 'listens_refused'] as const;
type Counter = (typeof COUNTER_ORDER)[number];

const Q = {
  byKey: 'SELECT * FROM baselines WHERE key = $1',
  /** Step 2: the rows of these keys, locked in byte order of their keys. */
  lockKeys: 'SELECT seq FROM baselines WHERE key = ANY($1::text[]) ORDER BY key COLLATE "C" FOR UPDATE',
  countKeys: 'SELECT count(*) AS n FROM baselines WHERE key = ANY($1::text[])',
  keysLock: 'SELECT pg_advisory_xact_lock($1::bigint)',
  count: 'SELECT count(*) AS n FROM baselines',
  insert: `INSERT INTO baselines (key, namespace, workload_kind, workload, container, state, created_at, updated_at, charged_to)
    VALUES ($1, $2, $3, $4, $5, 'learning', $6, $6, $7) RETURNING *`,
  charged: 'SELECT count(*) AS n FROM baselines WHERE charged_to = $1',
  deleteKey: 'DELETE FROM baselines WHERE key = $1',
  listenCount: 'SELECT count(*) AS n FROM baseline_listens WHERE baseline = $1',
  operatorListen: `INSERT INTO baseline_listens (baseline, listen, first_node, first_seen, last_seen, source) VALUES ($1, $2, $3, $4, $5, 'operator')
    ON CONFLICT (baseline, listen) DO UPDATE SET source = 'operator', first_node = excluded.first_node`,
  heldListen: 'SELECT 1 AS one FROM baseline_listens WHERE baseline = $1 AND listen = $2',
  listensOf: `SELECT l.baseline, l.listen, l.first_node, l.first_seen, l.last_seen, l.source
    FROM baseline_listens l JOIN baselines b ON b.seq = l.baseline WHERE b.key = $1 ORDER BY l.listen COLLATE "C"`,
  /** Step 2 for a node's cleanup: the candidates locked in key order; the delete then checks what holds on to them. */
  lockCharged: 'SELECT seq FROM baselines WHERE charged_to = $1 ORDER BY key COLLATE "C" FOR UPDATE',
  deleteCharged: `DELETE FROM baselines WHERE charged_to = $1 AND locked_by IS DISTINCT FROM 'operator'
    AND NOT EXISTS (SELECT 1 FROM baseline_item_nodes n WHERE n.baseline = baselines.seq AND n.node <> $1)
    AND NOT EXISTS (SELECT 1 FROM baseline_items i WHERE i.baseline = baselines.seq AND i.source = 'operator')
    AND NOT EXISTS (SELECT 1 FROM baseline_removed r WHERE r.baseline = baselines.seq)`,
  update: `UPDATE baselines SET state = $1, locked_by = $2, locked_detail = $3, locked_at = $4, version = $5, unlock_version = $6,
    items = $7, items_dropped = $8, updated_at = $9 WHERE seq = $10`,
  itemPaths: 'SELECT path FROM baseline_items WHERE baseline = $1 ORDER BY path COLLATE "C"',
  item: 'SELECT * FROM baseline_items WHERE baseline = $1 AND path = $2',
  insertItem: `INSERT INTO baseline_items (baseline, path, source, added_by, first_seen, last_seen, nodes) VALUES ($1, $2, $3, $4, $5, $6, $7)`,
  operatorItem: "UPDATE baseline_items SET source = 'operator', added_by = $1 WHERE baseline = $2 AND path = $3",
  deleteItem: 'DELETE FROM baseline_items WHERE baseline = $1 AND path = $2',
  // The writes of a report's merge (baseline-merge.ts's plan), each over all its rows at once.
  newItems: `INSERT INTO baseline_items (baseline, path, source, added_by, first_seen, last_seen, nodes)
    SELECT $1::bigint, x.path, x.source, $3::text, x.fs, $2::bigint, 1 FROM unnest($4::text[], $5::text[], $6::bigint[]) AS x(path, source, fs)`,
  taughtNew: `INSERT INTO baseline_item_nodes (baseline, path, node, first_seen, last_seen)
    SELECT $1::bigint, x.path, $3::text, $2::bigint, $2::bigint FROM unnest($4::text[]) AS x(path)`,
  seenItems: `UPDATE baseline_items i SET first_seen = least(i.first_seen, x.fs), last_seen = greatest(i.last_seen, $2), nodes = i.nodes + x.add
    FROM unnest($3::text[], $4::bigint[], $5::bigint[]) AS x(path, fs, add) WHERE i.baseline = $1 AND i.path = x.path`,
  taughtSeen: 'UPDATE baseline_item_nodes SET last_seen = $2 WHERE baseline = $1 AND node = $3 AND path = ANY($4::text[])',
  inline: 'UPDATE baseline_items SET inline_code = 1 WHERE baseline = $1 AND path = ANY($2::text[])',
  newDigests: `INSERT INTO baseline_item_digests (baseline, path, sha256, source, image, added_by, first_seen, last_seen, nodes)
    SELECT $1::bigint, x.path, x.sha, x.source, x.image, $3::text, x.fs, $2::bigint, 1
    FROM unnest($4::text[], $5::text[], $6::text[], $7::text[], $8::bigint[]) AS x(path, sha, source, image, fs)`,
  digestTaughtNew: `INSERT INTO baseline_digest_nodes (baseline, path, sha256, node, first_seen, last_seen)
    SELECT $1::bigint, x.path, x.sha, $3::text, $2::bigint, $2::bigint FROM unnest($4::text[], $5::text[]) AS x(path, sha)`,
  seenDigests: `UPDATE baseline_item_digests d SET first_seen = least(d.first_seen, x.fs), last_seen = greatest(d.last_seen, $2), nodes = d.nodes + x.add
    FROM unnest($3::text[], $4::text[], $5::bigint[], $6::bigint[]) AS x(path, sha, fs, add)
    WHERE d.baseline = $1 AND d.path = x.path AND d.sha256 = x.sha`,
  digestTaughtSeen: `UPDATE baseline_digest_nodes n SET last_seen = $2 FROM unnest($4::text[], $5::text[]) AS x(path, sha)
    WHERE n.baseline = $1 AND n.node = $3 AND n.path = x.path AND n.sha256 = x.sha`,
  newListens: `INSERT INTO baseline_listens (baseline, listen, first_node, first_seen, last_seen, source)
    SELECT $1::bigint, x.listen, $3::text, $2::bigint, $2::bigint, 'learned' FROM unnest($4::text[]) AS x(listen)`,
  seenListens: 'UPDATE baseline_listens SET last_seen = greatest(last_seen, $2) WHERE baseline = $1 AND listen = ANY($3::text[])',
  // What a baseline holds, read once per baseline a report merges into.
  heldItems: 'SELECT path, nodes, inline_code FROM baseline_items WHERE baseline = $1',
  heldTaught: 'SELECT path FROM baseline_item_nodes WHERE baseline = $1 AND node = $2',
  heldDigests: 'SELECT path, sha256, nodes FROM baseline_item_digests WHERE baseline = $1',
  heldDigestTaught: 'SELECT path, sha256 FROM baseline_digest_nodes WHERE baseline = $1 AND node = $2',
  heldListens: 'SELECT listen FROM baseline_listens WHERE baseline = $1',
  removedPaths: 'SELECT path FROM baseline_removed WHERE baseline = $1',
  remove: `INSERT INTO baseline_removed (baseline, path, removed_by, removed_at) VALUES ($1, $2, $3, $4)
    ON CONFLICT (baseline, path) DO UPDATE SET removed_by = excluded.removed_by, removed_at = excluded.removed_at`,
  unremove: 'DELETE FROM baseline_removed WHERE baseline = $1 AND path = $2',
  isAllowed: `SELECT i.source, b.state FROM baselines b JOIN baseline_items i ON i.baseline = b.seq WHERE b.key = $1 AND i.path = $2`,
  /** What of the executable is allowed, with its contents, in one statement (a unit and the API read it alike). */
  allowedContents: `SELECT i.source, b.state, i.any_content,
      coalesce((SELECT array_agg(d.sha256 ORDER BY d.first_seen, d.sha256 COLLATE "C") FROM baseline_item_digests d
        WHERE d.baseline = b.seq AND d.path = i.path), '{}') AS digests
    FROM baselines b JOIN baseline_items i ON i.baseline = b.seq WHERE b.key = $1 AND i.path = $2`,
  anyContent: 'UPDATE baseline_items SET any_content = 1 WHERE baseline = $1 AND path = $2',
  digestCount: 'SELECT count(*) AS n FROM baseline_item_digests WHERE baseline = $1 AND path = $2',
  insertDigest: `INSERT INTO baseline_item_digests (baseline, path, sha256, source, image, added_by, first_seen, last_seen, nodes)
    VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
  operatorDigest: "UPDATE baseline_item_digests SET source = 'operator', added_by = $1 WHERE baseline = $2 AND path = $3 AND sha256 = $4",
  // Room for an operator's content: the one seen least recently that no operator allowed.
  evictDigest: `DELETE FROM baseline_item_digests WHERE baseline = $1 AND path = $2 AND sha256 = (
    SELECT sha256 FROM baseline_item_digests WHERE baseline = $1 AND path = $2 AND source <> 'operator'
    ORDER BY last_seen, first_seen, sha256 COLLATE "C" LIMIT 1)`,
  // Agents' catch-up: unattributed container keys belong to one node and are not broadcast.
  // SQLite's LIKE ignores ASCII case; ILIKE under the C collation folds ASCII alone, as it does.
  since: `SELECT * FROM baselines WHERE version > $1 AND NOT (key COLLATE "C" ILIKE 'container:%') ORDER BY version LIMIT $2`,
  nextVersion: "UPDATE baseline_meta SET value = value + 1 WHERE name = 'version' RETURNING value",
  raiseVersion: "UPDATE baseline_meta SET value = greatest(value, $1) WHERE name = 'version'",
  bump: 'UPDATE baseline_meta SET value = value + $1 WHERE name = $2',
  counters: 'SELECT name, value, (SELECT count(*) FROM baselines) AS keys FROM baseline_meta',
  readSnapshot: 'SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY',
  // The rows under several baselines at once (a page, a catch-up), grouped by baseline.
  itemsOf: 'SELECT * FROM baseline_items WHERE baseline = ANY($1::bigint[]) ORDER BY baseline, path COLLATE "C"',
  taughtOf: `SELECT baseline, path, node FROM baseline_item_nodes WHERE baseline = ANY($1::bigint[])
    ORDER BY baseline, path COLLATE "C", first_seen, node COLLATE "C"`,
  removedOf: 'SELECT * FROM baseline_removed WHERE baseline = ANY($1::bigint[]) ORDER BY baseline, path COLLATE "C"',
  digestsOf: `SELECT * FROM baseline_item_digests WHERE baseline = ANY($1::bigint[])
    ORDER BY baseline, path COLLATE "C", first_seen, sha256 COLLATE "C"`,
  digestNodesOf: `SELECT baseline, path, sha256, node FROM baseline_digest_nodes WHERE baseline = ANY($1::bigint[])
    ORDER BY baseline, path COLLATE "C", sha256 COLLATE "C", first_seen, node COLLATE "C"`,
  listensOfSeqs: `SELECT baseline, listen, first_node, first_seen, last_seen, source FROM baseline_listens WHERE baseline = ANY($1::bigint[])
    ORDER BY baseline, listen COLLATE "C"`,
} as const;

/** A list's statement for the filters it has: a few shapes, each prepared once; every value a parameter. */
function listStatement(filter: BaselineFilter): { text: string; values: unknown[] } {
  const where: string[] = [];
  const values: unknown[] = [];
  const add = (column: string, value: unknown): void => {
    values.push(value);
    where.push(`${column} = $${values.length + 1}`);
  };
  if (filter.key !== undefined) add('key', filter.key);
  if (filter.namespace !== undefined) add('namespace', filter.namespace);
  if (filter.workload !== undefined) add('workload', filter.workload);
  if (filter.state !== undefined) add('state', filter.state);
  if (filter.chargedTo !== undefined) add('charged_to', filter.chargedTo);
  const text = `SELECT * FROM baselines WHERE seq > $1${where.map((w) => ` AND ${w}`).join('')} ORDER BY seq LIMIT $${values.length + 2}`;
  return { text, values };
}

/** Thrown inside a write that must start over with the key lock (the header's restart). */
class StartOver extends Error {}

const count = async (q: Sql, text: string, params: readonly unknown[] = []): Promise<number> => (await q.one<{ n: number }>(text, params))!.n;

/** The rows under some baselines, grouped by baseline (seq). */
interface Children {
  items: Map<number, RawItem[]>;
  removed: Map<number, RawRemoved[]>;
  digests: Map<number, RawDigest[]>;
  listens: Map<number, RawListen[]>;
  taught?: Map<number, Array<{ baseline: number; path: string; node: string }>>;
  digestNodes?: Map<number, Array<{ baseline: number; path: string; sha256: string; node: string }>>;
}

async function childrenOf(q: Sql, seqs: readonly number[], central: boolean): Promise<Children> {
  const bySeq = <T extends { baseline: number }>(rows: T[]): Map<number, T[]> => groupBy(rows, (r) => r.baseline);
  const ids = [...seqs];
  const out: Children = {
    items: bySeq(await q.rows<RawItem>(Q.itemsOf, [ids])),
    removed: bySeq(await q.rows<RawRemoved>(Q.removedOf, [ids])),
    digests: bySeq(await q.rows<RawDigest>(Q.digestsOf, [ids])),
    listens: bySeq(await q.rows<RawListen>(Q.listensOfSeqs, [ids])),
  };
  if (central) {
    out.taught = bySeq(await q.rows<{ baseline: number; path: string; node: string }>(Q.taughtOf, [ids]));
    out.digestNodes = bySeq(await q.rows<{ baseline: number; path: string; sha256: string; node: string }>(Q.digestNodesOf, [ids]));
  }
  return out;
}

/** The rows under `b` among `c`. */
function partsOf(b: RawBaseline, c: Children): BaselineParts {
  return {
    items: c.items.get(b.seq) ?? [], removed: c.removed.get(b.seq) ?? [], digests: c.digests.get(b.seq) ?? [], listens: c.listens.get(b.seq) ?? [],
    ...(c.taught ? { taught: c.taught.get(b.seq) ?? [] } : {}), ...(c.digestNodes ? { digestNodes: c.digestNodes.get(b.seq) ?? [] } : {}),
  };
}

/** The writes of one transaction, over its `Sql`; every baseline it touches is locked (the header's steps 1 and 2). */
function writer(q: Sql, names: SchemaNames) {
  /**
   * The next version, for `key`'s change: the other replicas hear of it (LISTEN/NOTIFY,
   * notify.ts) when this transaction commits, and never if it rolls back. The store takes any
   * key, as SQLite's does (ingest and the API let only baseline keys through); one that is
   * not a baseline key is not announced, since no listener would take it.
   */
  async function nextVersion(key: string): Promise<number> {
    const version = (await q.one<{ value: number }>(Q.nextVersion))!.value;
    if (isValidBaselineKey(key)) await notifyBaselineChange(q, key, version, names.baselineChannel);
    return version;
  }
  const save = (b: RawBaseline): Promise<number> => q.run(Q.update, [
    b.state, b.locked_by, b.locked_detail, b.locked_at, b.version, b.unlock_version, b.items, b.items_dropped, b.updated_at, b.seq,
  ]);
  const bump = (n: number, name: Counter): Promise<number> => q.run(Q.bump, [n, name]);

  /** A new baseline of `key` (learning), charged to `charged` ('' for nobody). Only under the key lock. */
  async function create(key: string, now: number, charged: string): Promise<RawBaseline> {
    const p = parseWorkloadKey(key);
    return (await q.one<RawBaseline>(Q.insert, [key, p?.namespace ?? '', p?.kind ?? '', p?.name ?? '', p?.container ?? '', now, charged]))!;
  }

  /** The baseline of `key`, created (learning) for an operator when there is none and room for it. */
  async function ensure(key: string, now: number): Promise<RawBaseline | undefined> {
    const row = await q.one<RawBaseline>(Q.byKey, [key]);
    if (row) return row;
    if (await count(q, Q.count) >= BASELINE_LIMITS.keys + BASELINE_LIMITS.operatorKeys) return undefined;
    return create(key, now, '');
  }

  /** What `b` holds, as the merge of `node`'s report `rb` needs it (what the report does not touch is not read). */
  async function holdings(b: RawBaseline, node: string, rb: ReportedBaseline): Promise<Holdings> {
    const items = new Map((await q.rows<{ path: string; nodes: number; inline_code: number }>(Q.heldItems, [b.seq]))
      .map((r) => [r.path, { nodes: r.nodes, inline: r.inline_code === 1 }]));
    const taught = new Set((await q.rows<{ path: string }>(Q.heldTaught, [b.seq, node])).map((r) => r.path));
    const digests = new Map<string, number>();
    const perPath = new Map<string, number>();
    const digestTaught = new Set<string>();
    if (rb.items.some((i) => (i.digests ?? []).length > 0)) {
      for (const d of await q.rows<{ path: string; sha256: string; nodes: number }>(Q.heldDigests, [b.seq])) {
        digests.set(digestId(d.path, d.sha256), d.nodes);
        perPath.set(d.path, (perPath.get(d.path) ?? 0) + 1);
      }
      for (const d of await q.rows<{ path: string; sha256: string }>(Q.heldDigestTaught, [b.seq, node])) digestTaught.add(digestId(d.path, d.sha256));
    }
    const listens = new Set((rb.listens ?? []).length > 0 ? (await q.rows<{ listen: string }>(Q.heldListens, [b.seq])).map((r) => r.listen) : []);
    return { items, taught, digests, digestTaught, perPath, listens };
  }

  /**
   * Writes a merge's plan: rows before the rows that refer to them, each kind in one statement
   * over columns of values ($1 the baseline, $2 now, $3 the node where the statement has it).
   */
  async function write(b: RawBaseline, p: MergePlan, node: string, now: number): Promise<void> {
    const run = async (text: string, rows: number, params: unknown[]): Promise<void> => {
      if (rows > 0) await q.run(text, params);
    };
    const col = <T>(list: readonly T[], f: (x: T) => unknown): unknown[] => list.map(f);
    const at = [b.seq, now];
    await run(Q.newItems, p.newItems.length, [...at, node, col(p.newItems, (i) => i.path), col(p.newItems, (i) => i.source), col(p.newItems, (i) => i.firstSeen)]);
    await run(Q.taughtNew, p.taughtNew.length, [...at, node, p.taughtNew]);
    const seen = [...p.seenItems];
    await run(Q.seenItems, seen.length, [...at, col(seen, ([path]) => path), col(seen, ([, x]) => x.firstSeen), col(seen, ([, x]) => x.add)]);
    await run(Q.taughtSeen, p.taughtSeen.size, [...at, node, [...p.taughtSeen]]);
    await run(Q.inline, p.inline.size, [b.seq, [...p.inline]]);
    const nd = p.newDigests;
    await run(Q.newDigests, nd.length, [...at, node, col(nd, (d) => d.path), col(nd, (d) => d.sha256), col(nd, (d) => d.source), col(nd, (d) => d.image), col(nd, (d) => d.firstSeen)]);
    const dn = p.digestTaughtNew;
    await run(Q.digestTaughtNew, dn.length, [...at, node, col(dn, (d) => d.path), col(dn, (d) => d.sha256)]);
    const sd = [...p.seenDigests.values()];
    await run(Q.seenDigests, sd.length, [...at, col(sd, (d) => d.path), col(sd, (d) => d.sha256), col(sd, (d) => d.firstSeen), col(sd, (d) => d.add)]);
    const st = [...p.digestTaughtSeen.values()];
    await run(Q.digestTaughtSeen, st.length, [...at, node, col(st, (d) => d.path), col(st, (d) => d.sha256)]);
    await run(Q.newListens, p.newListens.length, [...at, node, p.newListens]);
    await run(Q.seenListens, p.seenListens.size, [...at, [...p.seenListens]]);
  }

  /** An operator allows `sha256` at `path`: made an operator's content, with room made for it. */
  async function operatorDigest(b: RawBaseline, path: string, sha256: string, by: string, now: number): Promise<void> {
    if (await q.run(Q.operatorDigest, [by, b.seq, path, sha256]) > 0) return;
    if (await count(q, Q.digestCount, [b.seq, path]) >= ITEM_DIGEST_LIMITS.perItem) {
      if (await q.run(Q.evictDigest, [b.seq, path]) === 0) {
        throw new StoreError('BASELINE_LIMIT', `${path} in ${b.key} holds ${ITEM_DIGEST_LIMITS.perItem} contents operators allowed, its limit: remove it and allow it again, or allow it with any content`);
      }
      await bump(1, 'digests_dropped');
    }
    await q.run(Q.insertDigest, [b.seq, path, sha256, 'operator', '', by, now, now, 0]);
  }

  return { nextVersion, save, bump, create, ensure, holdings, write, operatorDigest };
}

const FULL = `the collector holds ${BASELINE_LIMITS.keys + BASELINE_LIMITS.operatorKeys} baselines, its limit`;

/**
 * The PostgreSQL BaselineStore over `sql` (the pool, or a unit's client: a unit reads
 * allowedContents alone); `transact` runs the writes the boundary calls one transaction.
 */
export function createPgBaselineStore(sql: Sql, transact: Transact, names: SchemaNames = PUBLIC_NAMES): BaselineStore {
  /**
   * Runs `work` in one transaction holding the rows of `keys` (steps 1 and 2 of the header):
   * the key lock first when a key is missing (the work may create it), then the rows in key
   * order. A key deleted between the look and the lock: the whole write starts over.
   */
  async function withKeys<T>(keys: readonly string[], work: (q: Sql) => Promise<T>): Promise<T> {
    const unique = [...new Set(keys)];
    for (let keyLockFirst = false; ; keyLockFirst = true) {
      try {
        return await transact(async (q) => {
          const creating = keyLockFirst || await count(q, Q.countKeys, [unique]) < unique.length;
          if (creating) await q.run(Q.keysLock, [names.baselineKeysLock]);
          const held = await q.rows(Q.lockKeys, [unique]);
          if (!creating && held.length < unique.length) throw new StartOver();
          return work(q);
        });
      } catch (err) {
        if (!(err instanceof StartOver)) throw err;
      }
    }
  }

  /** Several statements read in one snapshot. */
  const snapshot = <T>(work: (q: Sql) => Promise<T>): Promise<T> => transact(async (q) => {
    await q.run(Q.readSnapshot);
    return work(q);
  });

  return {
    async listens(key: string): Promise<BaselineListen[]> {
      const rows = await sql.rows<RawListen>(Q.listensOf, [key]);
      return rows.map((r) => ({ listen: r.listen, source: r.source, firstNode: r.first_node, firstSeen: iso(r.first_seen), lastSeen: iso(r.last_seen) }));
    },

    allowListen(key: string, listen: string, by: string, now: number): Promise<ChangeOutcome> {
      return withKeys([key], async (q) => {
        const w = writer(q, names);
        const b = await w.ensure(key, now);
        if (!b) throw new StoreError('BASELINE_LIMIT', `${FULL}; ${key} is not one of them (delete some: POST /api/v1/baselines/delete)`);
        const held = await q.one(Q.heldListen, [b.seq, listen]) !== undefined;
        if (!held && await count(q, Q.listenCount, [b.seq]) >= MAX_LISTENS_PER_BASELINE) {
          throw new StoreError('BASELINE_LIMIT', `${key} holds ${MAX_LISTENS_PER_BASELINE} listens, its limit`);
        }
        await q.run(Q.operatorListen, [b.seq, listen, by, now, now]);
        b.version = await w.nextVersion(key);
        b.updated_at = now;
        await w.save(b);
        return { version: b.version, paths: [] };
      });
    },

    applyReport(node: string, baselines: readonly ReportedBaseline[], now: number, quota?: ReportQuota): Promise<ReportOutcome> {
      return withKeys(baselines.map((b) => b.key), async (q) => {
        const w = writer(q, names);
        const out = {
          adoptAll: [] as string[], allowed: [] as Array<{ key: string; paths: string[] }>, behind: [] as string[],
          itemsAdded: 0, itemsDropped: 0, itemsRefused: 0, keysDropped: 0, keysOverNodeLimit: 0,
        };
        const digests: Counts = { added: 0, dropped: 0, refused: 0 };
        const listens: Counts = { added: 0, dropped: 0, refused: 0 };
        let total: number | undefined;
        let charged: number | undefined;
        for (const rb of baselines) {
          let b = await q.one<RawBaseline>(Q.byKey, [rb.key]);
          if (!b) {
            total ??= await count(q, Q.count);
            if (total >= BASELINE_LIMITS.keys) {
              out.keysDropped++;
              continue;
            }
            const chargeable = quota !== undefined && !quota.vouched(rb.key);
            if (chargeable) {
              charged ??= await count(q, Q.charged, [node]);
              if (charged >= quota.maxKeysPerNode) {
                out.keysOverNodeLimit++;
                continue;
              }
              charged++;
            }
            b = await w.create(rb.key, now, chargeable ? node : '');
            total++;
          }
          const removed = new Set((await q.rows<{ path: string }>(Q.removedPaths, [b.seq])).map((r) => r.path));
          const p = planMerge(b, await w.holdings(b, node, rb), rb, removed, now);
          await w.write(b, p, node, now);
          const added = p.added;
          b.items += added.length;
          b.items_dropped += p.itemsDropped;
          out.itemsDropped += p.itemsDropped;
          out.itemsRefused += p.itemsRefused;
          out.itemsAdded += added.length;
          for (const k of ['added', 'dropped', 'refused'] as const) {
            digests[k] += p.digests[k];
            listens[k] += p.listens[k];
          }
          const listensAdded = p.listens.added;
          const wasLearning = b.state === 'learning';
          if (rb.state === 'locked' && wasLearning && rb.version >= b.unlock_version) {
            lockRow(b, 'node', node, now);
            b.version = await w.nextVersion(b.key);
            out.adoptAll.push(b.key);
            out.allowed.push({ key: b.key, paths: (await q.rows<{ path: string }>(Q.itemPaths, [b.seq])).map((i) => i.path) });
          } else if (!wasLearning && added.length + listensAdded > 0) {
            b.version = await w.nextVersion(b.key);
            out.adoptAll.push(b.key);
            out.allowed.push({ key: b.key, paths: added });
          } else if (rb.version < b.version) {
            out.behind.push(b.key);
          }
          if (added.length > 0 || listensAdded > 0 || p.inlineAdded > 0 || p.digests.added > 0 || out.adoptAll.at(-1) === b.key) b.updated_at = now;
          await w.save(b);
        }
        const bumps: Record<Counter, number> = {
          items_dropped: out.itemsDropped, items_refused: out.itemsRefused, digests_dropped: digests.dropped, digests_refused: digests.refused,
          keys_dropped: out.keysDropped, keys_over_node_limit: out.keysOverNodeLimit, listens_dropped: listens.dropped, listens_refused: listens.refused,
        };
        for (const name of COUNTER_ORDER) if (bumps[name] > 0) await w.bump(bumps[name], name);
        return {
          ...out, digestsAdded: digests.added, digestsDropped: digests.dropped, digestsRefused: digests.refused,
          listensAdded: listens.added, listensDropped: listens.dropped, listensRefused: listens.refused,
        };
      });
    },

    change(action: BaselineAction, key: string, paths: readonly string[], by: string, now: number,
      content: ContentToAllow = { anyContent: true, digests: new Map() }): Promise<ChangeOutcome> {
      return withKeys([key], async (q) => {
        const w = writer(q, names);
        const b = await w.ensure(key, now);
        if (!b) throw new StoreError('BASELINE_LIMIT', `${FULL}; ${key} is not one of them (delete some: POST /api/v1/baselines/delete)`);
        const version = await w.nextVersion(key);
        if (action === 'allow') {
          const fresh: string[] = [];
          for (const p of paths) if (!await q.one(Q.item, [b.seq, p])) fresh.push(p);
          if (b.items + fresh.length > BASELINE_LIMITS.itemsPerKey) {
            throw new StoreError('BASELINE_LIMIT', `${key} holds ${b.items} executables; ${fresh.length} more would pass its limit of ${BASELINE_LIMITS.itemsPerKey}`);
          }
          for (const p of paths) {
            await q.run(Q.unremove, [b.seq, p]);
            if (await q.run(Q.operatorItem, [by, b.seq, p]) === 0) await q.run(Q.insertItem, [b.seq, p, 'operator', by, now, now, 0]);
            if (content.anyContent) await q.run(Q.anyContent, [b.seq, p]);
            for (const d of new Set(content.digests.get(p) ?? [])) await w.operatorDigest(b, p, d, by, now);
          }
          b.items += fresh.length;
        } else if (action === 'remove') {
          for (const p of paths) {
            if (await q.run(Q.deleteItem, [b.seq, p]) > 0) b.items--;
            await q.run(Q.remove, [b.seq, p, by, now]);
          }
        } else if (action === 'lock') {
          if (b.state !== 'locked' || b.locked_by !== 'operator') lockRow(b, 'operator', by, now);
        } else {
          b.state = 'learning';
          b.locked_by = null;
          b.locked_detail = '';
          b.locked_at = null;
          b.unlock_version = version;
        }
        b.version = version;
        b.updated_at = now;
        await w.save(b);
        return { version, paths: [...paths] };
      });
    },

    async delete(key: string): Promise<boolean> {
      return await sql.run(Q.deleteKey, [key]) > 0;
    },

    deleteChargedTo(node: string): Promise<NodeBaselineCleanup> {
      return transact(async (q) => {
        await q.rows(Q.lockCharged, [node]);
        return { deleted: await q.run(Q.deleteCharged, [node]) };
      });
    },

    chargedTo(node: string): Promise<number> {
      return count(sql, Q.charged, [node]);
    },

    get(key: string): Promise<CentralBaseline | undefined> {
      return snapshot(async (q) => {
        const b = await q.one<RawBaseline>(Q.byKey, [key]);
        return b ? toCentralBaseline(b, partsOf(b, await childrenOf(q, [b.seq], true))) : undefined;
      });
    },

    async list(filter: BaselineFilter, limit: number, cursor: string | undefined): Promise<Page<CentralBaseline> | undefined> {
      const after = cursor === undefined ? 0 : decodeCursor(cursor);
      if (after === undefined) return undefined;
      const s = listStatement(filter);
      return snapshot(async (q) => {
        const rows = await q.rows<RawBaseline>(s.text, [after, ...s.values, limit + 1]);
        const more = rows.length > limit;
        const page = more ? rows.slice(0, limit) : rows;
        const last = page.at(-1);
        const c = await childrenOf(q, page.map((b) => b.seq), true);
        return { items: page.map((b) => toCentralBaseline(b, partsOf(b, c))), nextCursor: more && last ? encodeCursor(last.seq) : null };
      });
    },

    sync(key: string): Promise<SyncEntry | undefined> {
      return snapshot(async (q) => {
        const b = await q.one<RawBaseline>(Q.byKey, [key]);
        return b ? toSyncEntry(b, partsOf(b, await childrenOf(q, [b.seq], false))) : undefined;
      });
    },

    changedSince(version: number, limit: number): Promise<SyncEntry[]> {
      return snapshot(async (q) => {
        const rows = await q.rows<RawBaseline>(Q.since, [version, limit]);
        if (rows.length === 0) return [];
        const c = await childrenOf(q, rows.map((b) => b.seq), false);
        return rows.map((b) => toSyncEntry(b, partsOf(b, c)));
      });
    },

    async isAllowed(key: string, path: string): Promise<boolean> {
      const r = await sql.one<{ source: ItemSource; state: CentralState }>(Q.isAllowed, [key, path]);
      return r !== undefined && (r.source === 'operator' || r.state === 'locked');
    },

    async allowedContents(key: string, path: string): Promise<AllowedContents | undefined> {
      const r = await sql.one<{ source: ItemSource; state: CentralState; any_content: number; digests: string[] }>(Q.allowedContents, [key, path]);
      if (r === undefined || !(r.source === 'operator' || r.state === 'locked')) return undefined;
      return { anyContent: r.any_content === 1, digests: r.digests };
    },

    async raiseVersion(version: number): Promise<void> {
      await sql.run(Q.raiseVersion, [version]);
    },

    async counters(): Promise<BaselineCounters> {
      const rows = await sql.rows<{ name: string; value: number; keys: number }>(Q.counters);
      const m = Object.fromEntries(rows.map((r) => [r.name, r.value]));
      return {
        version: m.version ?? 0, keys: rows[0]?.keys ?? 0, keysDropped: m.keys_dropped ?? 0,
        keysOverNodeLimit: m.keys_over_node_limit ?? 0, itemsDropped: m.items_dropped ?? 0, itemsRefused: m.items_refused ?? 0,
        digestsDropped: m.digests_dropped ?? 0, digestsRefused: m.digests_refused ?? 0,
        listensDropped: m.listens_dropped ?? 0, listensRefused: m.listens_refused ?? 0,
      };
    },
  };
}

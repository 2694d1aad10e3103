// Central process baselines: one per baseline key (proto/baseline-key.ts), merged from every
// node's BaselineReports, plus the operators' changes.
//
//   items     executables; each records which nodes taught it (bounded: the first
//             `nodesPerItem` nodes), so an item only one node ever saw shows as such.
//   removed   executables an operator removed. A node reporting one does not bring it back;
//             only an operator's allow does. What nodes report as removed is not merged: the
//             collector's own removals are the truth (a node that was away could otherwise
//             undo an allow it has not seen yet).
//   state     learning, until an operator locks it or a node reports it locked at the end of
//             its learning window (a report made before the last unlock does not count).
//             Once locked, no node's report adds items, except those learned before a
//             node's lock (they were on their way); after an operator's lock, none.
//   version   the global counter's value at the key's last change that agents must apply
//             (an operator's change, a lock, items joining a locked baseline). Agents send
//             the highest version they applied in their Hello and get every newer change.
//
// Bounded: `keys` baselines and `itemsPerKey` items each; what a report brings beyond that
// is dropped and counted (per key and in total). Operators' changes may create baselines up
// to `operatorKeys` beyond `keys`, so nodes filling the table never lock an operator out; and
// an operator can delete a baseline. One node cannot fill the table either: a baseline it
// creates that the pod watch cannot vouch for (a container:<id> key, or any workload key when
// there is no pod watch) is charged to it, and past its own limit it creates no more
// (pipeline/baselines.ts decides what is vouched for; refusals are counted per node).
//
// Host baselines are kept per node role, `host/control-plane` and `host/worker`, like any two
// keys; the legacy `host` of older agents is stored as it comes. Which agent is sent which host
// baseline is decided where the streams are (ingest/agent-service.ts, by the node's Hello):
// only its own, so a worker never adopts what control-plane nodes taught.
import { ITEM_SOURCE_WIRE, parseWorkloadKey, type ItemSourceName } from '../../proto/baseline-key.js';
import { StoreError, type Db } from './db.js';
import { decodeCursor, encodeCursor, type Page } from './findings.js';
import { isoTime } from './time.js';

export const BASELINE_LIMITS = { keys: 10_000, operatorKeys: 1000, itemsPerKey: 2048, nodesPerItem: 32 } as const;

export const BASELINE_STATES = ['learning', 'locked'] as const;
export type CentralState = (typeof BASELINE_STATES)[number];
export const ITEM_SOURCES = Object.keys(ITEM_SOURCE_WIRE) as ItemSource[];
export type ItemSource = ItemSourceName;
export const BASELINE_ACTIONS = ['allow', 'remove', 'lock', 'unlock'] as const;
export type BaselineAction = (typeof BASELINE_ACTIONS)[number];

/** One baseline from a node's report (validated by ingest). */
export interface ReportedBaseline {
  readonly key: string;
  readonly state: CentralState;
  readonly version: number;
  readonly items: ReadonlyArray<{ readonly path: string; readonly source: ItemSource; readonly firstSeen: number }>;
}

export interface ReportOutcome {
  /** Keys every node should adopt now: they locked, or items joined them while locked. */
  readonly adoptAll: string[];
  /** Executables allowed cluster-wide by this report (their open findings resolve). */
  readonly allowed: Array<{ readonly key: string; readonly paths: string[] }>;
  /** Keys the node holds at a version below the central one: it is sent them again. */
  readonly behind: string[];
  readonly itemsAdded: number;
  readonly itemsDropped: number;
  /** New baselines refused because the collector holds BASELINE_LIMITS.keys. */
  readonly keysDropped: number;
  /** New baselines refused because the node was at its own limit (ReportQuota). */
  readonly keysOverNodeLimit: number;
}

/** What one node's report may create. */
export interface ReportQuota {
  /** Baselines charged to one node at most. */
  readonly maxKeysPerNode: number;
  /** The pod watch shows this key's workload on the node (or it is a host key): not charged. */
  readonly vouched: (key: string) => boolean;
}

/** What deleting a node took with it. */
export interface NodeBaselineCleanup {
  /** Baselines charged to the node that nothing else holds on to (no other node taught them, no operator touched them). */
  readonly deleted: number;
}

/** What an agent needs to catch up with one central baseline. */
export interface SyncEntry {
  readonly key: string;
  readonly version: number;
  readonly state: CentralState;
  readonly lockedBy: 'operator' | 'node' | null;
  readonly unlockVersion: number;
  readonly items: ReadonlyArray<{ readonly path: string; readonly source: ItemSource; readonly firstSeen: number }>;
  readonly removed: readonly string[];
}

export interface CentralItem {
  readonly path: string;
  readonly source: ItemSource;
  /** The node that taught it first, or the operator who allowed it. */
  readonly addedBy: string;
  readonly firstSeen: string;
  readonly lastSeen: string;
  /** Nodes that taught it (the first BASELINE_LIMITS.nodesPerItem). */
  readonly taughtBy: string[];
  /** Exactly one node ever taught it. */
  readonly singleNode: boolean;
}

export interface CentralBaseline {
  readonly key: string;
  readonly namespace: string;
  readonly workload: { readonly kind: string; readonly name: string } | null;
  readonly container: string;
  readonly state: CentralState;
  readonly lockedBy: 'operator' | 'node' | null;
  /** The operator (token name) or the node that locked it. */
  readonly lockedByName: string;
  readonly lockedAt: string | null;
  readonly version: number;
  readonly createdAt: string;
  readonly updatedAt: string;
  readonly items: CentralItem[];
  readonly removed: Array<{ readonly path: string; readonly removedBy: string; readonly removedAt: string }>;
  /** Items a report brought beyond BASELINE_LIMITS.itemsPerKey. */
  readonly itemsDropped: number;
  /** The node whose own limit it counts against ('' for none). */
  readonly chargedTo: string;
}

export interface BaselineFilter {
  readonly key?: string | undefined;
  readonly namespace?: string | undefined;
  readonly workload?: string | undefined;
  readonly state?: CentralState | undefined;
  readonly chargedTo?: string | undefined;
}

export interface ChangeOutcome {
  readonly version: number;
  /** The executables the change concerned (allowed or removed). */
  readonly paths: string[];
}

interface RawBaseline {
  seq: number; key: string; namespace: string; workload_kind: string; workload: string; container: string;
  state: CentralState; locked_by: 'operator' | 'node' | null; locked_detail: string; locked_at: number | null;
  version: number; unlock_version: number; items: number; items_dropped: number; created_at: number; updated_at: number;
  charged_to: string;
}
interface RawItem { path: string; source: ItemSource; added_by: string; first_seen: number; last_seen: number; nodes: number }

const iso = isoTime;

export function createBaselineStore(db: Db) {
  const s = {
    byKey: db.prepare<[string], RawBaseline>('SELECT * FROM baselines WHERE key = ?'),
    count: db.prepare<[], { n: number }>('SELECT count(*) AS n FROM baselines'),
    insert: db.prepare<[{ key: string; namespace: string; kind: string; workload: string; container: string; now: number; charged: string }], RawBaseline>(`INSERT INTO baselines
        (key, namespace, workload_kind, workload, container, state, created_at, updated_at, charged_to)
      VALUES (@key, @namespace, @kind, @workload, @container, 'learning', @now, @now, @charged) RETURNING *`),
    charged: db.prepare<[string], { n: number }>('SELECT count(*) AS n FROM baselines WHERE charged_to = ?'),
    deleteKey: db.prepare('DELETE FROM baselines WHERE key = ?'),
    // A node's own baselines that nothing else holds on to: no other node taught an item, no
    // operator allowed or removed one, no operator locked it.
    deleteCharged: db.prepare(`DELETE FROM baselines WHERE charged_to = @node AND locked_by IS NOT 'operator'
      AND NOT EXISTS (SELECT 1 FROM baseline_item_nodes n WHERE n.baseline = baselines.seq AND n.node <> @node)
      AND NOT EXISTS (SELECT 1 FROM baseline_items i WHERE i.baseline = baselines.seq AND i.source = 'operator')
      AND NOT EXISTS (SELECT 1 FROM baseline_removed r WHERE r.baseline = baselines.seq)`),
    update: db.prepare(`UPDATE baselines SET state = @state, locked_by = @locked_by, locked_detail = @locked_detail,
        locked_at = @locked_at, version = @version, unlock_version = @unlock_version, items = @items,
        items_dropped = @items_dropped, updated_at = @updated_at WHERE seq = @seq`),
    items: db.prepare<[number], RawItem>('SELECT * FROM baseline_items WHERE baseline = ? ORDER BY path'),
    item: db.prepare<[number, string], RawItem>('SELECT * FROM baseline_items WHERE baseline = ? AND path = ?'),
    insertItem: db.prepare(`INSERT INTO baseline_items (baseline, path, source, added_by, first_seen, last_seen, nodes)
      VALUES (?, ?, ?, ?, ?, ?, ?)`),
    seenItem: db.prepare('UPDATE baseline_items SET first_seen = min(first_seen, ?), last_seen = max(last_seen, ?), nodes = nodes + ? WHERE baseline = ? AND path = ?'),
    operatorItem: db.prepare("UPDATE baseline_items SET source = 'operator', added_by = ? WHERE baseline = ? AND path = ?"),
    deleteItem: db.prepare('DELETE FROM baseline_items WHERE baseline = ? AND path = ?'),
    seenTaught: db.prepare('UPDATE baseline_item_nodes SET last_seen = ? WHERE baseline = ? AND path = ? AND node = ?'),
    insertTaught: db.prepare('INSERT INTO baseline_item_nodes (baseline, path, node, first_seen, last_seen) VALUES (?, ?, ?, ?, ?)'),
    taught: db.prepare<[number], { path: string; node: string }>('SELECT path, node FROM baseline_item_nodes WHERE baseline = ? ORDER BY path, first_seen, node'),
    removed: db.prepare<[number], { path: string; removed_by: string; removed_at: number }>('SELECT * FROM baseline_removed WHERE baseline = ? ORDER BY path'),
    remove: db.prepare(`INSERT INTO baseline_removed (baseline, path, removed_by, removed_at) VALUES (?, ?, ?, ?)
      ON CONFLICT (baseline, path) DO UPDATE SET removed_by = excluded.removed_by, removed_at = excluded.removed_at`),
    unremove: db.prepare('DELETE FROM baseline_removed WHERE baseline = ? AND path = ?'),
    isAllowed: db.prepare<[string, string], { source: ItemSource; state: CentralState }>(`SELECT i.source, b.state FROM baselines b
      JOIN baseline_items i ON i.baseline = b.seq WHERE b.key = ? AND i.path = ?`),
    // Agents' catch-up: unattributed container keys belong to one node and are not broadcast.
    since: db.prepare<[number, number], RawBaseline>(`SELECT * FROM baselines WHERE version > ? AND key NOT LIKE 'container:%'
      ORDER BY version LIMIT ?`),
    nextVersion: db.prepare<[], { value: number }>("UPDATE baseline_meta SET value = value + 1 WHERE name = 'version' RETURNING value"),
    raiseVersion: db.prepare("UPDATE baseline_meta SET value = max(value, ?) WHERE name = 'version'"),
    bump: db.prepare('UPDATE baseline_meta SET value = value + ? WHERE name = ?'),
    meta: db.prepare<[], { name: string; value: number }>('SELECT name, value FROM baseline_meta'),
  };
  const listStatements = new Map<string, ReturnType<typeof db.prepare<Record<string, unknown>, RawBaseline>>>();

  const nextVersion = (): number => s.nextVersion.get()!.value;
  const save = (b: RawBaseline): void => void s.update.run(b);

  /** A new baseline of `key` (learning), charged to `charged` ('' for nobody). */
  function create(key: string, now: number, charged: string): RawBaseline {
    const p = parseWorkloadKey(key);
    return s.insert.get({ key, namespace: p?.namespace ?? '', kind: p?.kind ?? '', workload: p?.name ?? '', container: p?.container ?? '', now, charged })!;
  }

  /** The baseline of `key`, created (learning) for an operator when there is none and room for it. */
  function ensure(key: string, now: number): RawBaseline | undefined {
    const row = s.byKey.get(key);
    if (row) return row;
    if (s.count.get()!.n >= BASELINE_LIMITS.keys + BASELINE_LIMITS.operatorKeys) return undefined;
    return create(key, now, '');
  }

  function lock(b: RawBaseline, by: 'operator' | 'node', name: string, now: number): void {
    b.state = 'locked';
    b.locked_by = by;
    b.locked_detail = name;
    b.locked_at = now;
  }

  function syncEntry(b: RawBaseline): SyncEntry {
    return {
      key: b.key, version: b.version, state: b.state, lockedBy: b.locked_by, unlockVersion: b.unlock_version,
      items: s.items.all(b.seq).map((i) => ({ path: i.path, source: i.source, firstSeen: i.first_seen })),
      removed: s.removed.all(b.seq).map((r) => r.path),
    };
  }

  function toCentral(b: RawBaseline): CentralBaseline {
    const taught = new Map<string, string[]>();
    for (const t of s.taught.all(b.seq)) {
      const list = taught.get(t.path);
      if (list) list.push(t.node);
      else taught.set(t.path, [t.node]);
    }
    return {
      key: b.key, namespace: b.namespace, workload: b.workload ? { kind: b.workload_kind, name: b.workload } : null,
      container: b.container, state: b.state, lockedBy: b.locked_by, lockedByName: b.locked_detail,
      lockedAt: b.locked_at === null ? null : iso(b.locked_at), version: b.version, createdAt: iso(b.created_at),
      updatedAt: iso(b.updated_at),
      items: s.items.all(b.seq).map((i) => {
        const by = taught.get(i.path) ?? [];
        return {
          path: i.path, source: i.source, addedBy: i.added_by, firstSeen: iso(i.first_seen), lastSeen: iso(i.last_seen),
          taughtBy: by, singleNode: i.nodes === 1,
        };
      }),
      removed: s.removed.all(b.seq).map((r) => ({ path: r.path, removedBy: r.removed_by, removedAt: iso(r.removed_at) })),
      itemsDropped: b.items_dropped, chargedTo: b.charged_to,
    };
  }

  /** `node` taught `path` (already an item): recorded, within the bound on nodes per item. */
  function taughtBy(b: RawBaseline, item: RawItem, node: string, firstSeen: number, now: number): void {
    const known = s.seenTaught.run(now, b.seq, item.path, node).changes > 0;
    const add = !known && item.nodes < BASELINE_LIMITS.nodesPerItem;
    if (add) s.insertTaught.run(b.seq, item.path, node, now, now);
    s.seenItem.run(firstSeen, now, add ? 1 : 0, b.seq, item.path);
  }

  return {
    /**
     * Merges one node's report; one transaction. A baseline the report would create is
     * refused (counted) when the collector holds BASELINE_LIMITS.keys, or when the quota does
     * not vouch for it and the node is at its own limit.
     */
    applyReport(node: string, baselines: readonly ReportedBaseline[], now: number, quota?: ReportQuota): ReportOutcome {
      return db.transaction((): ReportOutcome => {
        const out = {
          adoptAll: [] as string[], allowed: [] as Array<{ key: string; paths: string[] }>, behind: [] as string[],
          itemsAdded: 0, itemsDropped: 0, keysDropped: 0, keysOverNodeLimit: 0,
        };
        let total: number | undefined;
        let charged: number | undefined;
        for (const rb of baselines) {
          let b = s.byKey.get(rb.key);
          if (!b) {
            total ??= s.count.get()!.n;
            if (total >= BASELINE_LIMITS.keys) {
              out.keysDropped++;
              continue;
            }
            const chargeable = quota !== undefined && !quota.vouched(rb.key);
            if (chargeable) {
              charged ??= s.charged.get(node)!.n;
              if (charged >= quota.maxKeysPerNode) {
                out.keysOverNodeLimit++;
                continue;
              }
              charged++;
            }
            b = create(rb.key, now, chargeable ? node : '');
            total++;
          }
          const removed = new Set(s.removed.all(b.seq).map((r) => r.path));
          const added: string[] = [];
          for (const item of rb.items) {
            if (removed.has(item.path)) continue;
            const firstSeen = item.firstSeen || now;
            const cur = s.item.get(b.seq, item.path);
            if (cur) {
              // An operator's item a node holds was not taught by it.
              if (item.source !== 'operator') taughtBy(b, cur, node, firstSeen, now);
              continue;
            }
            if (item.source === 'operator') continue; // only the collector's own allows make those
            const beforeLock = b.state === 'locked' && b.locked_by === 'node' && b.locked_at !== null && firstSeen <= b.locked_at;
            if (b.state === 'locked' && !beforeLock) continue;
            if (b.items >= BASELINE_LIMITS.itemsPerKey) {
              b.items_dropped++;
              out.itemsDropped++;
              continue;
            }
            s.insertItem.run(b.seq, item.path, item.source, node, firstSeen, now, 1);
            s.insertTaught.run(b.seq, item.path, node, now, now);
            b.items++;
            added.push(item.path);
          }
          out.itemsAdded += added.length;
          const wasLearning = b.state === 'learning';
          if (rb.state === 'locked' && wasLearning && rb.version >= b.unlock_version) {
            lock(b, 'node', node, now);
            b.version = nextVersion();
            out.adoptAll.push(b.key);
            out.allowed.push({ key: b.key, paths: s.items.all(b.seq).map((i) => i.path) });
          } else if (!wasLearning && added.length > 0) {
            b.version = nextVersion();
            out.adoptAll.push(b.key);
            out.allowed.push({ key: b.key, paths: added });
          } else if (rb.version < b.version) {
            out.behind.push(b.key);
          }
          if (added.length > 0 || out.adoptAll.at(-1) === b.key) b.updated_at = now;
          save(b);
        }
        if (out.itemsDropped > 0) s.bump.run(out.itemsDropped, 'items_dropped');
        if (out.keysDropped > 0) s.bump.run(out.keysDropped, 'keys_dropped');
        if (out.keysOverNodeLimit > 0) s.bump.run(out.keysOverNodeLimit, 'keys_over_node_limit');
        return out;
      }).immediate();
    },

    /**
     * An operator's change; one transaction. Creates the baseline when there is none.
     * Throws StoreError BASELINE_LIMIT when there is no room for it or its new items.
     */
    change(action: BaselineAction, key: string, paths: readonly string[], by: string, now: number): ChangeOutcome {
      return db.transaction((): ChangeOutcome => {
        const b = ensure(key, now);
        if (!b) throw new StoreError('BASELINE_LIMIT', `the collector holds ${BASELINE_LIMITS.keys + BASELINE_LIMITS.operatorKeys} baselines, its limit; ${key} is not one of them (delete some: POST /api/v1/baselines/delete)`);
        const version = nextVersion();
        if (action === 'allow') {
          const fresh = paths.filter((p) => !s.item.get(b.seq, p));
          if (b.items + fresh.length > BASELINE_LIMITS.itemsPerKey) {
            throw new StoreError('BASELINE_LIMIT', `${key} holds ${b.items} executables; ${fresh.length} more would pass its limit of ${BASELINE_LIMITS.itemsPerKey}`);
          }
          for (const p of paths) {
            s.unremove.run(b.seq, p);
            if (s.operatorItem.run(by, b.seq, p).changes === 0) s.insertItem.run(b.seq, p, 'operator', by, now, now, 0);
          }
          b.items += fresh.length;
        } else if (action === 'remove') {
          for (const p of paths) {
            if (s.deleteItem.run(b.seq, p).changes > 0) b.items--;
            s.remove.run(b.seq, p, by, now);
          }
        } else if (action === 'lock') {
          if (b.state !== 'locked' || b.locked_by !== 'operator') lock(b, 'operator', by, now);
        } else {
          b.state = 'learning';
          b.locked_by = null;
          b.locked_detail = '';
          b.locked_at = null;
          b.unlock_version = version;
        }
        b.version = version;
        b.updated_at = now;
        save(b);
        return { version, paths: [...paths] };
      }).immediate();
    },

    /** Deletes the baseline (items, removals and who taught what with it); false when there was none. */
    delete(key: string): boolean {
      return s.deleteKey.run(key).changes > 0;
    },

    /** A node is deleted: the baselines charged to it that nothing else holds on to go too. */
    deleteChargedTo(node: string): NodeBaselineCleanup {
      return { deleted: s.deleteCharged.run({ node }).changes };
    },

    /** Baselines charged to the node (its own limit counts them). */
    chargedTo(node: string): number {
      return s.charged.get(node)!.n;
    },

    get(key: string): CentralBaseline | undefined {
      const b = s.byKey.get(key);
      return b ? toCentral(b) : undefined;
    },

    list(filter: BaselineFilter, limit: number, cursor: string | undefined): Page<CentralBaseline> | undefined {
      const after = cursor === undefined ? 0 : decodeCursor(cursor);
      if (after === undefined) return undefined;
      const where = ['seq > @after'];
      const params: Record<string, unknown> = { after, limit: limit + 1 };
      if (filter.key !== undefined) { where.push('key = @key'); params.key = filter.key; }
      if (filter.namespace !== undefined) { where.push('namespace = @namespace'); params.namespace = filter.namespace; }
      if (filter.workload !== undefined) { where.push('workload = @workload'); params.workload = filter.workload; }
      if (filter.state !== undefined) { where.push('state = @state'); params.state = filter.state; }
      if (filter.chargedTo !== undefined) { where.push('charged_to = @chargedTo'); params.chargedTo = filter.chargedTo; }
      // Assembled from fixed fragments (a few shapes, each prepared once); values are bound.
      const sql = `SELECT * FROM baselines WHERE ${where.join(' AND ')} ORDER BY seq LIMIT @limit`;
      let stmt = listStatements.get(sql);
      if (!stmt) listStatements.set(sql, (stmt = db.prepare<Record<string, unknown>, RawBaseline>(sql)));
      const rows = stmt.all(params);
      const more = rows.length > limit;
      const page = more ? rows.slice(0, limit) : rows;
      const last = page.at(-1);
      return { items: page.map(toCentral), nextCursor: more && last ? encodeCursor(last.seq) : null };
    },

    /** What an agent needs to catch up with `key`. */
    sync(key: string): SyncEntry | undefined {
      const b = s.byKey.get(key);
      return b ? syncEntry(b) : undefined;
    },

    /** Baselines changed after `version` (oldest change first), except unattributed container keys. */
    changedSince(version: number, limit: number): SyncEntry[] {
      return s.since.all(version, limit).map(syncEntry);
    },

    /** The executable is allowed for the key cluster-wide: by an operator, or in a locked baseline. */
    isAllowed(key: string, path: string): boolean {
      const r = s.isAllowed.get(key, path);
      return r !== undefined && (r.source === 'operator' || r.state === 'locked');
    },

    /** An agent has applied versions up to `version`: new changes must be numbered above it. */
    raiseVersion(version: number): void {
      s.raiseVersion.run(version);
    },

    counters(): { version: number; keys: number; keysDropped: number; keysOverNodeLimit: number; itemsDropped: number } {
      const m = Object.fromEntries(s.meta.all().map((r) => [r.name, r.value]));
      return {
        version: m.version ?? 0, keys: s.count.get()!.n, keysDropped: m.keys_dropped ?? 0,
        keysOverNodeLimit: m.keys_over_node_limit ?? 0, itemsDropped: m.items_dropped ?? 0,
      };
    },
  };
}

export type BaselineStore = ReturnType<typeof createBaselineStore>;

// A central baseline's rows as both backends read them (store/baselines.ts on SQLite,
// store/pg/baselines.ts on PostgreSQL), and the two things made of them: what an agent is sent
// (SyncEntry) and what the API shows (CentralBaseline). One mapping, so the backends answer
// alike. Pure: each backend reads the rows its own way and hands them here.
import type { DigestSource } from '../../proto/exec-identity.js';
import type { CentralBaseline, CentralState, ItemSource, SyncEntry } from './boundary/baselines.js';
import { isoTime as iso } from './time.js';

export interface RawBaseline {
  seq: number; key: string; namespace: string; workload_kind: string; workload: string; container: string;
  state: CentralState; locked_by: 'operator' | 'node' | null; locked_detail: string; locked_at: number | null;
  version: number; unlock_version: number; items: number; items_dropped: number; created_at: number; updated_at: number;
  charged_to: string;
}
export interface RawListen { listen: string; first_node: string; first_seen: number; last_seen: number; source: 'learned' | 'operator' }
export interface RawItem { path: string; source: ItemSource; added_by: string; first_seen: number; last_seen: number; nodes: number; any_content: number; inline_code: number }
export interface RawDigest {
  path: string; sha256: string; source: DigestSource; image: string; added_by: string; first_seen: number; last_seen: number; nodes: number;
}
export interface RawRemoved { path: string; removed_by: string; removed_at: number }

/** The rows under one baseline, each in its table's order: `listens` for what agents are sent, `taught` and `digestNodes` for the API's view. */
export interface BaselineParts {
  readonly items: readonly RawItem[];
  readonly removed: readonly RawRemoved[];
  readonly digests: readonly RawDigest[];
  readonly listens?: readonly RawListen[];
  readonly taught?: ReadonlyArray<{ readonly path: string; readonly node: string }>;
  readonly digestNodes?: ReadonlyArray<{ readonly path: string; readonly sha256: string; readonly node: string }>;
}

/** Locks `b` (the row; the caller saves it). */
export function lockRow(b: RawBaseline, by: 'operator' | 'node', name: string, now: number): void {
  b.state = 'locked';
  b.locked_by = by;
  b.locked_detail = name;
  b.locked_at = now;
}

/** `rows` grouped by `keyOf`, each group in the rows' order. */
export function groupBy<T, K>(rows: readonly T[], keyOf: (r: T) => K): Map<K, T[]> {
  const out = new Map<K, T[]>();
  for (const r of rows) {
    const k = keyOf(r);
    const list = out.get(k);
    if (list) list.push(r);
    else out.set(k, [r]);
  }
  return out;
}

/** What an agent is sent of `b`. */
export function toSyncEntry(b: RawBaseline, p: BaselineParts): SyncEntry {
  const digests = groupBy(p.digests, (d) => d.path);
  const listens = p.listens ?? [];
  return {
    key: b.key, version: b.version, state: b.state, lockedBy: b.locked_by, unlockVersion: b.unlock_version,
    items: p.items.map((i) => ({
      path: i.path, source: i.source, firstSeen: i.first_seen, anyContent: i.any_content === 1, inlineCode: i.inline_code === 1,
      digests: (digests.get(i.path) ?? []).map((d) => ({ sha256: d.sha256, source: d.source, image: d.image, firstSeen: d.first_seen })),
    })),
    removed: p.removed.map((r) => r.path),
    listens: listens.map((l) => l.listen),
    operatorListens: listens.filter((l) => l.source === 'operator').map((l) => l.listen),
  };
}

/** What the API shows of `b`. */
export function toCentralBaseline(b: RawBaseline, p: BaselineParts): CentralBaseline {
  const taught = groupBy(p.taught ?? [], (t) => t.path);
  const digestTaught = groupBy(p.digestNodes ?? [], (t) => `${t.sha256}:${t.path}`);
  const digests = groupBy(p.digests, (d) => d.path);
  return {
    key: b.key, namespace: b.namespace, workload: b.workload ? { kind: b.workload_kind, name: b.workload } : null,
    container: b.container, state: b.state, lockedBy: b.locked_by, lockedByName: b.locked_detail,
    lockedAt: b.locked_at === null ? null : iso(b.locked_at), version: b.version, createdAt: iso(b.created_at),
    updatedAt: iso(b.updated_at),
    items: p.items.map((i) => ({
      path: i.path, source: i.source, addedBy: i.added_by, firstSeen: iso(i.first_seen), lastSeen: iso(i.last_seen),
      taughtBy: (taught.get(i.path) ?? []).map((t) => t.node), singleNode: i.nodes === 1, anyContent: i.any_content === 1,
      inlineCode: i.inline_code === 1,
      digests: (digests.get(i.path) ?? []).map((d) => ({
        sha256: d.sha256, source: d.source, image: d.image, addedBy: d.added_by, firstSeen: iso(d.first_seen),
        lastSeen: iso(d.last_seen), taughtBy: (digestTaught.get(`${d.sha256}:${d.path}`) ?? []).map((t) => t.node),
      })),
    })),
    removed: p.removed.map((r) => ({ path: r.path, removedBy: r.removed_by, removedAt: iso(r.removed_at) })),
    itemsDropped: b.items_dropped, chargedTo: b.charged_to,
  };
}

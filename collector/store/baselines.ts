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
//             Once locked, no node's report adds items, except those that were on their way
//             at a node's lock (below); after an operator's lock, none.
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
// Contents (issue 14). An item is a path plus the contents (SHA-256) that ran there and belong
// to the baseline, at most ITEM_DIGEST_LIMITS.perItem (8, the wire's bound) each, with how each
// joined (learned, startup, operator, package, image, first-sight), the image it ran in and the
// nodes that taught it (bounded like the items' nodes). An item an operator allowed with any
// content (any_content) has its contents not judged. Items from before contents existed have
// none: agents learn their first content on first sight and report it (first-sight).
// A node's contents merge under the items' trust rules, not wider ones:
//   - only the collector's own allows make `operator` contents (a node's are not merged), and
//     a node's any_content is never merged either;
//   - a learning baseline takes every content of an item it holds (or takes in the same report);
//   - a locked baseline takes a new content only (a) for an item it already held before the
//     report, when the content's source is package, image or first-sight (the agent judged it
//     an upgrade, a new image, or the first content of an item that predates contents), or
//     (b) by the items' on-its-way rule (below); a content learned after the lock, on a path
//     new to the baseline, or claimed by an operator never joins.
//   - what the rules turn away is counted (digests_refused), and contents beyond the bound per
//     item are dropped and counted (digests_dropped); an operator's allow makes room by
//     replacing the content seen least recently that no operator allowed.
// On its way at a node's lock. Agents report what they learn within a second (their reports
// are debounced), so what a node learned just before another node's report locked the
// baseline can reach the collector just after. Such an item (or content) joins the locked
// baseline when the collector received it within LOCK_IN_FLIGHT_MS of the lock, both times by
// the collector's clock. A node's own first_seen can narrow that (learned after the lock, by
// its own account: refused) but never widen it: a node that backdates first_seen after the
// window adds nothing. (Before migration 014 a node's first_seen alone decided, so a node
// could backdate an item into a locked baseline at any time.) What a node learned before
// the lock but brings only later (it was offline across the lock) does not join: it stays in
// that node's own baseline, and another node that runs it reports it as unexpected, for an
// operator to allow. Items refused by a locked baseline are counted (items_refused).
// Contents joining a locked baseline do not change its version and are not pushed at once: a
// node that meets a new content judges it itself (package database, image); the contents go
// out with the baseline's next adoption (a new node's catch-up, a lock, an operator's change).
//
// Listens (issue 20, docs/exposure.md). What a baseline's processes listened on while it
// learned (`tcp/0.0.0.0:8080`), at most MAX_LISTENS_PER_BASELINE, each with the node that
// first reported it. Nodes' listens merge under the items' rules: a learning baseline takes
// them, a locked one only those on their way at a node's lock (counted listens_refused when
// not); past the bound they are dropped (listens_dropped). Listens joining a locked baseline
// change its version and are pushed like items. An operator may allow a listen, literal or an
// address class's (`tcp/private:9090`, proto/listen-item.ts): source `operator`, pushed at once.
// Agents get the whole set when they adopt the baseline, and the operators' listens when
// they catch up with a learning one.
//
// Host baselines are kept per node role, `host/control-plane` and `host/worker`, like any two
// keys; the legacy `host` of older agents is stored as it comes. Which agent is sent which host
// baseline is decided where the streams are (ingest/agent-service.ts, by the node's Hello):
// only its own, so a worker never adopts what control-plane nodes taught.
import type { Synchronous } from './synchronous.js';
import { parseWorkloadKey } from '../../proto/baseline-key.js';
import { ITEM_DIGEST_LIMITS, type DigestSource } from '../../proto/exec-identity.js';
import type { Db } from './db.js';
import { StoreError } from './boundary/errors.js';
import { decodeCursor, encodeCursor, type Page } from './paging.js';
import { isoTime } from './time.js';
import { lockRow, toCentralBaseline, toSyncEntry, type BaselineParts, type RawBaseline, type RawDigest, type RawItem, type RawListen } from './baseline-rows.js';
import {
  BASELINE_LIMITS, LOCK_IN_FLIGHT_MS, type AllowedContents, type BaselineAction, type BaselineFilter, type BaselineStore, type CentralBaseline,
  type CentralState, type ChangeOutcome, type ContentToAllow, type ItemSource, type NodeBaselineCleanup, type ReportedBaseline, type ReportedDigest,
  type ReportOutcome, type ReportQuota, type SyncEntry, type BaselineListen, MAX_LISTENS_PER_BASELINE,
} from './boundary/baselines.js';

/** Sources of contents a locked baseline takes for an item it holds: the agent judged them (see the header). */
const JUDGED_BY_AGENT: ReadonlySet<DigestSource> = new Set(['package', 'image', 'first-sight']);

const iso = isoTime;

export function createBaselineStore(db: Db): Synchronous<BaselineStore> {
  const s = {
    byKey: db.prepare<[string], RawBaseline>('SELECT * FROM baselines WHERE key = ?'),
    count: db.prepare<[], { n: number }>('SELECT count(*) AS n FROM baselines'),
    insert: db.prepare<[{ key: string; namespace: string; kind: string; workload: string; container: string; now: number; charged: string }], RawBaseline>(`INSERT INTO baselines
        (key, namespace, workload_kind, workload, container, state, created_at, updated_at, charged_to)
      VALUES (@key, @namespace, @kind, @workload, @container, 'learning', @now, @now, @charged) RETURNING *`),
    charged: db.prepare<[string], { n: number }>('SELECT count(*) AS n FROM baselines WHERE charged_to = ?'),
    deleteKey: db.prepare('DELETE FROM baselines WHERE key = ?'),
    listenCount: db.prepare<[number], { n: number }>('SELECT count(*) AS n FROM baseline_listens WHERE baseline = ?'),
    seenListen: db.prepare('UPDATE baseline_listens SET last_seen = max(last_seen, ?) WHERE baseline = ? AND listen = ?'),
    insertListen: db.prepare("INSERT INTO baseline_listens (baseline, listen, first_node, first_seen, last_seen, source) VALUES (?, ?, ?, ?, ?, 'learned')"),
    // An operator's allow: a listen a node taught becomes the operator's.
    operatorListen: db.prepare(`INSERT INTO baseline_listens (baseline, listen, first_node, first_seen, last_seen, source) VALUES (?, ?, ?, ?, ?, 'operator')
      ON CONFLICT (baseline, listen) DO UPDATE SET source = 'operator', first_node = excluded.first_node`),
    listensOf: db.prepare<[string], RawListen>(`SELECT l.listen, l.first_node, l.first_seen, l.last_seen, l.source
      FROM baseline_listens l JOIN baselines b ON b.seq = l.baseline WHERE b.key = ? ORDER BY l.listen`),
    listensOfSeq: db.prepare<[number], RawListen>('SELECT listen, first_node, first_seen, last_seen, source FROM baseline_listens WHERE baseline = ? ORDER BY listen'),
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
    isAllowed: db.prepare<[string, string], { seq: number; source: ItemSource; state: CentralState; any_content: number }>(`SELECT b.seq, i.source, b.state, i.any_content
      FROM baselines b JOIN baseline_items i ON i.baseline = b.seq WHERE b.key = ? AND i.path = ?`),
    anyContent: db.prepare('UPDATE baseline_items SET any_content = 1 WHERE baseline = ? AND path = ?'),
    inlineCode: db.prepare('UPDATE baseline_items SET inline_code = 1 WHERE baseline = ? AND path = ? AND inline_code = 0'),
    digests: db.prepare<[number], RawDigest>('SELECT * FROM baseline_item_digests WHERE baseline = ? ORDER BY path, first_seen, sha256'),
    itemDigests: db.prepare<[number, string], { sha256: string }>('SELECT sha256 FROM baseline_item_digests WHERE baseline = ? AND path = ? ORDER BY first_seen, sha256'),
    digest: db.prepare<[number, string, string], RawDigest>('SELECT * FROM baseline_item_digests WHERE baseline = ? AND path = ? AND sha256 = ?'),
    digestCount: db.prepare<[number, string], { n: number }>('SELECT count(*) AS n FROM baseline_item_digests WHERE baseline = ? AND path = ?'),
    insertDigest: db.prepare(`INSERT INTO baseline_item_digests (baseline, path, sha256, source, image, added_by, first_seen, last_seen, nodes)
      VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`),
    seenDigest: db.prepare(`UPDATE baseline_item_digests SET first_seen = min(first_seen, ?), last_seen = max(last_seen, ?), nodes = nodes + ?
      WHERE baseline = ? AND path = ? AND sha256 = ?`),
    operatorDigest: db.prepare("UPDATE baseline_item_digests SET source = 'operator', added_by = ? WHERE baseline = ? AND path = ? AND sha256 = ?"),
    // Room for an operator's content: the one seen least recently that no operator allowed.
    evictDigest: db.prepare(`DELETE FROM baseline_item_digests WHERE baseline = @baseline AND path = @path AND sha256 = (
      SELECT sha256 FROM baseline_item_digests WHERE baseline = @baseline AND path = @path AND source <> 'operator'
      ORDER BY last_seen, first_seen, sha256 LIMIT 1)`),
    seenDigestNode: db.prepare('UPDATE baseline_digest_nodes SET last_seen = ? WHERE baseline = ? AND path = ? AND sha256 = ? AND node = ?'),
    insertDigestNode: db.prepare(`INSERT INTO baseline_digest_nodes (baseline, path, sha256, node, first_seen, last_seen)
      VALUES (?, ?, ?, ?, ?, ?)`),
    digestNodes: db.prepare<[number], { path: string; sha256: string; node: string }>(`SELECT path, sha256, node FROM baseline_digest_nodes
      WHERE baseline = ? ORDER BY path, sha256, first_seen, node`),
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

  /** The rows under `b`; with `central`, also who taught its items and contents (the API's view). */
  function partsOf(b: RawBaseline, central: boolean): BaselineParts {
    return {
      items: s.items.all(b.seq), removed: s.removed.all(b.seq), digests: s.digests.all(b.seq),
      ...(central ? { taught: s.taught.all(b.seq), digestNodes: s.digestNodes.all(b.seq) } : { listens: s.listensOfSeq.all(b.seq) }),
    };
  }

  interface ListenCounts { added: number; dropped: number; refused: number }

  /**
   * A node's listens of `b` merged (the header's rules for items): a learning baseline takes
   * them, a locked one only those on their way at a node's lock; past the bound they are
   * dropped. Returns how many joined.
   */
  function mergeListens(b: RawBaseline, listens: readonly string[], node: string, now: number, n: ListenCounts): number {
    let count = listens.length > 0 ? s.listenCount.get(b.seq)!.n : 0;
    let added = 0;
    for (const listen of listens) {
      if (s.seenListen.run(now, b.seq, listen).changes > 0) continue;
      if (b.state === 'locked' && !onItsWay(b, now, now)) {
        n.refused++;
        continue;
      }
      if (count >= MAX_LISTENS_PER_BASELINE) {
        n.dropped++;
        continue;
      }
      s.insertListen.run(b.seq, listen, node, now, now);
      count++;
      added++;
    }
    n.added += added;
    return added;
  }

  /** `node` taught `path` (already an item): recorded, within the bound on nodes per item. */
  function taughtBy(b: RawBaseline, item: RawItem, node: string, firstSeen: number, now: number): void {
    const known = s.seenTaught.run(now, b.seq, item.path, node).changes > 0;
    const add = !known && item.nodes < BASELINE_LIMITS.nodesPerItem;
    if (add) s.insertTaught.run(b.seq, item.path, node, now, now);
    s.seenItem.run(firstSeen, now, add ? 1 : 0, b.seq, item.path);
  }

  /** `node` taught the content `d` of `path` (already stored): recorded like an item's. */
  function digestTaughtBy(b: RawBaseline, d: RawDigest, node: string, firstSeen: number, now: number): void {
    const known = s.seenDigestNode.run(now, b.seq, d.path, d.sha256, node).changes > 0;
    const add = !known && d.nodes < BASELINE_LIMITS.nodesPerItem;
    if (add) s.insertDigestNode.run(b.seq, d.path, d.sha256, node, now, now);
    s.seenDigest.run(firstSeen, now, add ? 1 : 0, b.seq, d.path, d.sha256);
  }

  /**
   * Whether something new to the locked `b`, received `now`, was on its way at a node's lock
   * (the header): received within LOCK_IN_FLIGHT_MS of the lock, by the collector's clock; the
   * node's `firstSeen` can only refuse it (after the lock by the node's own account).
   */
  function onItsWay(b: RawBaseline, firstSeen: number, now: number): boolean {
    return b.state === 'locked' && b.locked_by === 'node' && b.locked_at !== null
      && now - b.locked_at <= LOCK_IN_FLIGHT_MS && firstSeen <= b.locked_at;
  }

  /** Whether a node's new content of `path` joins `b` (the header's rules); `held`: the item was there before the report. */
  function digestJoins(b: RawBaseline, held: boolean, d: ReportedDigest, firstSeen: number, now: number): boolean {
    if (d.source === 'operator') return false;
    if (b.state === 'learning') return true;
    if (held && JUDGED_BY_AGENT.has(d.source)) return true;
    return onItsWay(b, firstSeen, now);
  }

  interface DigestCounts { added: number; dropped: number; refused: number }

  /** A node's contents of `path` (an item of `b` now), merged; `held`: the item was there before the report. */
  function mergeDigests(b: RawBaseline, path: string, held: boolean, digests: readonly ReportedDigest[], node: string, now: number, n: DigestCounts): void {
    for (const d of digests) {
      if (d.source === 'operator') continue; // only the collector's own allows make those
      const firstSeen = d.firstSeen || now;
      const cur = s.digest.get(b.seq, path, d.sha256);
      if (cur) {
        digestTaughtBy(b, cur, node, firstSeen, now);
        continue;
      }
      if (!digestJoins(b, held, d, firstSeen, now)) {
        n.refused++;
        continue;
      }
      if (s.digestCount.get(b.seq, path)!.n >= ITEM_DIGEST_LIMITS.perItem) {
        n.dropped++;
        continue;
      }
      s.insertDigest.run(b.seq, path, d.sha256, d.source, d.image, node, firstSeen, now, 1);
      s.insertDigestNode.run(b.seq, path, d.sha256, node, now, now);
      n.added++;
    }
  }

  /** An operator allows `sha256` at `path`: made an operator's content, with room made for it. */
  function operatorDigest(b: RawBaseline, path: string, sha256: string, by: string, now: number): void {
    if (s.operatorDigest.run(by, b.seq, path, sha256).changes > 0) return;
    if (s.digestCount.get(b.seq, path)!.n >= ITEM_DIGEST_LIMITS.perItem) {
      if (s.evictDigest.run({ baseline: b.seq, path }).changes === 0) {
        throw new StoreError('BASELINE_LIMIT', `${path} in ${b.key} holds ${ITEM_DIGEST_LIMITS.perItem} contents operators allowed, its limit: remove it and allow it again, or allow it with any content`);
      }
      s.bump.run(1, 'digests_dropped');
    }
    s.insertDigest.run(b.seq, path, sha256, 'operator', '', by, now, now, 0);
  }

  return {
    /** The baseline's listen set, by listen. */
    listens(key: string): BaselineListen[] {
      return s.listensOf.all(key).map((r) => ({ listen: r.listen, source: r.source, firstNode: r.first_node, firstSeen: iso(r.first_seen), lastSeen: iso(r.last_seen) }));
    },

    /**
     * An operator allows a listen (literal or an address class's) for `key`; one transaction.
     * Creates the baseline when there is none; a listen a node taught becomes the operator's.
     * Throws StoreError BASELINE_LIMIT when there is no room for the baseline or the listen.
     */
    allowListen(key: string, listen: string, by: string, now: number): ChangeOutcome {
      return db.transaction((): ChangeOutcome => {
        const b = ensure(key, now);
        if (!b) throw new StoreError('BASELINE_LIMIT', `the collector holds ${BASELINE_LIMITS.keys + BASELINE_LIMITS.operatorKeys} baselines, its limit; ${key} is not one of them (delete some: POST /api/v1/baselines/delete)`);
        const held = s.listensOfSeq.all(b.seq).some((l) => l.listen === listen);
        if (!held && s.listenCount.get(b.seq)!.n >= MAX_LISTENS_PER_BASELINE) {
          throw new StoreError('BASELINE_LIMIT', `${key} holds ${MAX_LISTENS_PER_BASELINE} listens, its limit`);
        }
        s.operatorListen.run(b.seq, listen, by, now, now);
        b.version = nextVersion();
        b.updated_at = now;
        save(b);
        return { version: b.version, paths: [] };
      }).immediate();
    },

    /**
     * Merges one node's report; one transaction. A baseline the report would create is
     * refused (counted) when the collector holds BASELINE_LIMITS.keys, or when the quota does
     * not vouch for it and the node is at its own limit.
     */
    applyReport(node: string, baselines: readonly ReportedBaseline[], now: number, quota?: ReportQuota): ReportOutcome {
      return db.transaction((): ReportOutcome => {
        const out = {
          adoptAll: [] as string[], allowed: [] as Array<{ key: string; paths: string[] }>, behind: [] as string[],
          itemsAdded: 0, itemsDropped: 0, itemsRefused: 0, keysDropped: 0, keysOverNodeLimit: 0,
        };
        const digests: DigestCounts = { added: 0, dropped: 0, refused: 0 };
        const listens: ListenCounts = { added: 0, dropped: 0, refused: 0 };
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
          const digestsBefore = digests.added;
          let inlineAdded = 0;
          for (const item of rb.items) {
            if (removed.has(item.path)) continue;
            const firstSeen = item.firstSeen || now;
            const cur = s.item.get(b.seq, item.path);
            if (cur) {
              // An operator's item a node holds was not taught by it.
              if (item.source !== 'operator') taughtBy(b, cur, node, firstSeen, now);
              mergeDigests(b, item.path, true, item.digests ?? [], node, now, digests);
              // Inline code joins as items do: while the central baseline learns (a node cannot
              // widen a locked one).
              if (item.inlineCode && b.state === 'learning' && s.inlineCode.run(b.seq, item.path).changes > 0) inlineAdded++;
              continue;
            }
            if (item.source === 'operator') continue; // only the collector's own allows make those
            if (b.state === 'locked' && !onItsWay(b, firstSeen, now)) {
              out.itemsRefused++;
              continue;
            }
            if (b.items >= BASELINE_LIMITS.itemsPerKey) {
              b.items_dropped++;
              out.itemsDropped++;
              continue;
            }
            s.insertItem.run(b.seq, item.path, item.source, node, firstSeen, now, 1);
            s.insertTaught.run(b.seq, item.path, node, now, now);
            b.items++;
            added.push(item.path);
            mergeDigests(b, item.path, false, item.digests ?? [], node, now, digests);
            if (item.inlineCode) s.inlineCode.run(b.seq, item.path);
          }
          out.itemsAdded += added.length;
          const listensAdded = mergeListens(b, rb.listens ?? [], node, now, listens);
          const wasLearning = b.state === 'learning';
          if (rb.state === 'locked' && wasLearning && rb.version >= b.unlock_version) {
            lockRow(b, 'node', node, now);
            b.version = nextVersion();
            out.adoptAll.push(b.key);
            out.allowed.push({ key: b.key, paths: s.items.all(b.seq).map((i) => i.path) });
          } else if (!wasLearning && added.length + listensAdded > 0) {
            b.version = nextVersion();
            out.adoptAll.push(b.key);
            out.allowed.push({ key: b.key, paths: added });
          } else if (rb.version < b.version) {
            out.behind.push(b.key);
          }
          if (added.length > 0 || listensAdded > 0 || inlineAdded > 0 || digests.added > digestsBefore || out.adoptAll.at(-1) === b.key) b.updated_at = now;
          save(b);
        }
        if (out.itemsDropped > 0) s.bump.run(out.itemsDropped, 'items_dropped');
        if (out.itemsRefused > 0) s.bump.run(out.itemsRefused, 'items_refused');
        if (digests.dropped > 0) s.bump.run(digests.dropped, 'digests_dropped');
        if (digests.refused > 0) s.bump.run(digests.refused, 'digests_refused');
        if (out.keysDropped > 0) s.bump.run(out.keysDropped, 'keys_dropped');
        if (out.keysOverNodeLimit > 0) s.bump.run(out.keysOverNodeLimit, 'keys_over_node_limit');
        if (listens.dropped > 0) s.bump.run(listens.dropped, 'listens_dropped');
        if (listens.refused > 0) s.bump.run(listens.refused, 'listens_refused');
        return {
          ...out, digestsAdded: digests.added, digestsDropped: digests.dropped, digestsRefused: digests.refused,
          listensAdded: listens.added, listensDropped: listens.dropped, listensRefused: listens.refused,
        };
      }).immediate();
    },

    /**
     * An operator's change; one transaction. Creates the baseline when there is none.
     * Throws StoreError BASELINE_LIMIT when there is no room for it or its new items.
     * An allow allows `content` of each executable (default: any content): its contents join
     * as the operator's, or the item is marked any-content. An allow never narrows: an item
     * allowed with any content stays so (remove it and allow it again to narrow it).
     */
    change(action: BaselineAction, key: string, paths: readonly string[], by: string, now: number,
      content: ContentToAllow = { anyContent: true, digests: new Map() }): ChangeOutcome {
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
            if (content.anyContent) s.anyContent.run(b.seq, p);
            for (const d of new Set(content.digests.get(p) ?? [])) operatorDigest(b, p, d, by, now);
          }
          b.items += fresh.length;
        } else if (action === 'remove') {
          for (const p of paths) {
            if (s.deleteItem.run(b.seq, p).changes > 0) b.items--;
            s.remove.run(b.seq, p, by, now);
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
      return b ? toCentralBaseline(b, partsOf(b, true)) : undefined;
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
      return { items: page.map((b) => toCentralBaseline(b, partsOf(b, true))), nextCursor: more && last ? encodeCursor(last.seq) : null };
    },

    /** What an agent needs to catch up with `key`. */
    sync(key: string): SyncEntry | undefined {
      const b = s.byKey.get(key);
      return b ? toSyncEntry(b, partsOf(b, false)) : undefined;
    },

    /** Baselines changed after `version` (oldest change first), except unattributed container keys. */
    changedSince(version: number, limit: number): SyncEntry[] {
      return s.since.all(version, limit).map((b) => toSyncEntry(b, partsOf(b, false)));
    },

    /** The executable is allowed for the key cluster-wide: by an operator, or in a locked baseline. */
    isAllowed(key: string, path: string): boolean {
      const r = s.isAllowed.get(key, path);
      return r !== undefined && (r.source === 'operator' || r.state === 'locked');
    },

    /**
     * What of the executable is allowed for the key cluster-wide (by an operator, or in a locked
     * baseline): any content, or these contents (none: the item predates contents). Undefined
     * when the executable is not allowed.
     */
    allowedContents(key: string, path: string): AllowedContents | undefined {
      const r = s.isAllowed.get(key, path);
      if (r === undefined || !(r.source === 'operator' || r.state === 'locked')) return undefined;
      return { anyContent: r.any_content === 1, digests: s.itemDigests.all(r.seq, path).map((d) => d.sha256) };
    },

    /** An agent has applied versions up to `version`: new changes must be numbered above it. */
    raiseVersion(version: number): void {
      s.raiseVersion.run(version);
    },

    counters() {
      const m = Object.fromEntries(s.meta.all().map((r) => [r.name, r.value]));
      return {
        version: m.version ?? 0, keys: s.count.get()!.n, keysDropped: m.keys_dropped ?? 0,
        keysOverNodeLimit: m.keys_over_node_limit ?? 0, itemsDropped: m.items_dropped ?? 0, itemsRefused: m.items_refused ?? 0,
        digestsDropped: m.digests_dropped ?? 0, digestsRefused: m.digests_refused ?? 0,
        listensDropped: m.listens_dropped ?? 0, listensRefused: m.listens_refused ?? 0,
      };
    },
  };
}

// Node inventory on PostgreSQL: the implementation of NodeStore (boundary/nodes.ts) over `Sql`.
// The SQLite one (store/nodes.ts) is the specification; rows are turned into what the API
// shows by the same functions (nodeRowOf, clusterOnlyRow, mergeSorted), so the two backends
// answer alike. What differs is SQL only:
//   - every order a page or a cursor depends on compares text as bytes (COLLATE "C"), as
//     SQLite does, whatever the database's collation;
//   - the certificates are jsonb (their earliest expiry from jsonb_array_elements; a path's NUL
//     or lone surrogate half stored as U+FFFD, pg/jsonb.ts); the
//     exposure document is text, read with the `json` type's operators, comparing each value
//     as its own JSON text; a document holding an escaped NUL or lone surrogate half (which no
//     PostgreSQL text holds, and which the server's JSON functions refuse) is read in
//     JavaScript instead, so one agent's hostile text hurts no other node's read;
//   - writes are single statements (an upsert, counters added in place, a delete of a node
//     and what hangs off it as one statement), so replicas writing the same node at once lose
//     nothing and wait on at most one row lock.
import { AGENT_MISSING_CHECK } from '../../../proto/collector-checks.js';
import {
  encodeNodeCursor, type AgentFigures, type AgentMissingView, type BaselineKeysRefused, type ExposureClass, type NodeCursor, type NodeExposure,
  type NodeFilter, type NodeHello, type NodeRow, type NodeStats, type NodeStore,
} from '../boundary/nodes.js';
import {
  agentMissingOf, byExpiryKey, byNameKey, certificatesText, clusterOnlyRow, mergeSorted, nodeRowOf, SELF_CHECK,
  type Listed, type RawClusterOnly, type RawFigures, type RawMissing, type RawNode,
} from '../nodes.js';
import { pageOf, type Page } from '../paging.js';
import { isoTime } from '../time.js';
import { jsonbText } from './jsonb.js';
import type { Sql } from './sql.js';

/** A row as read: the certificates as their JSON text (what nodeRowOf reads), beside the jsonb value. */
type PgRawNode = Omit<RawNode, 'certificates'> & { certificates: unknown; certificates_text: string };

const HELLO = `INSERT INTO nodes (name, agent_version, epoch, os, kernel, arch, kubelet_version, cpus, memory_bytes,
    uptime_seconds, certificates, connected, first_seen, last_seen)
  VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11::jsonb, 1, $12, $12)
  ON CONFLICT (name) DO UPDATE SET agent_version = excluded.agent_version, epoch = excluded.epoch, os = excluded.os,
    kernel = excluded.kernel, arch = excluded.arch, kubelet_version = excluded.kubelet_version, cpus = excluded.cpus,
    memory_bytes = excluded.memory_bytes, uptime_seconds = excluded.uptime_seconds,
    certificates = excluded.certificates, connected = 1, last_seen = excluded.last_seen`;

/** The columns a stats message sets, and the NodeStats field of each. */
const STATS_COLUMNS: ReadonlyArray<readonly [string, keyof NodeStats]> = [
  ['spool_entries', 'spoolEntries'], ['spool_bytes', 'spoolBytes'], ['spool_dropped', 'spoolDropped'], ['agent_rejected', 'rejected'],
  ['exec_coverage', 'execCoverage'], ['process_events_capped', 'processEventsCapped'], ['process_events_lost', 'processEventsLost'],
  ['exec_events_lost', 'execEventsLost'], ['exec_records_partial', 'execRecordsPartial'], ['exec_source', 'execSource'],
  ['exec_source_reason', 'execSourceReason'], ['exec_ring_lost', 'execRingLost'], ['exec_unjudged', 'execUnjudged'],
  ['exec_fake_container', 'execFakeContainer'], ['exec_host_namespace', 'execHostNamespace'], ['exec_batches', 'execBatches'],
  ['host_documents_refused', 'hostDocumentsRefused'], ['host_document_refused_path', 'hostDocumentRefusedPath'],
  ['host_document_refused_reason', 'hostDocumentRefusedReason'], ['exec_identity_failed', 'execIdentityFailed'],
  ['exec_identity_failed_reason', 'execIdentityFailedReason'], ['exec_events', 'execEvents'], ['last_scan_duration_ms', 'lastScanDurationMs'],
  ['exposure_walk_pid_limit_hits', 'exposureWalkPidLimitHits'], ['exposure_walk_time_limit_hits', 'exposureWalkTimeLimitHits'],
  ['exposure_walk_fd_limit_hits', 'exposureWalkFdLimitHits'], ['exposure_walk_unreadable', 'exposureWalkUnreadable'],
  ['exposure_rows_refused', 'exposureRowsRefused'], ['exposure_listeners_dropped', 'exposureListenersDropped'],
  ['exposure_native_reader', 'exposureNativeReader'],
  ['baseline_items_dropped', 'baselineItemsDropped'], ['baseline_keys_evicted', 'baselineKeysEvicted'], ['baseline_report_dropped', 'baselineReportDropped'],
];

/** $1: the node, $2: now, then the stats columns in STATS_COLUMNS' order. */
const STATS = `UPDATE nodes SET ${STATS_COLUMNS.map(([c], i) => `${c} = $${i + 3}`).join(', ')}, last_seen = $2 WHERE name = $1`;

const statsParams = (node: string, st: NodeStats, now: number): unknown[] =>
  [node, now, ...STATS_COLUMNS.map(([, k]) => (k === 'exposureNativeReader' ? (st.exposureNativeReader ? 1 : 0) : st[k]))];

const REPORT_REFUSED = 'UPDATE nodes SET baseline_reports_refused = baseline_reports_refused + 1 WHERE name = $1';
const KEYS_REFUSED = `UPDATE nodes SET baseline_keys_not_on_node = baseline_keys_not_on_node + $2,
    baseline_keys_over_node_limit = baseline_keys_over_node_limit + $3,
    baseline_keys_central_full = baseline_keys_central_full + $4 WHERE name = $1`;

/** The node and its latest results, idempotency records and exposure, in one statement (so one transaction). */
const DELETE_NODE = `WITH results AS (DELETE FROM node_results WHERE node = $1),
    received AS (DELETE FROM received WHERE node = $1),
    exposure AS (DELETE FROM node_exposure WHERE node = $1)
  DELETE FROM nodes WHERE name = $1`;

const SET_EXPOSURE = `INSERT INTO node_exposure (node, scanned_at, exposure) VALUES ($1, $2, $3)
  ON CONFLICT (node) DO UPDATE SET scanned_at = excluded.scanned_at, exposure = excluded.exposure
  WHERE excluded.scanned_at >= node_exposure.scanned_at`;
const GET_EXPOSURE = 'SELECT scanned_at, exposure FROM node_exposure WHERE node = $1';

/**
 * A baseline's listeners on one protocol and port, on every node's latest scan. The values are
 * compared and returned as their JSON text (the stored document was written by JSON.stringify,
 * so equal values have equal text). The server's JSON functions refuse a document holding an
 * escape no PostgreSQL text can hold (NUL, a lone surrogate half) when they walk it, so those
 * documents (an agent's hostile text; rare) are fetched by BASELINE_LISTENERS_ODD and read by listenersIn.
 */
const ODD_ESCAPE = String.raw`'\\u(0000|d[89a-f])'`;
const BASELINE_LISTENERS = `SELECT DISTINCT (l.value -> 'address')::text AS address, (l.value -> 'addressClass')::text AS class
  FROM node_exposure e, json_array_elements(CASE WHEN json_typeof(e.exposure::json -> 'listeners') = 'array'
    THEN e.exposure::json -> 'listeners' ELSE '[]'::json END) l
  WHERE NOT (e.exposure ~* ${ODD_ESCAPE})
    AND (l.value -> 'baseline')::text = $1 AND (l.value -> 'protocol')::text = $2 AND (l.value -> 'port')::text = $3`;
const BASELINE_LISTENERS_ODD = `SELECT exposure FROM node_exposure WHERE exposure ~* ${ODD_ESCAPE}`;

/** What SQLite's json_extract comparisons find in one document: the listeners' (address, class) of the baseline, protocol and port. */
function listenersIn(text: string, key: string, protocol: string, port: number): Array<[unknown, unknown]> {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch {
    return [];
  }
  const listeners = (doc as { listeners?: unknown } | null)?.listeners;
  if (!Array.isArray(listeners)) return [];
  return listeners.filter((l): l is Record<string, unknown> => typeof l === 'object' && l !== null)
    .filter((l) => l.baseline === key && l.protocol === protocol && l.port === port)
    .map((l) => [l.address ?? null, l.addressClass ?? null]);
}

const TOUCH = 'UPDATE nodes SET last_seen = $2 WHERE name = $1';
const SET_CONNECTED = 'UPDATE nodes SET connected = $2 WHERE name = $1';
const ALL_DISCONNECTED = 'UPDATE nodes SET connected = 0 WHERE connected <> 0';

/** A node's results by status, as the JSON text [pass, fail, warn, skip, error]; the agent's judgement of itself ($1) left out. */
const RESULTS = `(SELECT json_build_array(count(*) FILTER (WHERE r.status = 'pass'), count(*) FILTER (WHERE r.status = 'fail'),
      count(*) FILTER (WHERE r.status = 'warn'), count(*) FILTER (WHERE r.status = 'skip'), count(*) FILTER (WHERE r.status = 'error'))::text
    FROM node_results r WHERE r.node = n.name AND r.check_id <> $1) AS results`;

const CLUSTER = 'cn.name AS c_name, cn.ready AS c_ready, cn.agent_expected AS c_expected, cn.reason AS c_reason, cn.first_seen AS c_first_seen';

const OPEN_FINDINGS = "coalesce((SELECT c.total FROM node_counts c WHERE c.state = 'open' AND c.node = n.name), 0) AS open_findings";

/** $1: the check left out of the results. */
const SELECT = `SELECT n.*, n.certificates::text AS certificates_text, ${OPEN_FINDINGS}, ${RESULTS}, ${CLUSTER}
  FROM nodes n LEFT JOIN cluster_nodes cn ON cn.name = n.name`;

/** Each node's earliest notAfter (RFC 3339 texts of one form compare as times, byte by byte). */
const CERT_EXPIRY = `(SELECT min((j.value ->> 'notAfter') COLLATE "C")
    FROM jsonb_array_elements(CASE WHEN jsonb_typeof(n.certificates) = 'array' THEN n.certificates ELSE '[]'::jsonb END) j) AS cert_expiry`;

const SELECT_BY_EXPIRY = `SELECT * FROM (SELECT n.*, n.certificates::text AS certificates_text, ${OPEN_FINDINGS}, ${RESULTS}, ${CERT_EXPIRY}, ${CLUSTER}
  FROM nodes n LEFT JOIN cluster_nodes cn ON cn.name = n.name) n`;

const GET = `${SELECT} WHERE n.name = $2`;

/** Nodes of the cluster no agent has reported (no inventory row). */
const SELECT_CLUSTER_ONLY = 'SELECT n.* FROM cluster_nodes n WHERE NOT EXISTS (SELECT 1 FROM nodes a WHERE a.name = n.name)';
const GET_CLUSTER_ONLY = `${SELECT_CLUSTER_ONLY} AND n.name = $1`;
const CLUSTER_ONLY_AFTER = `${SELECT_CLUSTER_ONLY} AND n.name > $1 COLLATE "C" ORDER BY n.name COLLATE "C" LIMIT $2`;

/** The open and suppressed agent-missing findings of these nodes (the findings_check index). */
const AGENT_MISSING_OF = `SELECT node, id, state, detail -> 'since' AS since, reason FROM findings
  WHERE check_id = $1 AND state IN ('open', 'suppressed') AND node = ANY($2::text[])`;

const MAX_DROPS = Number.MAX_SAFE_INTEGER;
const AGENT_FIGURES = `SELECT name AS node, exec_source AS "execSource", exec_events_lost AS "execEventsLost",
    least(spool_dropped + agent_rejected + process_events_lost + exec_events_lost + exec_unjudged + baseline_items_dropped
      + baseline_keys_evicted + baseline_report_dropped, ${MAX_DROPS}) AS drops,
    spool_entries AS "spoolEntries", spool_bytes AS "spoolBytes", spool_dropped AS "spoolDropped",
    exec_identity_failed AS "identityFailed", exec_events AS "execEvents", last_scan_duration_ms AS "lastScanDurationMs",
    exposure_walk_pid_limit_hits AS "walkPidLimitHits", exposure_walk_time_limit_hits AS "walkTimeLimitHits",
    exposure_walk_fd_limit_hits AS "walkFdLimitHits", exposure_walk_unreadable AS "walkUnreadable", exposure_rows_refused AS "rowsRefused",
    exposure_listeners_dropped AS "listenersDropped", last_seen AS "lastSeen"
  FROM nodes ORDER BY name COLLATE "C" LIMIT $1`;
const NODE_COUNT = 'SELECT count(*) AS n FROM nodes';
const SILENT = 'SELECT name, last_seen FROM nodes WHERE last_seen < $1 ORDER BY name COLLATE "C"';
const BY_BENCHMARK = `SELECT benchmark, count(*) AS nodes, sum(scored_pass)::bigint AS scored_pass, sum(scored_total)::bigint AS scored_total
  FROM nodes WHERE benchmark <> '' GROUP BY benchmark ORDER BY benchmark COLLATE "C"`;
const COUNTS = `SELECT count(*) AS total, coalesce(sum(connected), 0)::bigint AS connected, count(*) FILTER (WHERE last_seen < $1) AS stale,
    coalesce(sum(scored_pass), 0)::bigint AS scored_pass, coalesce(sum(scored_total), 0)::bigint AS scored_total FROM nodes`;

const rawOf = (r: PgRawNode): RawNode => ({ ...r, certificates: r.certificates_text });

export function createPgNodeStore(sql: Sql): NodeStore {
  /** The agent-missing findings of the nodes named, by node. */
  async function missingOf(names: readonly string[]): Promise<Map<string, AgentMissingView>> {
    const out = new Map<string, AgentMissingView>();
    if (names.length === 0) return out;
    for (const r of await sql.rows<RawMissing>(AGENT_MISSING_OF, [AGENT_MISSING_CHECK.id, names])) out.set(r.node, agentMissingOf(r)!);
    return out;
  }

  return {
    async hello(h: NodeHello, now: number): Promise<void> {
      await sql.run(HELLO, [h.node, h.agentVersion, h.epoch, h.os, h.kernel, h.arch, h.kubeletVersion, h.cpus, h.memoryBytes, h.uptimeSeconds, jsonbText(certificatesText(h)), now]);
    },
    async stats(node: string, st: NodeStats, now: number): Promise<void> {
      await sql.run(STATS, statsParams(node, st, now));
    },
    async baselineReportRefused(node: string): Promise<void> {
      await sql.run(REPORT_REFUSED, [node]);
    },
    async baselineKeysRefused(node: string, refused: Omit<BaselineKeysRefused, 'total'>): Promise<void> {
      if (refused.notOnNode + refused.overNodeLimit + refused.centralFull > 0) {
        await sql.run(KEYS_REFUSED, [node, refused.notOnNode, refused.overNodeLimit, refused.centralFull]);
      }
    },
    async delete(node: string): Promise<boolean> {
      return (await sql.run(DELETE_NODE, [node])) > 0;
    },
    async touch(node: string, now: number): Promise<void> {
      await sql.run(TOUCH, [node, now]);
    },
    async setExposure(node: string, scannedAt: number, exposure: NodeExposure): Promise<void> {
      await sql.run(SET_EXPOSURE, [node, scannedAt, JSON.stringify(exposure)]);
    },
    async exposure(node: string): Promise<(NodeExposure & { scannedAt: string }) | null> {
      const r = await sql.one<{ scanned_at: number; exposure: string }>(GET_EXPOSURE, [node]);
      if (!r) return null;
      try {
        return { ...(JSON.parse(r.exposure) as NodeExposure), scannedAt: isoTime(r.scanned_at) };
      } catch {
        return null;
      }
    },
    async baselineListeners(key: string, protocol: 'tcp' | 'udp', port: number): Promise<Array<{ address: string; addressClass: ExposureClass }>> {
      const value = (text: string | null): unknown => (text === null ? null : JSON.parse(text));
      const found = (await sql.rows<{ address: string | null; class: string | null }>(BASELINE_LISTENERS, [JSON.stringify(key), JSON.stringify(protocol), JSON.stringify(port)]))
        .map((r): [unknown, unknown] => [value(r.address), value(r.class)]);
      for (const r of await sql.rows<{ exposure: string }>(BASELINE_LISTENERS_ODD)) found.push(...listenersIn(r.exposure, key, protocol, port));
      const distinct = new Map(found.map(([address, addressClass]) => [JSON.stringify([address, addressClass]), { address, addressClass }]));
      return [...distinct.values()] as Array<{ address: string; addressClass: ExposureClass }>;
    },
    async setConnected(node: string, connected: boolean): Promise<void> {
      await sql.run(SET_CONNECTED, [node, connected ? 1 : 0]);
    },
    async resetConnections(): Promise<void> {
      await sql.run(ALL_DISCONNECTED);
    },
    async get(name: string, now: number, staleAfterMs: number, opts: { cluster?: boolean } = {}): Promise<NodeRow | undefined> {
      const r = await sql.one<PgRawNode>(GET, [SELF_CHECK, name]);
      const missing = async (): Promise<AgentMissingView | null> => (await missingOf([name])).get(name) ?? null;
      if (r) return nodeRowOf(rawOf(r), now, staleAfterMs, await missing());
      if (!opts.cluster) return undefined;
      const c = await sql.one<RawClusterOnly>(GET_CLUSTER_ONLY, [name]);
      return c ? clusterOnlyRow(c, await missing()) : undefined;
    },
    async list(now: number, staleAfterMs: number, filter: NodeFilter = {}, limit = 1_000_000, after: string | NodeCursor = ''): Promise<Page<NodeRow>> {
      const cursor: NodeCursor = typeof after === 'string' ? { sort: 'name', after } : after;
      const byExpiry = cursor.sort === 'certExpiry';
      // Assembled from fixed fragments (a handful of shapes, each prepared once); values are bound.
      const params: unknown[] = [SELF_CHECK];
      const bind = (v: unknown): string => {
        params.push(v);
        return `$${params.length}`;
      };
      const where: string[] = [];
      if (!byExpiry) where.push(`n.name > ${bind(cursor.after)} COLLATE "C"`);
      else if (cursor.after !== '') {
        // Keyset on (no expiry, expiry, name): the page after (e, n).
        if (cursor.expiry == null) where.push(`(n.cert_expiry IS NULL AND n.name > ${bind(cursor.after)} COLLATE "C")`);
        else {
          const e = bind(cursor.expiry);
          where.push(`(n.cert_expiry IS NULL OR n.cert_expiry > ${e} COLLATE "C" OR (n.cert_expiry = ${e} AND n.name > ${bind(cursor.after)} COLLATE "C"))`);
        }
      }
      if (filter.stale !== undefined) where.push(filter.stale ? `n.last_seen < ${bind(now - staleAfterMs)}` : `n.last_seen >= ${bind(now - staleAfterMs)}`);
      if (filter.benchmark !== undefined) where.push(`n.benchmark = ${bind(filter.benchmark)}`);
      const cond = where.length > 0 ? ` WHERE ${where.join(' AND ')}` : '';
      const text = byExpiry
        ? `${SELECT_BY_EXPIRY}${cond} ORDER BY n.cert_expiry IS NULL, n.cert_expiry COLLATE "C", n.name COLLATE "C" LIMIT ${bind(limit + 1)}`
        : `${SELECT}${cond} ORDER BY n.name COLLATE "C" LIMIT ${bind(limit + 1)}`;
      const reported: Listed[] = (await sql.rows<PgRawNode & { cert_expiry?: string | null }>(text, params)).map((r) => ({ agent: rawOf(r) }));
      // Nodes no agent reported are neither stale nor fresh, nor judged: a stale or benchmark
      // filter leaves them out. With no certificate they sort with the nodes that reported none.
      let rows = reported;
      if (filter.stale === undefined && filter.benchmark === undefined) {
        const from = !byExpiry || cursor.expiry === null ? cursor.after : '';
        const clusterOnly: Listed[] = (await sql.rows<RawClusterOnly>(CLUSTER_ONLY_AFTER, [from, limit + 1])).map((r) => ({ cluster: r }));
        rows = mergeSorted(reported, clusterOnly, byExpiry ? byExpiryKey : byNameKey, limit + 1);
      }
      const missing = await missingOf(rows.slice(0, limit).map((r) => (r.agent ?? r.cluster)!.name));
      const row = (r: Listed): NodeRow => {
        const m = missing.get((r.agent ?? r.cluster)!.name) ?? null;
        return r.agent ? nodeRowOf(r.agent, now, staleAfterMs, m) : clusterOnlyRow(r.cluster!, m);
      };
      return pageOf(rows, limit, row, (last) => {
        const name = (last.agent ?? last.cluster)!.name;
        return byExpiry ? encodeNodeCursor(name, last.agent?.cert_expiry ?? null) : encodeNodeCursor(name);
      });
    },
    async silentSince(cutoff: number): Promise<Array<{ name: string; lastSeen: number }>> {
      return (await sql.rows<{ name: string; last_seen: number }>(SILENT, [cutoff])).map((r) => ({ name: r.name, lastSeen: r.last_seen }));
    },
    async agentFigures(limit: number): Promise<{ nodes: AgentFigures[]; total: number }> {
      const rows = await sql.rows<RawFigures>(AGENT_FIGURES, [limit]);
      const nodes = rows.map(({ walkPidLimitHits, walkTimeLimitHits, walkFdLimitHits, walkUnreadable, rowsRefused, listenersDropped, ...f }): AgentFigures => ({
        ...f, exposureCuts: { walkPidLimitHits, walkTimeLimitHits, walkFdLimitHits, walkUnreadable, rowsRefused, listenersDropped },
      }));
      return { nodes, total: (await sql.one<{ n: number }>(NODE_COUNT))?.n ?? 0 };
    },
    async counts(now: number, staleAfterMs: number): Promise<{ total: number; connected: number; stale: number; scoredPassing: number; scored: number }> {
      const r = (await sql.one<{ total: number; connected: number; stale: number; scored_pass: number; scored_total: number }>(COUNTS, [now - staleAfterMs]))!;
      return { total: r.total, connected: r.connected, stale: r.stale, scoredPassing: r.scored_pass, scored: r.scored_total };
    },
    async byBenchmark(): Promise<Array<{ benchmark: string; nodes: number; scoredPassing: number; scored: number }>> {
      return (await sql.rows<{ benchmark: string; nodes: number; scored_pass: number; scored_total: number }>(BY_BENCHMARK))
        .map((r) => ({ benchmark: r.benchmark, nodes: r.nodes, scoredPassing: r.scored_pass, scored: r.scored_total }));
    },
  };
}

// Node inventory: from hellos and heartbeats, plus what the findings tables say, and the nodes
// of the cluster no agent has reported (cluster-nodes.ts), so a node without its agent is
// listed too.
import type { Synchronous } from './synchronous.js';
import { AGENT_MISSING_CHECK } from '../../proto/collector-checks.js';
import { EXEC_COVERAGE_CHECK } from '../../proto/process-checks.js';
import { clusterNodeOf } from './cluster-nodes.js';
import type { Db } from './db.js';
import { pageOf, type Page } from './paging.js';
import { isoTime } from './time.js';
import {
  encodeNodeCursor, type AgentDrops, type AgentMissingView, type BaselineKeysRefused, type NodeCursor, type NodeFilter, type NodeHello, type NodeResultCounts,
  type AgentFigures, type ExposureClass, type ExposureCuts, type NodeExposure, type NodeRow, type NodeStats, type NodeStore,
} from './boundary/nodes.js';

export interface RawNode {
  name: string; agent_version: string; epoch: string; os: string; kernel: string; arch: string; kubelet_version: string;
  cpus: number; memory_bytes: number; uptime_seconds: number; certificates: string; exec_coverage: string;
  spool_entries: number; spool_dropped: number; agent_rejected: number; findings_refused: number; connected: number;
  spool_bytes: number; process_events_capped: number; process_events_lost: number; exec_events_lost: number;
  exec_records_partial: number; exec_source: string; exec_source_reason: string; exec_ring_lost: number; exec_unjudged: number;
  exec_fake_container: number; exec_host_namespace: number; exec_batches: number;
  host_documents_refused: number; host_document_refused_path: string; host_document_refused_reason: string;
  exec_identity_failed: number; exec_identity_failed_reason: string; exec_events: number; last_scan_duration_ms: number;
  exposure_walk_pid_limit_hits: number; exposure_walk_time_limit_hits: number; exposure_walk_fd_limit_hits: number;
  exposure_walk_unreadable: number; exposure_rows_refused: number; exposure_listeners_dropped: number; exposure_native_reader: number;
  baseline_items_dropped: number; baseline_keys_evicted: number; baseline_report_dropped: number;
  baseline_reports_refused: number;
  baseline_keys_not_on_node: number; baseline_keys_over_node_limit: number; baseline_keys_central_full: number;
  first_seen: number; last_seen: number; open_findings: number; failing_checks: number; scored_pass: number; scored_total: number; benchmark: string;
  /** JSON [pass, fail, warn, skip, error], counted from node_results. */
  results: string | null;
  /** Only with sort=certExpiry. */
  cert_expiry?: string | null;
  /** The node's cluster_nodes row, when there is one. */
  c_name: string | null; c_ready: number | null; c_expected: number | null; c_reason: string | null; c_first_seen: number | null;
}

/** AgentFigures as the statement reads them: the exposure cuts flat. */
export type RawFigures = Omit<AgentFigures, 'exposureCuts'> & AgentFigures['exposureCuts'];

export interface RawClusterOnly {
  name: string; uid: string; ready: number; agent_expected: number | null; reason: string; kubelet_version: string;
  os_image: string; kernel: string; arch: string; eligible_since: number | null; first_seen: number; updated_at: number;
}

/** Rounded to three decimals; null when nothing scored was judged. */
export function score(passing: number, scored: number): number | null {
  return scored === 0 ? null : Math.round((passing / scored) * 1000) / 1000;
}

/** The agent's losses and their sum, which stays an exact JSON number however large they are. */
function agentDrops(r: RawNode): AgentDrops {
  const drops = {
    spool: r.spool_dropped, rejected: r.agent_rejected, processEventsLost: r.process_events_lost, execEventsLost: r.exec_events_lost, execUnjudged: r.exec_unjudged,
    baselineItemsDropped: r.baseline_items_dropped, baselineKeysEvicted: r.baseline_keys_evicted, baselineReportDropped: r.baseline_report_dropped,
  };
  const sum = Object.values(drops).reduce((a, b) => a + b, 0);
  return { total: Math.min(sum, Number.MAX_SAFE_INTEGER), ...drops };
}

/** The earliest expiry among a node's certificates (RFC 3339 strings of one form sort as times). */
function expiresFirst(certs: NodeRow['certificates']): NodeRow['certificatesExpireFirst'] {
  let first: NodeRow['certificatesExpireFirst'] = null;
  for (const c of certs) if (first === null || c.notAfter < first.notAfter) first = { path: c.path, notAfter: c.notAfter };
  return first;
}

/** The stored certificates column; a value that is not the list the hello wrote reads as none, never as a failed read. */
function certificatesOf(text: string): NodeRow['certificates'] {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    return [];
  }
  if (!Array.isArray(v)) return [];
  return v.filter((c): c is { path: string; notAfter: string } =>
    typeof c === 'object' && c !== null && typeof c.path === 'string' && typeof c.notAfter === 'string');
}

/** The agent's result about itself, not about the node. */
export const SELF_CHECK = EXEC_COVERAGE_CHECK.id;

const NO_RESULTS: NodeResultCounts = { pass: 0, fail: 0, warn: 0, skip: 0, error: 0 };

/** The counts the query built: [pass, fail, warn, skip, error]. */
function resultsOf(text: string | null): NodeResultCounts {
  if (!text) return NO_RESULTS;
  const [pass = 0, fail = 0, warn = 0, skip = 0, error = 0] = JSON.parse(text) as number[];
  return { pass, fail, warn, skip, error };
}

/**
 * A node's results by status: one walk of its node_results rows (the primary key's prefix),
 * the agent's judgement of itself (@selfCheck, agent-exec-coverage) left out: what is counted
 * is what the node's checks found.
 */
const RESULTS = `(SELECT json_array(count(*) FILTER (WHERE r.status = 'pass'), count(*) FILTER (WHERE r.status = 'fail'),
      count(*) FILTER (WHERE r.status = 'warn'), count(*) FILTER (WHERE r.status = 'skip'), count(*) FILTER (WHERE r.status = 'error'))
    FROM node_results r WHERE r.node = n.name AND r.check_id <> @selfCheck) AS results`;

const CLUSTER = 'cn.name AS c_name, cn.ready AS c_ready, cn.agent_expected AS c_expected, cn.reason AS c_reason, cn.first_seen AS c_first_seen';

const SELECT = `SELECT n.*,
    coalesce((SELECT c.total FROM node_counts c WHERE c.state = 'open' AND c.node = n.name), 0) AS open_findings,
    ${RESULTS},
    ${CLUSTER}
  FROM nodes n LEFT JOIN cluster_nodes cn ON cn.name = n.name`;

/** For sort=certExpiry: each node's earliest notAfter (ISO strings compare as times). */
const SELECT_BY_EXPIRY = `SELECT * FROM (SELECT n.*,
    coalesce((SELECT c.total FROM node_counts c WHERE c.state = 'open' AND c.node = n.name), 0) AS open_findings,
    ${RESULTS},
    (SELECT min(json_extract(j.value, '$.notAfter')) FROM json_each(n.certificates) j) AS cert_expiry,
    ${CLUSTER}
  FROM nodes n LEFT JOIN cluster_nodes cn ON cn.name = n.name) n`;

/** Nodes of the cluster no agent has reported (no inventory row), by name. */
const SELECT_CLUSTER_ONLY = `SELECT n.* FROM cluster_nodes n
  WHERE NOT EXISTS (SELECT 1 FROM nodes a WHERE a.name = n.name)`;

/**
 * The open and suppressed agent-missing findings of these nodes, in one read of that check's
 * active findings (the findings_check index: a few per cluster at most) rather than a lookup
 * per node among its own findings.
 */
const AGENT_MISSING_OF = `SELECT node, id, state, json_extract(detail, '$.since') AS since, reason FROM findings
  WHERE check_id = @missingCheck AND state IN ('open', 'suppressed') AND node IN (SELECT value FROM json_each(@names))`;

export interface RawMissing { node: string; id: string; state: 'open' | 'suppressed'; since: unknown; reason: string }

export const agentMissingOf = (r: RawMissing | undefined): AgentMissingView | null =>
  (r ? { findingId: r.id, state: r.state, since: typeof r.since === 'string' ? r.since : '', reason: r.reason } : null);

const EMPTY_DROPS: AgentDrops = {
  total: 0, spool: 0, rejected: 0, processEventsLost: 0, execEventsLost: 0, execUnjudged: 0, baselineItemsDropped: 0, baselineKeysEvicted: 0, baselineReportDropped: 0,
};

const NO_EXPOSURE_CUTS: ExposureCuts = { walkPidLimitHits: 0, walkTimeLimitHits: 0, walkFdLimitHits: 0, walkUnreadable: 0, rowsRefused: 0, listenersDropped: 0, nativeReader: false };

/** A node known only from the cluster: what the API says of it, and nothing an agent would have reported. */
export function clusterOnlyRow(r: RawClusterOnly, missing: AgentMissingView | null): NodeRow {
  const c = clusterNodeOf(r);
  return {
    name: c.name, agentVersion: '', kubeletVersion: c.kubeletVersion, os: c.osImage, kernel: c.kernel, arch: c.arch, cpus: 0, memoryBytes: 0,
    certificates: [], certificatesExpireFirst: null, connected: false, stale: false, firstSeen: '', lastSeen: '',
    execCoverage: '', execSource: '', execSourceReason: '', execRingLost: 0, execFakeContainer: 0, execHostNamespace: 0, execBatches: 0,
    hostDocumentsRefused: { count: 0, lastPath: '', lastReason: '' }, execIdentityFailed: { count: 0, lastReason: '' },
    execEvents: 0, lastScanDurationMs: 0, exposureCuts: NO_EXPOSURE_CUTS,
    spool: { entries: 0, bytes: 0, dropped: 0, rejected: 0 },
    agentDrops: EMPTY_DROPS, agentDegraded: { processEventsCapped: 0, execRecordsPartial: 0 }, findingsRefused: 0, baselineReportsRefused: 0,
    baselineKeysRefused: { total: 0, notOnNode: 0, overNodeLimit: 0, centralFull: 0 }, openFindings: 0, failingChecks: 0,
    scoredChecks: { passing: 0, scored: 0 }, complianceScore: null, benchmark: '', results: NO_RESULTS,
    source: 'cluster',
    cluster: { ready: c.ready, agentExpected: c.agentExpected, reason: c.reason, firstSeen: isoTime(c.firstSeen) },
    agentMissing: missing,
  };
}

/** A listed node: one an agent reported, or one known only from the cluster. */
export type Listed = { readonly agent: RawNode; readonly cluster?: undefined } | { readonly agent?: undefined; readonly cluster: RawClusterOnly };

export const byNameKey = (l: Listed): readonly (string | number)[] => [(l.agent ?? l.cluster)!.name];
/** (no expiry, expiry, name), the order of sort=certExpiry. */
export const byExpiryKey = (l: Listed): readonly (string | number)[] => {
  const expiry = l.agent?.cert_expiry ?? null;
  return [expiry === null ? 1 : 0, expiry ?? '', (l.agent ?? l.cluster)!.name];
};

function compareKeys(a: readonly (string | number)[], b: readonly (string | number)[]): number {
  for (let i = 0; i < a.length; i++) {
    const x = a[i] as string | number;
    const y = b[i] as string | number;
    if (x < y) return -1;
    if (x > y) return 1;
  }
  return 0;
}

/** The first `max` of two lists each sorted by `key`, in that order. */
export function mergeSorted(a: readonly Listed[], b: readonly Listed[], key: (l: Listed) => readonly (string | number)[], max: number): Listed[] {
  const out: Listed[] = [];
  let i = 0;
  let j = 0;
  while (out.length < max && (i < a.length || j < b.length)) {
    if (j >= b.length || (i < a.length && compareKeys(key(a[i] as Listed), key(b[j] as Listed)) <= 0)) out.push(a[i++] as Listed);
    else out.push(b[j++] as Listed);
  }
  return out;
}

/** The hello's certificates as stored: soonest first, so the inventory reads in the order an operator acts on it. */
export function certificatesText(h: NodeHello): string {
  return JSON.stringify([...h.certificates].sort((a, b) => a.notAfter.localeCompare(b.notAfter) || a.path.localeCompare(b.path)));
}

/** A node an agent reported, as the API shows it. */
export const nodeRowOf = (r: RawNode, now: number, staleAfterMs: number, missing: AgentMissingView | null): NodeRow => ({
  name: r.name, agentVersion: r.agent_version, kubeletVersion: r.kubelet_version, os: r.os, kernel: r.kernel,
  arch: r.arch, cpus: r.cpus, memoryBytes: r.memory_bytes,
  certificates: certificatesOf(r.certificates),
  certificatesExpireFirst: expiresFirst(certificatesOf(r.certificates)),
  connected: r.connected === 1, stale: now - r.last_seen > staleAfterMs,
  firstSeen: isoTime(r.first_seen), lastSeen: isoTime(r.last_seen),
  execCoverage: r.exec_coverage, execSource: r.exec_source, execSourceReason: r.exec_source_reason, execRingLost: r.exec_ring_lost,
  execFakeContainer: r.exec_fake_container, execHostNamespace: r.exec_host_namespace, execBatches: r.exec_batches,
  hostDocumentsRefused: { count: r.host_documents_refused, lastPath: r.host_document_refused_path, lastReason: r.host_document_refused_reason },
  execIdentityFailed: { count: r.exec_identity_failed, lastReason: r.exec_identity_failed_reason },
  execEvents: r.exec_events, lastScanDurationMs: r.last_scan_duration_ms,
  exposureCuts: {
    walkPidLimitHits: r.exposure_walk_pid_limit_hits, walkTimeLimitHits: r.exposure_walk_time_limit_hits, walkFdLimitHits: r.exposure_walk_fd_limit_hits,
    walkUnreadable: r.exposure_walk_unreadable, rowsRefused: r.exposure_rows_refused, listenersDropped: r.exposure_listeners_dropped,
    nativeReader: r.exposure_native_reader === 1,
  },
  spool: { entries: r.spool_entries, bytes: r.spool_bytes, dropped: r.spool_dropped, rejected: r.agent_rejected },
  agentDrops: agentDrops(r),
  agentDegraded: { processEventsCapped: r.process_events_capped, execRecordsPartial: r.exec_records_partial },
  findingsRefused: r.findings_refused, baselineReportsRefused: r.baseline_reports_refused,
  baselineKeysRefused: {
    total: r.baseline_keys_not_on_node + r.baseline_keys_over_node_limit + r.baseline_keys_central_full,
    notOnNode: r.baseline_keys_not_on_node, overNodeLimit: r.baseline_keys_over_node_limit, centralFull: r.baseline_keys_central_full,
  },
  openFindings: r.open_findings, failingChecks: r.failing_checks,
  scoredChecks: { passing: r.scored_pass, scored: r.scored_total },
  complianceScore: score(r.scored_pass, r.scored_total),
  benchmark: r.benchmark,
  results: resultsOf(r.results),
  source: 'agent',
  cluster: r.c_name === null ? null : {
    ready: r.c_ready === 1, agentExpected: r.c_expected === null ? null : r.c_expected === 1, reason: r.c_reason ?? '', firstSeen: isoTime(r.c_first_seen ?? 0),
  },
  agentMissing: missing,
});

export function createNodeStore(db: Db): Synchronous<NodeStore> {
  const s = {
    hello: db.prepare(`INSERT INTO nodes (name, agent_version, epoch, os, kernel, arch, kubelet_version, cpus, memory_bytes,
        uptime_seconds, certificates, connected, first_seen, last_seen)
      VALUES (@node, @agentVersion, @epoch, @os, @kernel, @arch, @kubeletVersion, @cpus, @memoryBytes, @uptimeSeconds,
        @certificates, 1, @now, @now)
      ON CONFLICT (name) DO UPDATE SET agent_version = excluded.agent_version, epoch = excluded.epoch, os = excluded.os,
        kernel = excluded.kernel, arch = excluded.arch, kubelet_version = excluded.kubelet_version, cpus = excluded.cpus,
        memory_bytes = excluded.memory_bytes, uptime_seconds = excluded.uptime_seconds,
        certificates = excluded.certificates, connected = 1, last_seen = excluded.last_seen`),
    stats: db.prepare(`UPDATE nodes SET spool_entries = @spoolEntries, spool_bytes = @spoolBytes, spool_dropped = @spoolDropped,
        agent_rejected = @rejected, exec_coverage = @execCoverage, process_events_capped = @processEventsCapped,
        process_events_lost = @processEventsLost, exec_events_lost = @execEventsLost, exec_records_partial = @execRecordsPartial,
        exec_source = @execSource, exec_source_reason = @execSourceReason, exec_ring_lost = @execRingLost, exec_unjudged = @execUnjudged,
        exec_fake_container = @execFakeContainer, exec_host_namespace = @execHostNamespace, exec_batches = @execBatches,
        host_documents_refused = @hostDocumentsRefused, host_document_refused_path = @hostDocumentRefusedPath,
        host_document_refused_reason = @hostDocumentRefusedReason,
        exec_identity_failed = @execIdentityFailed, exec_identity_failed_reason = @execIdentityFailedReason,
        exec_events = @execEvents, last_scan_duration_ms = @lastScanDurationMs,
        exposure_walk_pid_limit_hits = @exposureWalkPidLimitHits, exposure_walk_time_limit_hits = @exposureWalkTimeLimitHits,
        exposure_walk_fd_limit_hits = @exposureWalkFdLimitHits, exposure_walk_unreadable = @exposureWalkUnreadable,
        exposure_rows_refused = @exposureRowsRefused, exposure_listeners_dropped = @exposureListenersDropped,
        exposure_native_reader = @exposureNativeReader,
        baseline_items_dropped = @baselineItemsDropped, baseline_keys_evicted = @baselineKeysEvicted,
        baseline_report_dropped = @baselineReportDropped, last_seen = @now WHERE name = @node`),
    reportRefused: db.prepare('UPDATE nodes SET baseline_reports_refused = baseline_reports_refused + 1 WHERE name = ?'),
    keysRefused: db.prepare(`UPDATE nodes SET baseline_keys_not_on_node = baseline_keys_not_on_node + @notOnNode,
        baseline_keys_over_node_limit = baseline_keys_over_node_limit + @overNodeLimit,
        baseline_keys_central_full = baseline_keys_central_full + @centralFull WHERE name = @node`),
    deleteNode: db.prepare('DELETE FROM nodes WHERE name = ?'),
    deleteExposure: db.prepare('DELETE FROM node_exposure WHERE node = ?'),
    setExposure: db.prepare(`INSERT INTO node_exposure (node, scanned_at, exposure) VALUES (?, ?, ?)
      ON CONFLICT (node) DO UPDATE SET scanned_at = excluded.scanned_at, exposure = excluded.exposure WHERE excluded.scanned_at >= node_exposure.scanned_at`),
    getExposure: db.prepare<[string], { scanned_at: number; exposure: string }>('SELECT scanned_at, exposure FROM node_exposure WHERE node = ?'),
    // The listeners of one baseline on one protocol and port, on every node's latest scan.
    baselineListeners: db.prepare<[string, string, number], { address: string; addressClass: string }>(`SELECT DISTINCT
        json_extract(l.value, '$.address') AS address, json_extract(l.value, '$.addressClass') AS addressClass
      FROM node_exposure e, json_each(e.exposure, '$.listeners') l
      WHERE json_extract(l.value, '$.baseline') = ? AND json_extract(l.value, '$.protocol') = ? AND json_extract(l.value, '$.port') = ?`),
    deleteResults: db.prepare('DELETE FROM node_results WHERE node = ?'),
    deleteReceived: db.prepare('DELETE FROM received WHERE node = ?'),
    touch: db.prepare('UPDATE nodes SET last_seen = ? WHERE name = ?'),
    connected: db.prepare('UPDATE nodes SET connected = ? WHERE name = ?'),
    allDisconnected: db.prepare('UPDATE nodes SET connected = 0'),
    get: db.prepare<Record<string, unknown>, RawNode>(`${SELECT} WHERE n.name = @name`),
    missingOf: db.prepare<Record<string, unknown>, RawMissing>(AGENT_MISSING_OF),
    getClusterOnly: db.prepare<Record<string, unknown>, RawClusterOnly>(`${SELECT_CLUSTER_ONLY} AND n.name = @name`),
    clusterOnlyAfter: db.prepare<Record<string, unknown>, RawClusterOnly>(`${SELECT_CLUSTER_ONLY} AND n.name > @after ORDER BY n.name LIMIT @limit`),
    agentFigures: db.prepare<[number], RawFigures>(`SELECT name AS node, exec_source AS execSource, exec_events_lost AS execEventsLost,
        min(spool_dropped + agent_rejected + process_events_lost + exec_events_lost + exec_unjudged + baseline_items_dropped
          + baseline_keys_evicted + baseline_report_dropped, ${Number.MAX_SAFE_INTEGER}) AS drops,
        spool_entries AS spoolEntries, spool_bytes AS spoolBytes, spool_dropped AS spoolDropped,
        exec_identity_failed AS identityFailed, exec_events AS execEvents, last_scan_duration_ms AS lastScanDurationMs,
        exposure_walk_pid_limit_hits AS walkPidLimitHits, exposure_walk_time_limit_hits AS walkTimeLimitHits,
        exposure_walk_fd_limit_hits AS walkFdLimitHits, exposure_walk_unreadable AS walkUnreadable, exposure_rows_refused AS rowsRefused,
        exposure_listeners_dropped AS listenersDropped, last_seen AS lastSeen FROM nodes ORDER BY name LIMIT ?`),
    nodeCount: db.prepare<[], number>('SELECT count(*) FROM nodes').pluck(),
    silent: db.prepare<[number], { name: string; last_seen: number }>('SELECT name, last_seen FROM nodes WHERE last_seen < ? ORDER BY name'),
    byBenchmark: db.prepare<[], { benchmark: string; nodes: number; scored_pass: number; scored_total: number }>(
      "SELECT benchmark, count(*) AS nodes, sum(scored_pass) AS scored_pass, sum(scored_total) AS scored_total FROM nodes WHERE benchmark <> '' GROUP BY benchmark ORDER BY benchmark"),
    counts: db.prepare<[number], { total: number; connected: number; stale: number; scored_pass: number; scored_total: number }>(`SELECT
        count(*) AS total, coalesce(sum(connected), 0) AS connected, coalesce(sum(last_seen < ?), 0) AS stale,
        coalesce(sum(scored_pass), 0) AS scored_pass, coalesce(sum(scored_total), 0) AS scored_total FROM nodes`),
  };
  const listStatements = new Map<string, ReturnType<typeof db.prepare<Record<string, unknown>, RawNode>>>();


  /** The agent-missing findings of the nodes named, by node. */
  function missingOf(names: readonly string[]): Map<string, AgentMissingView> {
    const out = new Map<string, AgentMissingView>();
    if (names.length === 0) return out;
    for (const r of s.missingOf.all({ missingCheck: AGENT_MISSING_CHECK.id, names: JSON.stringify(names) })) out.set(r.node, agentMissingOf(r)!);
    return out;
  }

  return {
    hello(h: NodeHello, now: number): void {
      s.hello.run({ ...h, certificates: certificatesText(h), now });
    },
    stats(node: string, st: NodeStats, now: number): void {
      s.stats.run({ node, ...st, exposureNativeReader: st.exposureNativeReader ? 1 : 0, now });
    },
    /** The collector refused one of the node's BaselineReports. */
    baselineReportRefused(node: string): void {
      s.reportRefused.run(node);
    },
    /** Baselines of one of the node's reports were not merged. */
    baselineKeysRefused(node: string, refused: Omit<BaselineKeysRefused, 'total'>): void {
      if (refused.notOnNode + refused.overNodeLimit + refused.centralFull > 0) s.keysRefused.run({ node, ...refused });
    },
    /**
     * Forgets the node: its inventory row, its latest results and its idempotency records (so
     * an agent that comes back starts clean). Its findings are resolved first, by the caller.
     * False when there was no such node.
     */
    delete(node: string): boolean {
      return db.transaction(() => {
        s.deleteResults.run(node);
        s.deleteReceived.run(node);
        s.deleteExposure.run(node);
        return s.deleteNode.run(node).changes > 0;
      })();
    },
    touch(node: string, now: number): void {
      s.touch.run(now, node);
    },
    setExposure(node: string, scannedAt: number, exposure: NodeExposure): void {
      s.setExposure.run(node, scannedAt, JSON.stringify(exposure));
    },
    exposure(node: string): (NodeExposure & { scannedAt: string }) | null {
      const r = s.getExposure.get(node);
      if (!r) return null;
      try {
        return { ...(JSON.parse(r.exposure) as NodeExposure), scannedAt: isoTime(r.scanned_at) };
      } catch {
        return null;
      }
    },
    baselineListeners(key: string, protocol: 'tcp' | 'udp', port: number): Array<{ address: string; addressClass: ExposureClass }> {
      return s.baselineListeners.all(key, protocol, port) as Array<{ address: string; addressClass: ExposureClass }>;
    },
    setConnected(node: string, connected: boolean): void {
      s.connected.run(connected ? 1 : 0, node);
    },
    /** At start-up nobody is connected yet, whatever the last run left behind. */
    resetConnections(): void {
      s.allDisconnected.run();
    },
    /** A node an agent reported, or, with `cluster`, also one known only from the cluster. */
    get(name: string, now: number, staleAfterMs: number, opts: { cluster?: boolean } = {}): NodeRow | undefined {
      const r = s.get.get({ name, selfCheck: SELF_CHECK });
      const missing = (): AgentMissingView | null => missingOf([name]).get(name) ?? null;
      if (r) return nodeRowOf(r, now, staleAfterMs, missing());
      if (!opts.cluster) return undefined;
      const c = s.getClusterOnly.get({ name });
      return c ? clusterOnlyRow(c, missing()) : undefined;
    },
    /**
     * Ordered by name (the cursor is the last name of the previous page), or with
     * `sort: 'certExpiry'` by earliest certificate expiry, then name, nodes without one last.
     */
    list(now: number, staleAfterMs: number, filter: NodeFilter = {}, limit = 1_000_000, after: string | NodeCursor = ''): Page<NodeRow> {
      const cursor: NodeCursor = typeof after === 'string' ? { sort: 'name', after } : after;
      const byExpiry = cursor.sort === 'certExpiry';
      const where: string[] = [];
      const params: Record<string, unknown> = { after: cursor.after, limit: limit + 1, selfCheck: SELF_CHECK };
      if (!byExpiry) where.push('n.name > @after');
      else if (cursor.after !== '') {
        // Keyset on (no expiry, expiry, name): the page after (e, n).
        if (cursor.expiry == null) where.push('(n.cert_expiry IS NULL AND n.name > @after)');
        else {
          where.push('(n.cert_expiry IS NULL OR n.cert_expiry > @expiry OR (n.cert_expiry = @expiry AND n.name > @after))');
          params.expiry = cursor.expiry;
        }
      }
      if (filter.stale !== undefined) {
        where.push(filter.stale ? 'n.last_seen < @cutoff' : 'n.last_seen >= @cutoff');
        params.cutoff = now - staleAfterMs;
      }
      if (filter.benchmark !== undefined) {
        where.push('n.benchmark = @benchmark');
        params.benchmark = filter.benchmark;
      }
      const cond = where.length > 0 ? ` WHERE ${where.join(' AND ')}` : '';
      const sql = byExpiry
        ? `${SELECT_BY_EXPIRY}${cond} ORDER BY n.cert_expiry IS NULL, n.cert_expiry, n.name LIMIT @limit`
        : `${SELECT}${cond} ORDER BY n.name LIMIT @limit`;
      let stmt = listStatements.get(sql);
      if (!stmt) listStatements.set(sql, (stmt = db.prepare<Record<string, unknown>, RawNode>(sql)));
      const reported: Listed[] = stmt.all(params).map((r) => ({ agent: r }));
      // Nodes no agent reported are neither stale nor fresh, nor judged: a stale or benchmark
      // filter leaves them out. With no certificate they sort with the nodes that reported none.
      let rows = reported;
      if (filter.stale === undefined && filter.benchmark === undefined) {
        const after = !byExpiry || cursor.expiry === null ? cursor.after : '';
        const clusterOnly: Listed[] = s.clusterOnlyAfter.all({ after, limit: limit + 1 }).map((r) => ({ cluster: r }));
        rows = mergeSorted(reported, clusterOnly, byExpiry ? byExpiryKey : byNameKey, limit + 1);
      }
      const missing = missingOf(rows.slice(0, limit).map((r) => (r.agent ?? r.cluster)!.name));
      const row = (r: Listed): NodeRow => {
        const m = missing.get((r.agent ?? r.cluster)!.name) ?? null;
        return r.agent ? nodeRowOf(r.agent, now, staleAfterMs, m) : clusterOnlyRow(r.cluster!, m);
      };
      return pageOf(rows, limit, row, (last) => {
        const name = (last.agent ?? last.cluster)!.name;
        return byExpiry ? encodeNodeCursor(name, last.agent?.cert_expiry ?? null) : encodeNodeCursor(name);
      });
    },
    /** Nodes last heard from before `cutoff`. */
    silentSince(cutoff: number): Array<{ name: string; lastSeen: number }> {
      return s.silent.all(cutoff).map((r) => ({ name: r.name, lastSeen: r.last_seen }));
    },
    agentFigures(limit: number) {
      const nodes = s.agentFigures.all(limit).map(({ walkPidLimitHits, walkTimeLimitHits, walkFdLimitHits, walkUnreadable, rowsRefused, listenersDropped, ...f }): AgentFigures => ({
        ...f, exposureCuts: { walkPidLimitHits, walkTimeLimitHits, walkFdLimitHits, walkUnreadable, rowsRefused, listenersDropped },
      }));
      return { nodes, total: s.nodeCount.get() ?? 0 };
    },
    counts(now: number, staleAfterMs: number): { total: number; connected: number; stale: number; scoredPassing: number; scored: number } {
      const r = s.counts.get(now - staleAfterMs)!;
      return { total: r.total, connected: r.connected, stale: r.stale, scoredPassing: r.scored_pass, scored: r.scored_total };
    },
    byBenchmark() {
      return s.byBenchmark.all().map((r) => ({ benchmark: r.benchmark, nodes: r.nodes, scoredPassing: r.scored_pass, scored: r.scored_total }));
    },
  };
}

// Node inventory: from hellos and heartbeats, plus what the findings tables say.
import type { Db } from './db.js';
import { EXEC_COVERAGE_CHECK } from '../../proto/process-checks.js';
import { pageOf, type Page } from './paging.js';
import { isoTime } from './time.js';

export interface NodeHello {
  readonly node: string;
  readonly agentVersion: string;
  readonly epoch: string;
  readonly os: string;
  readonly kernel: string;
  readonly arch: string;
  readonly kubeletVersion: string;
  readonly cpus: number;
  readonly memoryBytes: number;
  readonly uptimeSeconds: number;
  readonly certificates: ReadonlyArray<{ path: string; notAfter: string }>;
}

/** An agent's AgentStats as validated: its latest values (spool ones since its epoch began, the rest since it started). */
export interface NodeStats {
  readonly spoolEntries: number;
  readonly spoolBytes: number;
  readonly spoolDropped: number;
  readonly rejected: number;
  readonly execCoverage: string;
  /** `ebpf`, `netlink` or `scan`; for agents that predate it, derived from execCoverage (ingest). */
  readonly execSource: string;
  /** Why each better source did not load (redacted); empty when eBPF runs. */
  readonly execSourceReason: string;
  readonly processEventsCapped: number;
  readonly processEventsLost: number;
  readonly execEventsLost: number;
  /** Of execEventsLost: records the eBPF ring buffer had no room for. */
  readonly execRingLost: number;
  /** Processes seen but not judged: no executable, or no cgroup and no known parent. */
  readonly execUnjudged: number;
  readonly execRecordsPartial: number;
  /** Processes judged as host processes: their cgroup named a container no runtime vouches for. */
  readonly execFakeContainer: number;
  /** Processes judged as host processes: in a container's cgroup, in the host's mount namespace. */
  readonly execHostNamespace: number;
  /** eBPF: batches of exec records read from the ring buffer. */
  readonly execBatches: number;
  readonly baselineItemsDropped: number;
  readonly baselineKeysEvicted: number;
  readonly baselineReportDropped: number;
  /** Host documents refused before parsing, at every fact collection; the last one's path (redacted) and limit. */
  readonly hostDocumentsRefused: number;
  readonly hostDocumentRefusedPath: string;
  readonly hostDocumentRefusedReason: string;
}

/** What an agent reports it lost, by cause, and their sum. */
export interface AgentDrops {
  readonly total: number;
  /** Findings dropped by the spool's bounds. */
  readonly spool: number;
  /** Messages the collector refused as invalid, which the agent then dropped. */
  readonly rejected: number;
  readonly processEventsLost: number;
  readonly execEventsLost: number;
  /** Processes the agent saw but could not judge (no executable, or nowhere to place them). */
  readonly execUnjudged: number;
  readonly baselineItemsDropped: number;
  readonly baselineKeysEvicted: number;
  readonly baselineReportDropped: number;
}

export interface NodeRow {
  readonly name: string;
  readonly agentVersion: string;
  readonly kubeletVersion: string;
  readonly os: string;
  readonly kernel: string;
  readonly arch: string;
  readonly cpus: number;
  readonly memoryBytes: number;
  readonly certificates: ReadonlyArray<{ path: string; notAfter: string }>;
  /** The certificate that expires first (the answer to "which node's certificates expire first"); null when none was reported. */
  readonly certificatesExpireFirst: { readonly path: string; readonly notAfter: string } | null;
  readonly connected: boolean;
  readonly stale: boolean;
  readonly firstSeen: string;
  readonly lastSeen: string;
  readonly execCoverage: string;
  /** How the agent sees execs: `ebpf`, `netlink`, `scan`, or empty before the node reported it. */
  readonly execSource: string;
  /** Why each better exec source did not load (`ebpf: CODE: ...; netlink: ...`); empty when eBPF runs. */
  readonly execSourceReason: string;
  /** Exec records the kernel could not put in the eBPF ring buffer (counted in agentDrops.execEventsLost too). */
  readonly execRingLost: number;
  /** Processes judged as host processes though their cgroup named a container no runtime vouches for. */
  readonly execFakeContainer: number;
  /** Processes judged as host processes though in a container's cgroup: they ran in the host's mount namespace. */
  readonly execHostNamespace: number;
  /** eBPF: batches of exec records the agent read from the ring buffer. */
  readonly execBatches: number;
  /** Host documents refused before parsing by their limits, and the last one. */
  readonly hostDocumentsRefused: { readonly count: number; readonly lastPath: string; readonly lastReason: string };
  readonly spool: { readonly entries: number; readonly bytes: number; readonly dropped: number; readonly rejected: number };
  readonly agentDrops: AgentDrops;
  /** Seen late or in part, not lost: occurrences that waited for the rate limit, exec records read after the process had gone. */
  readonly agentDegraded: { readonly processEventsCapped: number; readonly execRecordsPartial: number };
  readonly findingsRefused: number;
  /** BaselineReports from this node that the collector refused as invalid. */
  readonly baselineReportsRefused: number;
  /** Baselines in this node's reports the collector did not merge, by reason. */
  readonly baselineKeysRefused: BaselineKeysRefused;
  readonly openFindings: number;
  readonly failingChecks: number;
  /** Scored checks judged pass or fail on the node's latest results, and how many passed. */
  readonly scoredChecks: { readonly passing: number; readonly scored: number };
  /** Passing scored checks / scored checks judged, or null when none were judged. */
  readonly complianceScore: number | null;
  /** The node's latest results (one per check and subject) by status; the agent's judgement of itself (agent-exec-coverage) left out. */
  readonly results: NodeResultCounts;
}

/** A node's latest results by status: all `skip` means no check applied (no kubelet, no control plane found). */
export interface NodeResultCounts {
  readonly pass: number;
  readonly fail: number;
  readonly warn: number;
  readonly skip: number;
  readonly error: number;
}

/** Baselines of a node's reports the collector refused, by reason (pipeline/baselines.ts). */
export interface BaselineKeysRefused {
  readonly total: number;
  /** The pod watch shows no pod of the workload on the node. */
  readonly notOnNode: number;
  /** New, and the node was at its own limit. */
  readonly overNodeLimit: number;
  /** New, and the collector held its limit of baselines. */
  readonly centralFull: number;
}

export interface NodeFilter {
  /** true: only nodes silent past the stale time; false: only nodes heard from since. */
  readonly stale?: boolean | undefined;
}

/** `name`, or `certExpiry`: the node whose earliest certificate expiry comes first, nodes without certificates last. */
export const NODE_SORTS = ['name', 'certExpiry'] as const;
export type NodeSort = (typeof NODE_SORTS)[number];

/** Where the previous page ended, in the page's own order. */
export interface NodeCursor {
  readonly sort: NodeSort;
  readonly after: string;
  /** certExpiry: the earliest expiry of the last node (RFC 3339), null when it had none. */
  readonly expiry?: string | null;
}

interface RawNode {
  name: string; agent_version: string; epoch: string; os: string; kernel: string; arch: string; kubelet_version: string;
  cpus: number; memory_bytes: number; uptime_seconds: number; certificates: string; exec_coverage: string;
  spool_entries: number; spool_dropped: number; agent_rejected: number; findings_refused: number; connected: number;
  spool_bytes: number; process_events_capped: number; process_events_lost: number; exec_events_lost: number;
  exec_records_partial: number; exec_source: string; exec_source_reason: string; exec_ring_lost: number; exec_unjudged: number;
  exec_fake_container: number; exec_host_namespace: number; exec_batches: number;
  host_documents_refused: number; host_document_refused_path: string; host_document_refused_reason: string;
  baseline_items_dropped: number; baseline_keys_evicted: number; baseline_report_dropped: number;
  baseline_reports_refused: number;
  baseline_keys_not_on_node: number; baseline_keys_over_node_limit: number; baseline_keys_central_full: number;
  first_seen: number; last_seen: number; open_findings: number; failing_checks: number; scored_pass: number; scored_total: number;
  /** JSON [pass, fail, warn, skip, error], counted from node_results. */
  results: string | null;
  /** Only with sort=certExpiry. */
  cert_expiry?: string | null;
}

/** Rounded to three decimals; null when nothing scored was judged. */
export function score(passing: number, scored: number): number | null {
  return scored === 0 ? null : Math.round((passing / scored) * 1000) / 1000;
}

export function encodeNodeCursor(name: string, expiry?: string | null): string {
  return Buffer.from(JSON.stringify(expiry === undefined ? { after: name } : { after: name, sort: 'certExpiry', expiry })).toString('base64url');
}

export function decodeNodeCursor(cursor: string): string | undefined {
  const c = decodeNodeCursorOf(cursor);
  return c?.sort === 'name' ? c.after : undefined;
}

/** A cursor of either order; undefined when it is not one this API issued. */
export function decodeNodeCursorOf(cursor: string): NodeCursor | undefined {
  try {
    const v = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as { after?: unknown; sort?: unknown; expiry?: unknown };
    if (typeof v.after !== 'string' || v.after.length === 0 || v.after.length > 253) return undefined;
    if (v.sort === undefined) return { sort: 'name', after: v.after };
    if (v.sort !== 'certExpiry') return undefined;
    if (v.expiry !== null && (typeof v.expiry !== 'string' || Number.isNaN(Date.parse(v.expiry)))) return undefined;
    return { sort: 'certExpiry', after: v.after, expiry: v.expiry };
  } catch {
    return undefined;
  }
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

/** The agent's result about itself, not about the node. */
const SELF_CHECK = EXEC_COVERAGE_CHECK.id;

const NO_RESULTS: NodeResultCounts = { pass: 0, fail: 0, warn: 0, skip: 0, error: 0 };

/** The counts the query built: [pass, fail, warn, skip, error]. */
function resultsOf(text: string | null): NodeResultCounts {
  if (!text) return NO_RESULTS;
  const [pass = 0, fail = 0, warn = 0, skip = 0, error = 0] = JSON.parse(text) as number[];
  return { pass, fail, warn, skip, error };
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

/**
 * A node's results by status: one walk of its node_results rows (the primary key's prefix),
 * the agent's judgement of itself (@selfCheck, agent-exec-coverage) left out: what is counted
 * is what the node's checks found.
 */
const RESULTS = `(SELECT json_array(count(*) FILTER (WHERE r.status = 'pass'), count(*) FILTER (WHERE r.status = 'fail'),
      count(*) FILTER (WHERE r.status = 'warn'), count(*) FILTER (WHERE r.status = 'skip'), count(*) FILTER (WHERE r.status = 'error'))
    FROM node_results r WHERE r.node = n.name AND r.check_id <> @selfCheck) AS results`;

const SELECT = `SELECT n.*,
    coalesce((SELECT c.total FROM node_counts c WHERE c.state = 'open' AND c.node = n.name), 0) AS open_findings,
    ${RESULTS}
  FROM nodes n`;

/** For sort=certExpiry: each node's earliest notAfter (ISO strings compare as times). */
const SELECT_BY_EXPIRY = `SELECT * FROM (SELECT n.*,
    coalesce((SELECT c.total FROM node_counts c WHERE c.state = 'open' AND c.node = n.name), 0) AS open_findings,
    ${RESULTS},
    (SELECT min(json_extract(j.value, '$.notAfter')) FROM json_each(n.certificates) j) AS cert_expiry
  FROM nodes n) n`;

export function createNodeStore(db: Db) {
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
        baseline_items_dropped = @baselineItemsDropped, baseline_keys_evicted = @baselineKeysEvicted,
        baseline_report_dropped = @baselineReportDropped, last_seen = @now WHERE name = @node`),
    reportRefused: db.prepare('UPDATE nodes SET baseline_reports_refused = baseline_reports_refused + 1 WHERE name = ?'),
    keysRefused: db.prepare(`UPDATE nodes SET baseline_keys_not_on_node = baseline_keys_not_on_node + @notOnNode,
        baseline_keys_over_node_limit = baseline_keys_over_node_limit + @overNodeLimit,
        baseline_keys_central_full = baseline_keys_central_full + @centralFull WHERE name = @node`),
    deleteNode: db.prepare('DELETE FROM nodes WHERE name = ?'),
    deleteResults: db.prepare('DELETE FROM node_results WHERE node = ?'),
    deleteReceived: db.prepare('DELETE FROM received WHERE node = ?'),
    touch: db.prepare('UPDATE nodes SET last_seen = ? WHERE name = ?'),
    connected: db.prepare('UPDATE nodes SET connected = ? WHERE name = ?'),
    allDisconnected: db.prepare('UPDATE nodes SET connected = 0'),
    get: db.prepare<{ name: string; selfCheck: string }, RawNode>(`${SELECT} WHERE n.name = @name`),
    silent: db.prepare<[number], { name: string; last_seen: number }>('SELECT name, last_seen FROM nodes WHERE last_seen < ? ORDER BY name'),
    counts: db.prepare<[number], { total: number; connected: number; stale: number; scored_pass: number; scored_total: number }>(`SELECT
        count(*) AS total, coalesce(sum(connected), 0) AS connected, coalesce(sum(last_seen < ?), 0) AS stale,
        coalesce(sum(scored_pass), 0) AS scored_pass, coalesce(sum(scored_total), 0) AS scored_total FROM nodes`),
  };
  const listStatements = new Map<string, ReturnType<typeof db.prepare<Record<string, unknown>, RawNode>>>();

  const toRow = (r: RawNode, now: number, staleAfterMs: number): NodeRow => ({
    name: r.name, agentVersion: r.agent_version, kubeletVersion: r.kubelet_version, os: r.os, kernel: r.kernel,
    arch: r.arch, cpus: r.cpus, memoryBytes: r.memory_bytes,
    certificates: certificatesOf(r.certificates),
    certificatesExpireFirst: expiresFirst(certificatesOf(r.certificates)),
    connected: r.connected === 1, stale: now - r.last_seen > staleAfterMs,
    firstSeen: isoTime(r.first_seen), lastSeen: isoTime(r.last_seen),
    execCoverage: r.exec_coverage, execSource: r.exec_source, execSourceReason: r.exec_source_reason, execRingLost: r.exec_ring_lost,
    execFakeContainer: r.exec_fake_container, execHostNamespace: r.exec_host_namespace, execBatches: r.exec_batches,
    hostDocumentsRefused: { count: r.host_documents_refused, lastPath: r.host_document_refused_path, lastReason: r.host_document_refused_reason },
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
    results: resultsOf(r.results),
  });

  return {
    hello(h: NodeHello, now: number): void {
      // Soonest first, so the inventory reads in the order an operator acts on it.
      const certificates = [...h.certificates].sort((a, b) => a.notAfter.localeCompare(b.notAfter) || a.path.localeCompare(b.path));
      s.hello.run({ ...h, certificates: JSON.stringify(certificates), now });
    },
    stats(node: string, st: NodeStats, now: number): void {
      s.stats.run({ node, ...st, now });
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
        return s.deleteNode.run(node).changes > 0;
      })();
    },
    touch(node: string, now: number): void {
      s.touch.run(now, node);
    },
    setConnected(node: string, connected: boolean): void {
      s.connected.run(connected ? 1 : 0, node);
    },
    /** At start-up nobody is connected yet, whatever the last run left behind. */
    resetConnections(): void {
      s.allDisconnected.run();
    },
    get(name: string, now: number, staleAfterMs: number): NodeRow | undefined {
      const r = s.get.get({ name, selfCheck: SELF_CHECK });
      return r ? toRow(r, now, staleAfterMs) : undefined;
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
      const cond = where.length > 0 ? ` WHERE ${where.join(' AND ')}` : '';
      const sql = byExpiry
        ? `${SELECT_BY_EXPIRY}${cond} ORDER BY n.cert_expiry IS NULL, n.cert_expiry, n.name LIMIT @limit`
        : `${SELECT}${cond} ORDER BY n.name LIMIT @limit`;
      let stmt = listStatements.get(sql);
      if (!stmt) listStatements.set(sql, (stmt = db.prepare<Record<string, unknown>, RawNode>(sql)));
      return pageOf(stmt.all(params), limit, (r) => toRow(r, now, staleAfterMs),
        (last) => (byExpiry ? encodeNodeCursor(last.name, last.cert_expiry ?? null) : encodeNodeCursor(last.name)));
    },
    /** Nodes last heard from before `cutoff`. */
    silentSince(cutoff: number): Array<{ name: string; lastSeen: number }> {
      return s.silent.all(cutoff).map((r) => ({ name: r.name, lastSeen: r.last_seen }));
    },
    counts(now: number, staleAfterMs: number): { total: number; connected: number; stale: number; scoredPassing: number; scored: number } {
      const r = s.counts.get(now - staleAfterMs)!;
      return { total: r.total, connected: r.connected, stale: r.stale, scoredPassing: r.scored_pass, scored: r.scored_total };
    },
  };
}

export type NodeStore = ReturnType<typeof createNodeStore>;

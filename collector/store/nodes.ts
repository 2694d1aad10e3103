// Node inventory: from hellos and heartbeats, plus what the findings tables say.
import type { Db } from './db.js';

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

export interface NodeStats {
  readonly spoolEntries: number;
  readonly spoolDropped: number;
  readonly rejected: number;
  readonly execCoverage: string;
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
  readonly connected: boolean;
  readonly stale: boolean;
  readonly firstSeen: string;
  readonly lastSeen: string;
  readonly execCoverage: string;
  readonly spool: { readonly entries: number; readonly dropped: number; readonly rejected: number };
  readonly findingsRefused: number;
  readonly openFindings: number;
  readonly failingChecks: number;
  /** Passing scored checks / scored checks judged, or null when none were judged. */
  readonly complianceScore: number | null;
}

interface RawNode {
  name: string; agent_version: string; epoch: string; os: string; kernel: string; arch: string; kubelet_version: string;
  cpus: number; memory_bytes: number; uptime_seconds: number; certificates: string; exec_coverage: string;
  spool_entries: number; spool_dropped: number; agent_rejected: number; findings_refused: number; connected: number;
  first_seen: number; last_seen: number; open_findings: number; failing_checks: number; scored_pass: number; scored_total: number;
}

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
    stats: db.prepare(`UPDATE nodes SET spool_entries = @spoolEntries, spool_dropped = @spoolDropped, agent_rejected = @rejected,
        exec_coverage = @execCoverage, last_seen = @now WHERE name = @node`),
    touch: db.prepare('UPDATE nodes SET last_seen = ? WHERE name = ?'),
    connected: db.prepare('UPDATE nodes SET connected = ? WHERE name = ?'),
    allDisconnected: db.prepare('UPDATE nodes SET connected = 0'),
    list: db.prepare<[], RawNode>(`SELECT n.*,
        (SELECT count(*) FROM findings f WHERE f.node = n.name AND f.state = 'open') AS open_findings,
        (SELECT count(DISTINCT r.check_id) FROM node_results r WHERE r.node = n.name AND r.status = 'fail') AS failing_checks,
        (SELECT count(*) FROM node_results r WHERE r.node = n.name AND r.scored = 1 AND r.status = 'pass') AS scored_pass,
        (SELECT count(*) FROM node_results r WHERE r.node = n.name AND r.scored = 1 AND r.status IN ('pass', 'fail')) AS scored_total
      FROM nodes n ORDER BY n.name`),
  };

  return {
    hello(h: NodeHello, now: number): void {
      s.hello.run({ ...h, certificates: JSON.stringify(h.certificates), now });
    },
    stats(node: string, st: NodeStats, now: number): void {
      s.stats.run({ node, ...st, now });
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
    list(now: number, staleAfterMs: number): NodeRow[] {
      return s.list.all().map((r) => ({
        name: r.name, agentVersion: r.agent_version, kubeletVersion: r.kubelet_version, os: r.os, kernel: r.kernel,
        arch: r.arch, cpus: r.cpus, memoryBytes: r.memory_bytes,
        certificates: JSON.parse(r.certificates) as NodeRow['certificates'],
        connected: r.connected === 1, stale: now - r.last_seen > staleAfterMs,
        firstSeen: new Date(r.first_seen).toISOString(), lastSeen: new Date(r.last_seen).toISOString(),
        execCoverage: r.exec_coverage,
        spool: { entries: r.spool_entries, dropped: r.spool_dropped, rejected: r.agent_rejected },
        findingsRefused: r.findings_refused, openFindings: r.open_findings, failingChecks: r.failing_checks,
        complianceScore: r.scored_total === 0 ? null : Math.round((r.scored_pass / r.scored_total) * 1000) / 1000,
      }));
    },
  };
}

export type NodeStore = ReturnType<typeof createNodeStore>;

// The cluster's nodes as the node watch sees them (migration 015), in SQLite: the
// implementation of ClusterNodeStore (boundary/cluster-nodes.ts).
import type { Synchronous } from './synchronous.js';
import type { ClusterNodeRow, ClusterNodeState, ClusterNodeStore } from './boundary/cluster-nodes.js';
import type { Db } from './db.js';

interface RawClusterNode {
  name: string; uid: string; ready: number; agent_expected: number | null; reason: string; kubelet_version: string;
  os_image: string; kernel: string; arch: string; eligible_since: number | null; first_seen: number; updated_at: number;
  reported?: number;
}

export const clusterNodeOf = (r: RawClusterNode): ClusterNodeRow => ({
  name: r.name, uid: r.uid, ready: r.ready === 1, agentExpected: r.agent_expected === null ? null : r.agent_expected === 1, reason: r.reason,
  kubeletVersion: r.kubelet_version, osImage: r.os_image, kernel: r.kernel, arch: r.arch, eligibleSince: r.eligible_since, firstSeen: r.first_seen,
  reported: r.reported === 1,
});

const REPORTED = 'EXISTS (SELECT 1 FROM nodes a WHERE a.name = c.name) AS reported';

export function createClusterNodeStore(db: Db): Synchronous<ClusterNodeStore> {
  const s = {
    // eligible_since: kept while the node stays eligible under the same uid, set when it
    // becomes eligible, cleared when it stops being; a new uid (the node recreated) starts over.
    upsert: db.prepare(`INSERT INTO cluster_nodes (name, uid, ready, agent_expected, reason, kubelet_version, os_image, kernel, arch,
        eligible_since, first_seen, updated_at)
      VALUES (@name, @uid, @ready, @agentExpected, @reason, @kubeletVersion, @osImage, @kernel, @arch,
        CASE WHEN @eligible = 1 THEN @now END, @now, @now)
      ON CONFLICT (name) DO UPDATE SET
        eligible_since = CASE WHEN @eligible = 0 THEN NULL
          WHEN cluster_nodes.uid = excluded.uid THEN coalesce(cluster_nodes.eligible_since, excluded.eligible_since)
          ELSE excluded.eligible_since END,
        first_seen = CASE WHEN cluster_nodes.uid = excluded.uid THEN cluster_nodes.first_seen ELSE excluded.first_seen END,
        uid = excluded.uid, ready = excluded.ready, agent_expected = excluded.agent_expected, reason = excluded.reason,
        kubelet_version = excluded.kubelet_version, os_image = excluded.os_image, kernel = excluded.kernel, arch = excluded.arch,
        updated_at = excluded.updated_at`),
    remove: db.prepare('DELETE FROM cluster_nodes WHERE name = ?'),
    removeOthers: db.prepare('DELETE FROM cluster_nodes WHERE name NOT IN (SELECT value FROM json_each(?))'),
    clear: db.prepare('DELETE FROM cluster_nodes'),
    get: db.prepare<[string], RawClusterNode>(`SELECT c.*, ${REPORTED} FROM cluster_nodes c WHERE c.name = ?`),
    all: db.prepare<[], RawClusterNode>(`SELECT c.*, ${REPORTED} FROM cluster_nodes c ORDER BY c.name`),
    // Ready, expected since before the cutoff, and no agent has ever reported it (no inventory row).
    missing: db.prepare<[number], RawClusterNode>(`SELECT c.*, 0 AS reported FROM cluster_nodes c
      WHERE c.eligible_since IS NOT NULL AND c.eligible_since <= ? AND NOT EXISTS (SELECT 1 FROM nodes n WHERE n.name = c.name)
      ORDER BY c.name`),
    count: db.prepare<[], { n: number }>('SELECT count(*) AS n FROM cluster_nodes'),
  };

  const params = (n: ClusterNodeState, now: number) => ({
    name: n.name, uid: n.uid, ready: n.ready ? 1 : 0, agentExpected: n.agentExpected === null ? null : n.agentExpected ? 1 : 0, reason: n.reason,
    kubeletVersion: n.kubeletVersion, osImage: n.osImage, kernel: n.kernel, arch: n.arch, eligible: n.ready && n.agentExpected === true ? 1 : 0, now,
  });

  return {
    /** After a list: these nodes and no other, in one transaction. */
    replace(nodes: readonly ClusterNodeState[], now: number): void {
      db.transaction(() => {
        s.removeOthers.run(JSON.stringify(nodes.map((n) => n.name)));
        for (const n of nodes) s.upsert.run(params(n, now));
      })();
    },
    upsert(node: ClusterNodeState, now: number): void {
      s.upsert.run(params(node, now));
    },
    remove(name: string): void {
      s.remove.run(name);
    },
    /** The collector no longer watches nodes: forget them. */
    clear(): void {
      s.clear.run();
    },
    get(name: string): ClusterNodeRow | undefined {
      const r = s.get.get(name);
      return r ? clusterNodeOf(r) : undefined;
    },
    all(): ClusterNodeRow[] {
      return s.all.all().map(clusterNodeOf);
    },
    /** Nodes Ready with the agent expected since `cutoff` or before, that no agent has reported. */
    missingAgents(cutoff: number): ClusterNodeRow[] {
      return s.missing.all(cutoff).map(clusterNodeOf);
    },
    count(): number {
      return s.count.get()!.n;
    },
  };
}

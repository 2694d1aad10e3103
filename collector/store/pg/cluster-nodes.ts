// The cluster's nodes as the node watch sees them, on PostgreSQL: the implementation of
// ClusterNodeStore (boundary/cluster-nodes.ts) over `Sql`; the SQLite one
// (store/cluster-nodes.ts) is the specification, and its clusterNodeOf reads the rows of both.
//
// Only the elected replica runs the node watch, but a hand-over can leave two writing for a
// moment. An upsert is one statement; `replace` is one transaction that first takes a lock
// held until it ends (an advisory lock of the transaction), so two replaces run one after the
// other instead of deadlocking on each other's rows, and it writes the nodes in name order.
import type { ClusterNodeRow, ClusterNodeState, ClusterNodeStore } from '../boundary/cluster-nodes.js';
import { clusterNodeOf } from '../cluster-nodes.js';
import { PUBLIC_NAMES, type SchemaNames } from './schema.js';
import type { Sql, Transact } from './sql.js';

/**
 * The advisory lock key of `replace` in the schema `public`: 'nwcnodes' as a bigint, as the
 * migrator's is 'nodeward'. Another schema's is derived from its name (schema.ts), so two
 * clusters on one database never wait on each other's replace.
 */
export const CLUSTER_NODES_REPLACE_LOCK = PUBLIC_NAMES.clusterNodesLock;

type RawClusterNode = Parameters<typeof clusterNodeOf>[0];

// eligible_since: kept while the node stays eligible under the same uid, set when it becomes
// eligible, cleared when it stops being; a new uid (the node recreated) starts over.
// $10: 1 when eligible (Ready, agent expected), $11: now.
const UPSERT = `INSERT INTO cluster_nodes (name, uid, ready, agent_expected, reason, kubelet_version, os_image, kernel, arch,
    eligible_since, first_seen, updated_at)
  VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, CASE WHEN $10::int = 1 THEN $11::bigint END, $11::bigint, $11::bigint)
  ON CONFLICT (name) DO UPDATE SET
    eligible_since = CASE WHEN $10::int = 0 THEN NULL
      WHEN cluster_nodes.uid = excluded.uid THEN coalesce(cluster_nodes.eligible_since, excluded.eligible_since)
      ELSE excluded.eligible_since END,
    first_seen = CASE WHEN cluster_nodes.uid = excluded.uid THEN cluster_nodes.first_seen ELSE excluded.first_seen END,
    uid = excluded.uid, ready = excluded.ready, agent_expected = excluded.agent_expected, reason = excluded.reason,
    kubelet_version = excluded.kubelet_version, os_image = excluded.os_image, kernel = excluded.kernel, arch = excluded.arch,
    updated_at = excluded.updated_at`;
const LOCK = 'SELECT pg_advisory_xact_lock($1::bigint)';
const REMOVE = 'DELETE FROM cluster_nodes WHERE name = $1';
const REMOVE_OTHERS = 'DELETE FROM cluster_nodes WHERE NOT (name = ANY($1::text[]))';
const CLEAR = 'DELETE FROM cluster_nodes';
const REPORTED = '(EXISTS (SELECT 1 FROM nodes a WHERE a.name = c.name))::int AS reported';
const GET = `SELECT c.*, ${REPORTED} FROM cluster_nodes c WHERE c.name = $1`;
const ALL = `SELECT c.*, ${REPORTED} FROM cluster_nodes c ORDER BY c.name COLLATE "C"`;
// Ready, expected since before the cutoff, and no agent has ever reported it (no inventory row).
const MISSING = `SELECT c.*, 0 AS reported FROM cluster_nodes c
  WHERE c.eligible_since IS NOT NULL AND c.eligible_since <= $1 AND NOT EXISTS (SELECT 1 FROM nodes n WHERE n.name = c.name)
  ORDER BY c.name COLLATE "C"`;
const COUNT = 'SELECT count(*) AS n FROM cluster_nodes';

const params = (n: ClusterNodeState, now: number): unknown[] => [
  n.name, n.uid, n.ready ? 1 : 0, n.agentExpected === null ? null : n.agentExpected ? 1 : 0, n.reason,
  n.kubeletVersion, n.osImage, n.kernel, n.arch, n.ready && n.agentExpected === true ? 1 : 0, now,
];

/** Byte order of names (what COLLATE "C" compares), kept stable for a name listed twice. */
const byName = (a: ClusterNodeState, b: ClusterNodeState): number => Buffer.compare(Buffer.from(a.name), Buffer.from(b.name));

export function createPgClusterNodeStore(sql: Sql, transact: Transact, names: SchemaNames = PUBLIC_NAMES): ClusterNodeStore {
  return {
    async replace(nodes: readonly ClusterNodeState[], now: number): Promise<void> {
      await transact(async (tx) => {
        await tx.one(LOCK, [names.clusterNodesLock]);
        await tx.run(REMOVE_OTHERS, [nodes.map((n) => n.name)]);
        for (const n of [...nodes].sort(byName)) await tx.run(UPSERT, params(n, now));
      });
    },
    async upsert(node: ClusterNodeState, now: number): Promise<void> {
      await sql.run(UPSERT, params(node, now));
    },
    async remove(name: string): Promise<void> {
      await sql.run(REMOVE, [name]);
    },
    async clear(): Promise<void> {
      await sql.run(CLEAR);
    },
    async get(name: string): Promise<ClusterNodeRow | undefined> {
      const r = await sql.one<RawClusterNode>(GET, [name]);
      return r ? clusterNodeOf(r) : undefined;
    },
    async all(): Promise<ClusterNodeRow[]> {
      return (await sql.rows<RawClusterNode>(ALL)).map(clusterNodeOf);
    },
    async missingAgents(cutoff: number): Promise<ClusterNodeRow[]> {
      return (await sql.rows<RawClusterNode>(MISSING, [cutoff])).map(clusterNodeOf);
    },
    async count(): Promise<number> {
      return (await sql.one<{ n: number }>(COUNT))!.n;
    },
  };
}

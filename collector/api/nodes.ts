// /api/v1/nodes: the inventory (of the clusters the `cluster` parameter names: fleet-reads.ts),
// one node, and deleting one (admin; the own cluster's only).
import type { FastifyInstance } from 'fastify';
import type { Static } from '@sinclair/typebox';
import { decodeNodeCursorOf, type NodeRow } from '../store/store.js';
import type { HostLearning } from '../pipeline/host-learning.js';
import { removeNode } from '../pipeline/node-removal.js';
import type { ApiContext } from './context.js';
import type { FleetMember } from '../fleet.js';
import { EVERY_CLUSTER, isRefusal, membersNamed, otherClusterMessage, othersHolding, pageFor, readOf, type MemberPage } from './fleet-reads.js';
import { ErrorBody, NodeDetail, NodeDeleteResult, NodePage, NodeParams, NodeQuery, NodesQuery } from './schemas.js';

type Listed = NodeRow & { demo: boolean; hostLearning: HostLearning | null; clusterName: string; clusterUid: string };

/**
 * What the store does not hold: its cluster, the demo label (configuration) and the host learning
 * window (the agent's latest report). The last two are this collector's own: another cluster's
 * nodes are never demo nodes here and their learning windows are their collector's to say.
 */
function withStatus(ctx: ApiContext, n: NodeRow, member: FleetMember): Listed {
  const own = member.own;
  return {
    ...n, demo: own && ctx.demoNodes.has(n.name), hostLearning: own ? ctx.baselines?.hostLearning(n.name) ?? null : null,
    clusterName: member.identity.name, clusterUid: member.identity.uid,
  };
}

export function registerNodeRoutes(app: FastifyInstance, ctx: ApiContext): void {
  app.get<{ Querystring: Static<typeof NodesQuery> }>('/api/v1/nodes', {
    schema: {
      operationId: 'listNodes', tags: ['nodes'],
      summary: 'Node inventory: versions, connection, staleness, certificate expiries, spool, findings and compliance score; with the node watch, also the cluster\'s nodes no agent has reported; ordered by name, or with sort=certExpiry by the earliest certificate expiry',
      description: 'Each node is `connected` or stale, with its open findings, failing checks and compliance score '
        + '(passing scored checks / scored checks judged). Its certificate expiries come soonest first, with '
        + '`certificatesExpireFirst`. Every counter the agent reports in its hello and heartbeats is here too: '
        + 'the fields below say what each counts. They are the agent\'s latest values: spool counts since its '
        + 'epoch began, the others since it started. A counter above 2^53-1 is stored as 2^53-1. A node silent '
        + 'for `nodes.staleAfterSeconds` gets its own finding, `agent-stale`, which resolves when the agent is '
        + 'back. With the node watch (`nodes.watch`), the list also holds the cluster\'s nodes no agent has '
        + 'reported (`source: cluster`), and every node says what the cluster says of it (`cluster`: Ready, '
        + 'whether the agent DaemonSet runs there and why not) and its open `agent-missing` finding '
        + '(`agentMissing`): docs/node-coverage.md. Each node also has its latest `results` by status (all '
        + '`skip`: no check applied, not a Kubernetes node), where its host process learning window stands '
        + '(`hostLearning`: learning until when, or locked) and whether it is a demo node of `npm start -- --demo` '
        + '(`demo`, setting `nodes.demo`: docs/demo.md), and the benchmark its latest scan was judged under (`benchmark`, '
        + 'filter `benchmark`: docs/checks.md#benchmarks; nodes no agent reported have none and are left out by the filter).',
      querystring: NodesQuery, response: { 200: NodePage, 400: ErrorBody },
    },
  }, async (req, reply) => {
    const q = req.query;
    const sort = q.sort ?? 'name';
    const page: MemberPage<Listed> = async (member, limit, cursor) => {
      const after = cursor === undefined ? { sort, after: '' } : decodeNodeCursorOf(cursor);
      if (after === undefined) return { error: 'parameter cursor is not a cursor this API issued' };
      if (after.sort !== sort) return { error: `parameter cursor belongs to a listing with sort=${after.sort}, not sort=${sort}` };
      const got = await member.store.nodes.list(ctx.now(), ctx.staleAfterMs, { stale: q.stale, benchmark: q.benchmark }, limit, after);
      return { items: got.items.map((n) => withStatus(ctx, n, member)), nextCursor: got.nextCursor };
    };
    const answer = await pageFor(ctx.fleet, `nodes:${sort}`, q.cluster, q.cursor, q.limit, page, req.log);
    return isRefusal(answer) ? reply.code(400).send(answer) : answer;
  });

  app.get<{ Params: Static<typeof NodeParams>; Querystring: Static<typeof NodeQuery> }>('/api/v1/nodes/:name', {
    schema: {
      operationId: 'getNode', tags: ['nodes'], summary: 'One node, with what listens on it',
      description: 'The inventory row of GET /nodes, and `exposure`: the listening sockets its latest scan saw, each with the '
        + 'process holding it (pid, executable), its workload and the class of the address it is bound to (docs/exposure.md). '
        + 'Of the collector\'s own cluster, or of the cluster `cluster` names (two clusters may both have a node of this name; `*` is refused).',
      params: NodeParams, querystring: NodeQuery, response: { 200: NodeDetail, 400: ErrorBody, 404: ErrorBody },
    },
  }, async (req, reply) => {
    if (req.query.cluster === EVERY_CLUSTER) return reply.code(400).send({ error: 'parameter cluster: one node is asked of one cluster; name it (or leave it out for the own cluster)' });
    const named = await membersNamed(ctx.fleet, req.query.cluster);
    if (isRefusal(named)) return reply.code(400).send(named);
    const member = named.members[0];
    if (member === undefined) return reply.code(400).send({ error: 'parameter cluster: this collector has no cluster of its own to answer for' });
    const found = await readOf(member, async () => {
      const n = await member.store.nodes.get(req.params.name, ctx.now(), ctx.staleAfterMs, { cluster: true });
      return n ? { ...withStatus(ctx, n, member), exposure: await member.store.nodes.exposure(n.name) } : undefined;
    });
    return found ?? reply.code(404).send({ error: 'no such node' });
  });

  app.delete<{ Params: Static<typeof NodeParams> }>('/api/v1/nodes/:name', {
    config: { role: 'admin', audit: { action: 'node.delete' } },
    schema: {
      operationId: 'deleteNode', tags: ['nodes'],
      summary: "Delete a node that is not connected: its open findings resolve, the baselines only it created go, its inventory row goes (admin)",
      description: '409 while the node is connected: stop its agent or revoke its certificate first. Its open and '
        + 'suppressed findings resolve as a pass resolves them (history `resolved`, `node deleted by <token '
        + 'name>`; webhooks are sent). The baselines charged to it that no other node taught and no operator '
        + 'changed are deleted. Its inventory row, latest results and idempotency records go. A node known only '
        + 'from the cluster (no agent ever reported it) is 404 with that said: it leaves the list when the cluster '
        + 'deletes it. Only the collector\'s own cluster\'s nodes: a node only another cluster it reads has is 409, '
        + 'naming the cluster whose collector to ask.',
      params: NodeParams, response: { 200: NodeDeleteResult, 404: ErrorBody, 409: ErrorBody },
    },
  }, async (req, reply) => {
    const node = req.params.name;
    const out = await removeNode({ store: ctx.store, pipeline: ctx.pipeline, metrics: ctx.metrics, log: req.log }, node, req.principal?.name ?? '', ctx.now());
    if (out.outcome === 'missing') {
      // A node known only from the cluster has nothing to forget: it goes when the cluster deletes it.
      const known = await ctx.store.clusterNodes.get(node);
      const holder = known ? undefined : await othersHolding(ctx.fleet, async (m) => (await m.store.nodes.get(node, ctx.now(), ctx.staleAfterMs)) !== undefined);
      if (holder) return reply.code(409).send({ error: otherClusterMessage(`node ${node}`, holder) });
      return reply.code(404).send({ error: known ? `node ${node} is known only from the cluster (no agent ever reported it): it leaves the list when it is deleted from the cluster` : 'no such node' });
    }
    if (out.outcome === 'connected') {
      return reply.code(409).send({ error: `node ${node} is connected; its agent would bring it back: stop the agent or revoke its certificate first` });
    }
    return { node, findingsResolved: out.findingsResolved, baselinesDeleted: out.baselinesDeleted };
  });
}

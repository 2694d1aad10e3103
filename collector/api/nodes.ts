// /api/v1/nodes: the inventory, one node, and deleting one (admin).
import type { FastifyInstance } from 'fastify';
import type { Static } from '@sinclair/typebox';
import { decodeNodeCursorOf, type NodeRow } from '../store/nodes.js';
import type { HostLearning } from '../pipeline/host-learning.js';
import { removeNode } from '../pipeline/node-removal.js';
import type { ApiContext } from './context.js';
import { ErrorBody, Node, NodeDeleteResult, NodePage, NodeParams, NodesQuery } from './schemas.js';

/** What the store does not hold: the demo label (configuration) and the host learning window (the agent's latest report). */
function withStatus(ctx: ApiContext, n: NodeRow): NodeRow & { demo: boolean; hostLearning: HostLearning | null } {
  return { ...n, demo: ctx.demoNodes.has(n.name), hostLearning: ctx.baselines?.hostLearning(n.name) ?? null };
}

export function registerNodeRoutes(app: FastifyInstance, ctx: ApiContext): void {
  app.get<{ Querystring: Static<typeof NodesQuery> }>('/api/v1/nodes', {
    schema: {
      summary: 'Node inventory: versions, connection, staleness, certificate expiries, spool, findings and compliance score; ordered by name, or with sort=certExpiry by the earliest certificate expiry',
      querystring: NodesQuery, response: { 200: NodePage, 400: ErrorBody },
    },
  }, async (req, reply) => {
    const q = req.query;
    const sort = q.sort ?? 'name';
    const after = q.cursor === undefined ? { sort, after: '' } : decodeNodeCursorOf(q.cursor);
    if (after === undefined) return reply.code(400).send({ error: 'parameter cursor is not a cursor this API issued' });
    if (after.sort !== sort) return reply.code(400).send({ error: `parameter cursor belongs to a listing with sort=${after.sort}, not sort=${sort}` });
    const page = ctx.store.nodes.list(ctx.now(), ctx.staleAfterMs, { stale: q.stale }, q.limit, after);
    return { ...page, items: page.items.map((n) => withStatus(ctx, n)) };
  });

  app.get<{ Params: Static<typeof NodeParams> }>('/api/v1/nodes/:name', {
    schema: { summary: 'One node', params: NodeParams, response: { 200: Node, 404: ErrorBody } },
  }, async (req, reply) => {
    const n = ctx.store.nodes.get(req.params.name, ctx.now(), ctx.staleAfterMs);
    return n ? withStatus(ctx, n) : reply.code(404).send({ error: 'no such node' });
  });

  app.delete<{ Params: Static<typeof NodeParams> }>('/api/v1/nodes/:name', {
    config: { role: 'admin', audit: { action: 'node.delete' } },
    schema: {
      summary: "Delete a node that is not connected: its open findings resolve, the baselines only it created go, its inventory row goes (admin)",
      params: NodeParams, response: { 200: NodeDeleteResult, 404: ErrorBody, 409: ErrorBody },
    },
  }, async (req, reply) => {
    const node = req.params.name;
    const out = removeNode({ store: ctx.store, pipeline: ctx.pipeline, metrics: ctx.metrics, log: req.log }, node, req.principal?.name ?? '', ctx.now());
    if (out.outcome === 'missing') return reply.code(404).send({ error: 'no such node' });
    if (out.outcome === 'connected') {
      return reply.code(409).send({ error: `node ${node} is connected; its agent would bring it back: stop the agent or revoke its certificate first` });
    }
    return { node, findingsResolved: out.findingsResolved, baselinesDeleted: out.baselinesDeleted };
  });
}

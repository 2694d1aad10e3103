// /api/v1/nodes: the inventory, and one node.
import type { FastifyInstance } from 'fastify';
import type { Static } from '@sinclair/typebox';
import { decodeNodeCursorOf } from '../store/nodes.js';
import type { ApiContext } from './context.js';
import { ErrorBody, Node, NodePage, NodeParams, NodesQuery } from './schemas.js';

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
    ctx.expireSuppressions();
    return ctx.store.nodes.list(ctx.now(), ctx.staleAfterMs, { stale: q.stale }, q.limit, after);
  });

  app.get<{ Params: Static<typeof NodeParams> }>('/api/v1/nodes/:name', {
    schema: { summary: 'One node', params: NodeParams, response: { 200: Node, 404: ErrorBody } },
  }, async (req, reply) => {
    ctx.expireSuppressions();
    return ctx.store.nodes.get(req.params.name, ctx.now(), ctx.staleAfterMs) ?? reply.code(404).send({ error: 'no such node' });
  });
}

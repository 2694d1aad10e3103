// /api/v1/clusters: every cluster this collector can read (collector/fleet.ts), its own first,
// each with the counts an operator looks at first (nodes, open findings, unexpected
// processes), and those counts summed over them.
import type { FastifyInstance } from 'fastify';
import type { ApiContext } from './context.js';
import { countsOf, sumCounts } from './fleet-summary.js';
import { readIfReadable } from './fleet-reads.js';
import type { Static } from '@sinclair/typebox';
import { ClusterList, ClustersQuery } from './schemas.js';
import { EVERY_ROW, summaryOf } from './summary.js';

export function registerClusterRoutes(app: FastifyInstance, ctx: ApiContext): void {
  app.get<{ Querystring: Static<typeof ClustersQuery> }>('/api/v1/clusters', {
    schema: {
      operationId: 'listClusters', tags: ['clusters'],
      summary: 'The clusters this collector can read: its own, and those whose stores its database role may read',
      description: 'Its own cluster first (`own`: the only one it writes), then the others by name, then uid (docs/fleets.md). '
        + 'Each with its nodes, its open findings by severity and its open unexpected processes; `totals` sums them. '
        + 'The `cluster` parameter of the read routes takes a `name` (when no other cluster has it) or a `uid`, or `*` for every one. '
        + 'With `counts=false`, the clusters alone: no store is read.',
      querystring: ClustersQuery, response: { 200: ClusterList },
    },
  }, async (req) => {
    const members = await ctx.fleet.members();
    if (!req.query.counts) return { items: members.map((m) => ({ uid: m.identity.uid, name: m.identity.name, own: m.own })) };
    // A cluster whose store fails the read is listed as unreadable, with nothing counted,
    // and the others answer as usual (its own store failing is still the request's failure).
    const counts = await Promise.all(members.map(async (m) => {
      const open = await readIfReadable(m, () => summaryOf(ctx, m, 'open', EVERY_ROW), req.log);
      return open === undefined ? undefined : countsOf(open);
    }));
    const readable = counts.filter((c): c is NonNullable<typeof c> => c !== undefined);
    return {
      items: members.map((m, i) => ({ uid: m.identity.uid, name: m.identity.name, own: m.own, readable: counts[i] !== undefined, ...(counts[i] ?? sumCounts([])) })),
      totals: sumCounts(readable),
    };
  });
}

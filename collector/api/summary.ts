// /api/v1/summary: counts by severity, category and node, the checks failing on the most
// nodes, and the cluster's compliance score.
import type { FastifyInstance } from 'fastify';
import type { Static } from '@sinclair/typebox';
import type { ApiContext } from './context.js';
import { ErrorBody, Summary, SummaryQuery } from './schemas.js';

export function registerSummaryRoutes(app: FastifyInstance, ctx: ApiContext): void {
  app.get<{ Querystring: Static<typeof SummaryQuery> }>('/api/v1/summary', {
    schema: {
      operationId: 'getSummary', tags: ['summary'],
      summary: 'The cluster at a glance',
      description: 'Nodes (total, connected, stale), the cluster\'s compliance score (also per benchmark the nodes are judged under), findings by severity and by '
        + 'category, the nodes with the most findings and the checks failing on the most nodes, for the '
        + 'findings in `state` (default `open`).',
      querystring: SummaryQuery, response: { 200: Summary, 400: ErrorBody },
    },
  }, async (req) => {
    return ctx.store.summary.summary({ state: req.query.state, top: req.query.top, now: ctx.now(), staleAfterMs: ctx.staleAfterMs });
  });
}

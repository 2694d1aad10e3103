// /api/v1/summary: counts by severity, category and node, the checks failing on the most
// nodes, and the cluster's compliance score; of the own cluster, another the `cluster`
// parameter names, or summed across every cluster the collector reads (fleet-summary.ts).
import type { FastifyInstance } from 'fastify';
import type { Static } from '@sinclair/typebox';
import type { FindingState } from '../../proto/domain.js';
import type { FleetMember } from '../fleet.js';
import { isoTime } from '../store/time.js';
import type { ApiContext } from './context.js';
import { isRefusal, membersNamed, readIfReadable, readOf, tagOf } from './fleet-reads.js';
import { cutSummary, sumSummaries, type TaggedSummary } from './fleet-summary.js';
import { ErrorBody, Summary, SummaryQuery } from './schemas.js';

/** A top past any number of checks: the sums across clusters need every failing check of each. */
export const EVERY_ROW = 1_000_000;

/** A member's summary, its byNode entries tagged with its cluster. */
export async function summaryOf(ctx: ApiContext, member: FleetMember, state: FindingState, top: number): Promise<TaggedSummary> {
  const s = await readOf(member, () => member.store.summary.summary({ state, top, now: ctx.now(), staleAfterMs: ctx.staleAfterMs }));
  const tag = tagOf(member);
  return { ...s, byNode: s.byNode.map((n) => ({ ...n, ...tag })) };
}

export function registerSummaryRoutes(app: FastifyInstance, ctx: ApiContext): void {
  app.get<{ Querystring: Static<typeof SummaryQuery> }>('/api/v1/summary', {
    schema: {
      operationId: 'getSummary', tags: ['summary'],
      summary: 'The cluster at a glance',
      description: 'Nodes (total, connected, stale), the cluster\'s compliance score (also per benchmark the nodes are judged under), findings by severity and by '
        + 'category, the nodes with the most findings and the checks failing on the most nodes, for the '
        + 'findings in `state` (default `open`). With `cluster=*`, the same summed over every cluster the collector '
        + 'reads (a check failing on nodes of two clusters counts the nodes of both), with `clusters`: each one\'s own summary; '
        + 'a cluster whose store fails the read is left out of the sums and named in `unreadable`.',
      querystring: SummaryQuery, response: { 200: Summary, 400: ErrorBody },
    },
  }, async (req, reply) => {
    const { state, top, cluster } = req.query;
    const named = await membersNamed(ctx.fleet, cluster);
    if (isRefusal(named)) return reply.code(400).send(named);
    if (!named.every) {
      const member = named.members[0];
      if (member === undefined) return reply.code(400).send({ error: 'parameter cluster: this collector has no cluster of its own to answer for' });
      return summaryOf(ctx, member, state, top);
    }
    // Another cluster whose store fails the read is left out of the sums and named (its own store failing is still the request's failure).
    const parts = await Promise.all(named.members.map((m) => readIfReadable(m, () => summaryOf(ctx, m, state, EVERY_ROW), req.log)));
    const readable = named.members.flatMap((m, i) => (parts[i] === undefined ? [] : [{ m, part: parts[i] }]));
    const unreadable = named.members.filter((_, i) => parts[i] === undefined).map(tagOf);
    return {
      ...sumSummaries(readable.map((r) => r.part), top, state, isoTime(ctx.now())),
      clusters: readable.map(({ m, part }) => ({ uid: m.identity.uid, name: m.identity.name, own: m.own, summary: cutSummary(part, top) })),
      ...(unreadable.length > 0 ? { unreadable } : {}),
    };
  });
}

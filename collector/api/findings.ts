// /api/v1/findings: list with filters, in an order, with a keyset cursor, one finding with its history,
// and the admin calls that suppress and unsuppress. Reads answer for the clusters of the fleet
// (fleet-reads.ts); suppressions change only the own cluster's findings.
import type { FastifyInstance, FastifyReply } from 'fastify';
import type { Static } from '@sinclair/typebox';
import type { ApiContext } from './context.js';
import { DEFAULT_SORT, FINDING_ORDERS } from '../store/store.js';
import { parseTime } from './time.js';
import type { FleetMember } from '../fleet.js';
import type { Finding as StoredFinding } from '../finding.js';
import { isRefusal, otherClusterMessage, othersHolding, ownMember, pageFor, readOf, tagOf, type MemberPage } from './fleet-reads.js';
import { ErrorBody, Finding, FindingDetail, FindingPage, FindingParams, FindingsQuery, SuppressBody } from './schemas.js';

export function registerFindingRoutes(app: FastifyInstance, ctx: ApiContext): void {
  const { store } = ctx;

  app.get<{ Querystring: Static<typeof FindingsQuery> }>('/api/v1/findings', {
    schema: {
      operationId: 'listFindings', tags: ['findings'],
      summary: 'Findings, filtered, most severe first (or in the order `sort` and `order` name), one page at a time',
      description: 'Filters: `scope` (`node`, or `cluster`: findings about the cluster\'s API objects, such as RBAC, with an empty `node`), `node`, `check`, `category`, `severity`, `minSeverity`, `state`, `since` (last seen, RFC '
        + '3339) and `q`. A cursor continues its own `sort` and `order` (another is refused with 400) from the values '
        + 'of the last finding of its page, so a walk neither skips nor repeats a finding that keeps its place in the '
        + 'order meanwhile. A finding that moves can be skipped or met twice: with `sort=lastSeen` each time it is seen '
        + 'again; with `severity`, `node` and `check` when its severity changes. `firstSeen` never changes, so a walk in '
        + '`sort=firstSeen` neither skips nor repeats any finding.',
      querystring: FindingsQuery, response: { 200: FindingPage, 400: ErrorBody },
    },
  }, async (req, reply) => {
    const { sort: sortParam, order: orderParam, cursor, limit, cluster, ...filter } = req.query;
    const sort = sortParam ?? DEFAULT_SORT;
    const order = orderParam ?? FINDING_ORDERS[sort].defaultOrder;
    const since = filter.since === undefined ? undefined : parseTime(filter.since);
    if (Number.isNaN(since)) return reply.code(400).send({ error: 'parameter since is not a time this API can use' });
    // Each member opens its own cursors (sealed with its store's key).
    const page: MemberPage<Tagged> = async (member, n, memberCursor) => {
      const after = memberCursor === undefined ? undefined : member.store.findings.openCursor(memberCursor);
      if (memberCursor !== undefined && after === undefined) return { error: 'parameter cursor is not a cursor this API issued' };
      if (after && (after.sort !== sort || after.order !== order)) {
        return { error: `parameter cursor belongs to the listing with sort=${after.sort}&order=${after.order}, not sort=${sort}&order=${order}; start again without a cursor` };
      }
      const got = await member.store.findings.list({ ...filter, since }, n, { sort, order, after });
      return { items: got.items.map((f) => tagged(f, member)), nextCursor: got.nextCursor };
    };
    const answer = await pageFor(ctx.fleet, `findings:${sort}:${order}`, cluster, cursor, limit, page, req.log);
    return isRefusal(answer) ? reply.code(400).send(answer) : answer;
  });

  app.get<{ Params: Static<typeof FindingParams> }>('/api/v1/findings/:id', {
    schema: {
      operationId: 'getFinding', tags: ['findings'],
      summary: 'One finding with its history',
      description: 'The `history` is newest first: every transition (`opened`, `reopened`, `escalated`, `resolved`, '
        + '`suppressed`, `unsuppressed`) and the occurrences in between, folded into one `seen` entry per hour. '
        + 'It is bounded per finding (`findings.historyLimit`). The finding is looked for in the collector\'s own '
        + 'cluster first, then in the other clusters it can read, in fleet order (`cluster` says where it was found).',
      params: FindingParams, response: { 200: FindingDetail, 404: ErrorBody },
    },
  }, async (req, reply) => {
    for (const member of await ctx.fleet.members()) {
      const found = await readOf(member, () => member.store.findings.detail(req.params.id));
      if (found) return { ...found, ...tagOf(member) };
    }
    return reply.code(404).send({ error: 'no such finding' });
  });

  app.post<{ Params: Static<typeof FindingParams>; Body: Static<typeof SuppressBody> }>('/api/v1/findings/:id/suppress', {
    config: {
      role: 'admin',
      audit: { action: 'finding.suppress', detail: (req) => pick(req.body, ['reason', 'until']) },
    },
    schema: {
      operationId: 'suppressFinding', tags: ['findings'],
      summary: 'Suppress a finding (or change the reason and expiry of its suppression)',
      description: 'At `until` the suppression ends by itself: the collector wakes up for it (reading never changes a '
        + 'finding). The finding is then `open` again, or `resolved` if a pass resolved it meanwhile. A pass '
        + 'inside a scan\'s scope still resolves a suppressed finding. Only the collector\'s own cluster\'s findings: '
        + 'one only another cluster holds is 409, naming the cluster whose collector to ask.',
      params: FindingParams, body: SuppressBody, response: { 200: Finding, 404: ErrorBody, 400: ErrorBody, 409: ErrorBody },
    },
  }, async (req, reply) => {
    const until = req.body.until === undefined ? null : parseTime(req.body.until);
    if (Number.isNaN(until)) return reply.code(400).send({ error: 'body field until is not a time this API can use' });
    if (until !== null && until <= ctx.now()) return reply.code(400).send({ error: 'body field until must be in the future' });
    const by = req.principal?.name ?? '';
    const outcome = await ctx.pipeline.suppress(req.params.id, { reason: req.body.reason, until, by });
    if (outcome === 'missing') return missing(req.params.id, reply);
    req.log.info({ who: by, finding: req.params.id, until, outcome }, 'finding suppressed');
    return own(await store.findings.get(req.params.id));
  });

  app.post<{ Params: Static<typeof FindingParams> }>('/api/v1/findings/:id/unsuppress', {
    config: { role: 'admin', audit: { action: 'finding.unsuppress' } },
    schema: {
      operationId: 'unsuppressFinding', tags: ['findings'],
      summary: 'End a suppression now',
      description: '409 when the finding is not suppressed, or when only another cluster holds it (its collector lifts it).',
      params: FindingParams, response: { 200: Finding, 404: ErrorBody, 409: ErrorBody },
    },
  }, async (req, reply) => {
    const by = req.principal?.name ?? '';
    const outcome = await ctx.pipeline.unsuppress(req.params.id, by);
    if (outcome === 'missing') return missing(req.params.id, reply);
    if (outcome === 'not-suppressed') return reply.code(409).send({ error: 'the finding is not suppressed' });
    req.log.info({ who: by, finding: req.params.id }, 'suppression lifted');
    return own(await store.findings.get(req.params.id));
  });

  /** The own cluster's finding, tagged. */
  async function own(f: StoredFinding | undefined): Promise<Tagged | undefined> {
    return f && tagged(f, await ownMember(ctx.fleet));
  }

  /** A write on a finding the own cluster does not hold: 409 when another cluster holds it (never written there), else 404. */
  async function missing(id: string, reply: FastifyReply): Promise<FastifyReply> {
    const holder = await othersHolding(ctx.fleet, async (m) => (await m.store.findings.get(id)) !== undefined);
    return holder ? reply.code(409).send({ error: otherClusterMessage(`finding ${id}`, holder) }) : reply.code(404).send({ error: 'no such finding' });
  }
}

type Tagged = StoredFinding & { cluster: string; clusterUid: string };

const tagged = (f: StoredFinding, m: FleetMember): Tagged => ({ ...f, ...tagOf(m) });

/** The named fields of a request body, when it is an object (it may not have been parsed yet). */
export function pick(body: unknown, keys: readonly string[]): Record<string, unknown> {
  if (typeof body !== 'object' || body === null) return {};
  const out: Record<string, unknown> = {};
  for (const k of keys) {
    const v = (body as Record<string, unknown>)[k];
    if (v !== undefined) out[k] = typeof v === 'string' ? v.slice(0, 1024) : v;
  }
  return out;
}

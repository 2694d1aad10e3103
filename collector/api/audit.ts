// /api/v1/audit (admin): who changed what, when, and how it ended; newest first.
import type { FastifyInstance } from 'fastify';
import type { Static } from '@sinclair/typebox';
import { decodeAuditCursor } from '../store/store.js';
import type { ApiContext } from './context.js';
import { parseTime } from './time.js';
import { AuditPage, AuditQuery, ErrorBody } from './schemas.js';

export function registerAuditRoutes(app: FastifyInstance, ctx: ApiContext): void {
  app.get<{ Querystring: Static<typeof AuditQuery> }>('/api/v1/audit', {
    config: { role: 'admin' },
    schema: {
      operationId: 'listAuditRecords', tags: ['audit'],
      summary: 'The audit log of API calls that change something (admin)',
      description: 'Every API call that changes something, and every dashboard login: who made it, when, what it asked '
        + 'and how it ended, newest first. Kept `retention.auditDays`. Refusals of callers nobody authenticated '
        + '(`ui.login` refused; `api.auth`, a bearer token the API does not know) are not one record each. One '
        + 'record per source address, action, reason (`bad-credentials`, `no-credentials`, '
        + '`over-failure-limit`, `cross-origin`) and hour carries their `count`, the first time (`at`) and the '
        + 'last (`lastAt`). Past 100 sources in an hour, the rest share one record per action and reason, with '
        + 'source `(other sources)`. Every other record has `count` 1.',
      querystring: AuditQuery, response: { 200: AuditPage, 400: ErrorBody },
    },
  }, async (req, reply) => {
    const q = req.query;
    const before = q.cursor === undefined ? Number.MAX_SAFE_INTEGER : decodeAuditCursor(q.cursor);
    if (before === undefined) return reply.code(400).send({ error: 'parameter cursor is not a cursor this API issued' });
    const since = q.since === undefined ? undefined : parseTime(q.since);
    if (Number.isNaN(since)) return reply.code(400).send({ error: 'parameter since is not a time this API can use' });
    return ctx.store.audit.list({ actor: q.actor, action: q.action, target: q.target, since }, q.limit, before);
  });
}

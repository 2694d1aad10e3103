// /api/v1/posture: who may do what in the cluster, by RBAC (who-can), and how far the posture
// watch has synced. The answers come from the posture view (collector/posture/view.ts): while
// the collector has none (no Kubernetes API) or it has not synced every RBAC kind, who-can
// answers 503 saying which, never an answer from part of the bindings.
import type { FastifyInstance } from 'fastify';
import type { Static } from '@sinclair/typebox';
import type { ApiContext } from './context.js';
import { ErrorBody, PostureStatus, WhoCanAnswer, WhoCanQuery } from './schemas.js';
import { requestProblem, whoCan, type AccessRequest } from '../posture/who-can.js';
import { grantHow } from '../posture/grant-forms.js';
import { readPosture } from '../posture/view.js';

/** Seconds a client waits before asking again while the watch syncs. */
const RETRY_AFTER_SECONDS = 5;

export function registerPostureRoutes(app: FastifyInstance, ctx: ApiContext): void {
  app.get<{ Querystring: Static<typeof WhoCanQuery> }>('/api/v1/posture/who-can', {
    schema: {
      operationId: 'whoCan', tags: ['posture'],
      summary: 'Who may do this in the cluster, by RBAC',
      description: 'The subjects (users, groups, ServiceAccounts) the cluster\'s RBAC objects grant the request to, each with every '
        + 'binding, role and rule that grants it and how (resourceNames, subresource, *, a RoleBinding to a ClusterRole, a '
        + 'ServiceAccount group, a non-resource path), and what RBAC cannot see (system:masters, the Node authorizer, other '
        + 'authorizers). Answered from the posture watch: 503 while the collector does not watch the Kubernetes API or has not '
        + 'listed every RBAC kind yet. See docs/cluster-posture.md.',
      querystring: WhoCanQuery,
      response: {
        200: WhoCanAnswer, 400: ErrorBody,
        503: { ...ErrorBody, description: 'Cluster posture is off (the collector does not watch the Kubernetes API) or not synced yet; the error says which' },
      },
    },
  }, async (req, reply) => {
    const q = req.query;
    const request: AccessRequest = {
      verb: q.verb, apiGroup: q.apiGroup ?? '', resource: q.resource ?? '', subresource: q.subresource ?? '',
      namespace: q.namespace ?? '', name: q.name ?? '', nonResourceURL: q.nonResourceURL ?? '',
    };
    // Bad input is a 400 whether or not posture is on: the caller's mistake is said first.
    const problem = requestProblem(request);
    if (problem !== '') return reply.code(400).send({ error: problem });
    const posture = readPosture(ctx.posture);
    if (posture.model === undefined) {
      if (posture.syncing) reply.header('retry-after', String(RETRY_AFTER_SECONDS));
      return reply.code(503).send({ error: posture.problem });
    }
    const answer = whoCan(posture.model, request);
    return {
      request,
      subjects: answer.subjects.map((s) => ({
        subject: { kind: s.subject.kind, name: s.subject.name, namespace: s.subject.kind === 'ServiceAccount' ? s.subject.namespace : '' },
        means: s.means,
        grants: s.grants.map((g) => ({
          binding: g.binding, role: g.role, ruleIndex: g.ruleIndex, rule: g.rule,
          namespace: g.binding.kind === 'RoleBinding' ? g.binding.namespace : '',
          ...grantHow(request, s.subject, g.binding, g.role, g.rule),
        })),
      })),
      caveats: answer.caveats,
    };
  });

  app.get('/api/v1/posture/status', {
    schema: {
      operationId: 'getPostureStatus', tags: ['posture'],
      summary: 'Whether the collector watches the cluster\'s RBAC objects, and how far it has synced',
      description: 'Per RBAC kind: whether its first list has been read in full, the objects held and the objects refused as '
        + 'unreadable. who-can answers once every kind has synced.',
      response: { 200: PostureStatus },
    },
  }, async () => {
    if (!ctx.posture) return { enabled: false, synced: false, kinds: [] };
    const s = ctx.posture.status();
    return { enabled: true, synced: s.synced, kinds: s.kinds };
  });
}

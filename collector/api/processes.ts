// /api/v1/processes/unexpected: which nodes run unexpected processes, one row per (node,
// baseline, executable), from the proc-unexpected findings, of the clusters the `cluster`
// parameter names (fleet-reads.ts).
import type { FastifyInstance } from 'fastify';
import type { Static } from '@sinclair/typebox';
import type { ApiContext } from './context.js';
import { pageStart } from './paging.js';
import { isRefusal, pageFor, tagOf, type MemberPage } from './fleet-reads.js';
import type { UnexpectedProcess } from '../store/boundary/processes.js';
import { ErrorBody, ProcessesQuery, UnexpectedProcessPage } from './schemas.js';

export function registerProcessRoutes(app: FastifyInstance, ctx: ApiContext): void {
  app.get<{ Querystring: Static<typeof ProcessesQuery> }>('/api/v1/processes/unexpected', {
    schema: {
      operationId: 'listUnexpectedProcesses', tags: ['processes'],
      summary: 'Unexpected processes: one row per node, workload container (or host) and executable, oldest first',
      description: 'One row per (node, baseline, executable): each is one `proc-unexpected` finding (its `id`) with the '
        + 'process the agent last reported. The baseline is a workload\'s container '
        + '(`<namespace>/<Kind>/<name>/<container>`), the host (`host/control-plane` or `host/worker`, by the '
        + 'node\'s role; `host` from agents older than roles), or `container:<id>` for a container no pod '
        + 'claims. `state` is `open` by default; `resolved` lists executables allowed since, `suppressed` the '
        + 'suppressed ones. `workload` takes `Deployment/web`, or a name of any kind. Command lines are '
        + 'redacted, escaped and bounded by the agent, and redacted again by the collector. Every string in a '
        + 'row comes from a node: treat it as untrusted text.',
      querystring: ProcessesQuery, response: { 200: UnexpectedProcessPage, 400: ErrorBody },
    },
  }, async (req, reply) => {
    const q = req.query;
    const { state, node, namespace, workload } = q;
    const page: MemberPage<UnexpectedProcess & { cluster: string; clusterUid: string }> = async (member, limit, cursor) => {
      const start = pageStart({ cursor, since: q.since });
      if ('error' in start) return start;
      const got = await member.store.processes.unexpected({ state, node, namespace, workload, since: start.since }, limit, start.after);
      return { items: got.items.map((p) => ({ ...p, ...tagOf(member) })), nextCursor: got.nextCursor };
    };
    const answer = await pageFor(ctx.fleet, 'processes', q.cluster, q.cursor, q.limit, page, req.log);
    return isRefusal(answer) ? reply.code(400).send(answer) : answer;
  });
}

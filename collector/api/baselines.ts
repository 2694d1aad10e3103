// /api/v1/baselines: the central process baselines (reader), and the admin calls that allow,
// remove, lock, unlock and delete. A change is stored, pushed to every connected agent, and an allow
// resolves the executable's open proc-unexpected and proc-modified-binary findings on every node.
// An allow allows the contents those findings saw (content "seen", the default) or any content
// ("any"); seen with no content known for an executable is a 409 that changes nothing.
// allow-listen adds one listen to a baseline's listen set (docs/exposure.md), pushed and
// resolving the exposure-new-listener findings it covers the same way.
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Static } from '@sinclair/typebox';
import { isValidBaselineKey, isValidExecutable } from '../../proto/baseline-key.js';
import { BASELINE_ACTIONS, StoreError, type CentralBaseline } from '../store/store.js';
import type { ApiContext } from './context.js';
import { pick } from './findings.js';
import { parseListen } from '../../proto/listen-item.js';
import { BaselineAllowListenBody, BaselineAllowListenResult, BaselineChangeBody, BaselineChangeResult, BaselineDeleteBody, BaselineDeleteResult, BaselinePage, BaselinesQuery, ErrorBody } from './schemas.js';

const KEY_SYNTAX = 'host/control-plane, host/worker, <namespace>/<Kind>/<workload>/<container> or container:<64 hex> (host: older agents)';

type ChangeBody = Static<typeof BaselineChangeBody>;

const OPERATION_IDS: Record<(typeof BASELINE_ACTIONS)[number], string> = {
  allow: 'allowBaselineExecutables', remove: 'removeBaselineExecutables', lock: 'lockBaseline', unlock: 'unlockBaseline',
};

/** A central baseline with what its processes listened on while learning. */
async function withListens(ctx: ApiContext, b: CentralBaseline | undefined) {
  return b === undefined ? b : { ...b, listens: await ctx.store.baselines.listens(b.key) };
}

export function registerBaselineRoutes(app: FastifyInstance, ctx: ApiContext): void {
  app.get<{ Querystring: Static<typeof BaselinesQuery> }>('/api/v1/baselines', {
    schema: {
      operationId: 'listBaselines', tags: ['baselines'],
      summary: 'Central process baselines: items with the nodes that taught them, removed executables, state',
      description: 'One baseline per key, merged from every node\'s reports, with who locked it and its items. Each item '
        + 'has the nodes that taught it (`taughtBy`; `singleNode` when exactly one ever did, worth a look) and '
        + 'its `digests`: the contents that ran there and belong to the baseline, at most 8. A digest\'s '
        + '`source` is `learned`, `startup`, `operator`, `package` (an upgrade the node\'s package manager '
        + 'recorded), `image` (the first content of a new container image) or `first-sight` (the first content '
        + 'of an item from before contents). An item without digests predates contents: agents learn its first '
        + 'on first sight. `anyContent`: an operator allowed it with any content. A locked baseline takes a '
        + 'node\'s new content only for an item it holds, when the agent judged it (`package`, `image`, '
        + '`first-sight`) or it was on its way at a node\'s lock (received within 30 s of it, docs/central-baselines.md); the rest is counted in '
        + '`nodeward_baseline_digests_refused_total`. Contents joining a locked baseline reach agents with its '
        + 'next adoption. How baselines are learned and shared: docs/architecture.md.',
      querystring: BaselinesQuery, response: { 200: BaselinePage, 400: ErrorBody },
    },
  }, async (req, reply) => {
    const { limit, cursor, ...filter } = req.query;
    const page = await ctx.store.baselines.list(filter, limit, cursor);
    if (!page) return reply.code(400).send({ error: 'parameter cursor is not a cursor this API issued' });
    const items = [];
    for (const b of page.items) items.push({ ...b, listens: await ctx.store.baselines.listens(b.key) });
    return { ...page, items };
  });

  for (const action of BASELINE_ACTIONS) {
    const paths = action === 'allow' || action === 'remove';
    app.post<{ Body: ChangeBody }>(`/api/v1/baselines/${action}`, {
      config: {
        role: 'admin',
        audit: { action: `baseline.${action}`, target: (req: FastifyRequest) => String(pick(req.body, ['key']).key ?? ''), detail: (req) => pick(req.body, ['executables', 'content']) },
      },
      schema: {
        operationId: OPERATION_IDS[action], tags: ['baselines'],
        summary: {
          allow: 'Allow executables in a baseline, with the contents their findings saw or any content (their open findings resolve on every node)',
          remove: 'Remove executables from a baseline (never learned again)',
          lock: 'Lock a baseline: every agent adopts it as it is now',
          unlock: 'Unlock a baseline: agents learn again for a fresh window',
        }[action],
        description: {
          allow: 'Takes `executables` (absolute paths, at most 100) and `content`. `seen` (the default) allows each '
        + 'executable with the contents (SHA-256) its open `proc-unexpected` and `proc-modified-binary` '
        + 'findings on any node recorded. When none of an executable\'s findings carries one (an agent before '
        + 'contents, a file that could not be hashed, or no finding at all), the call is a 409 that changes '
        + 'nothing. `any` allows any content at that path. An allow never narrows an item allowed with any '
        + 'content: remove it and allow it again. Allowing an executable resolves its open `proc-unexpected` '
        + 'and `proc-modified-binary` findings on every node (history `resolved`, `allowed by <token name>`), '
        + 'and the agents stop reporting it.',
          remove: 'Takes `executables` (absolute paths, at most 100). A removed executable is never learned again, from '
        + 'any node, until it is allowed.',
          lock: 'Every agent adopts the baseline as the collector holds it.',
          unlock: 'Agents learn again, for a fresh window.',
        }[action] + ' The change is stored, then pushed at once to every connected agent; the answer says to how many '
        + '(`pushed`). An agent that is offline gets it when it reconnects. 409 when the collector\'s bounds '
        + 'leave no room: 10,000 baselines, 2,048 executables each, 8 contents each (an allow replaces the one '
        + 'seen least recently that no operator allowed). Operators\' changes may create up to 1,000 baselines '
        + 'beyond the 10,000 that nodes\' reports fill.',
        body: BaselineChangeBody, response: { 200: BaselineChangeResult, 400: ErrorBody, 409: ErrorBody, 503: ErrorBody },
      },
    }, async (req, reply) => {
      const { key } = req.body;
      const exes = req.body.executables ?? [];
      if (!isValidBaselineKey(key)) return reply.code(400).send({ error: `body field key is not a baseline key (${KEY_SYNTAX})` });
      if (paths && exes.length === 0) return reply.code(400).send({ error: `body field executables is required: the executables to ${action}` });
      if (!paths && exes.length > 0) return reply.code(400).send({ error: `body field executables is not used by ${action}` });
      if (action !== 'allow' && req.body.content !== undefined) return reply.code(400).send({ error: `body field content is not used by ${action}` });
      const bad = exes.findIndex((p) => !isValidExecutable(p));
      if (bad >= 0) return reply.code(400).send({ error: `body field executables.${bad} must be an absolute path without control characters` });
      if (!ctx.baselines) return reply.code(503).send({ error: 'this collector cannot change baselines' });
      const by = req.principal?.name ?? '';
      try {
        const out = await ctx.baselines.change(action, key, [...new Set(exes)], by, req.body.content ?? 'seen');
        return { action, key, version: out.version, pushed: out.pushed, baseline: await withListens(ctx, await ctx.store.baselines.get(key)) };
      } catch (err) {
        if (err instanceof StoreError && (err.code === 'BASELINE_LIMIT' || err.code === 'NO_CONTENT_SEEN')) return reply.code(409).send({ error: err.message });
        throw err;
      }
    });
  }

  app.post<{ Body: Static<typeof BaselineAllowListenBody> }>('/api/v1/baselines/allow-listen', {
    config: {
      role: 'admin',
      audit: { action: 'baseline.allow-listen', target: (req: FastifyRequest) => String(pick(req.body, ['key']).key ?? ''), detail: (req) => pick(req.body, ['listen']) },
    },
    schema: {
      operationId: 'allowBaselineListen', tags: ['baselines'],
      summary: "Allow a listen in a baseline's listen set (its open exposure-new-listener findings resolve on every node)",
      description: 'Takes `listen`: `<tcp|udp>/<address>:<port>` as the finding names it (`tcp/0.0.0.0:8080`, `udp/[::1]:53`), '
        + 'or `<tcp|udp>/<class>:<port>` for the port on any address of a class (`tcp/private:9090`; loopback, link-local, '
        + 'private, public). The listen joins the baseline\'s listen set as the operator\'s, is pushed at once to every '
        + 'connected agent (the answer says to how many, `pushed`; an offline one gets it when it reconnects, and an agent '
        + 'adopting the baseline gets the whole set), and the open `exposure-new-listener` findings it covers resolve on '
        + 'every node (history `resolved`, `allowed by <token name>: <listen>`; for a class, those whose address the '
        + 'nodes\' latest scans put in it). 400 for a listen that is not one; 409 when the collector\'s bounds leave no '
        + 'room (10,000 baselines, 256 listens each). docs/exposure.md.',
      body: BaselineAllowListenBody, response: { 200: BaselineAllowListenResult, 400: ErrorBody, 409: ErrorBody, 503: ErrorBody },
    },
  }, async (req, reply) => {
    const { key } = req.body;
    if (!isValidBaselineKey(key)) return reply.code(400).send({ error: `body field key is not a baseline key (${KEY_SYNTAX})` });
    const listen = parseListen(req.body.listen);
    if (typeof listen === 'string') return reply.code(400).send({ error: `body field listen: ${listen}` });
    if (!ctx.baselines) return reply.code(503).send({ error: 'this collector cannot change baselines' });
    try {
      const out = await ctx.baselines.allowListen(key, listen, req.principal?.name ?? '');
      return { key, listen: out.listen, version: out.version, pushed: out.pushed, baseline: await withListens(ctx, await ctx.store.baselines.get(key)) };
    } catch (err) {
      if (err instanceof StoreError && err.code === 'BASELINE_LIMIT') return reply.code(409).send({ error: err.message });
      throw err;
    }
  });

  app.post<{ Body: Static<typeof BaselineDeleteBody> }>('/api/v1/baselines/delete', {
    config: { role: 'admin', audit: { action: 'baseline.delete', target: (req: FastifyRequest) => String(pick(req.body, ['key']).key ?? '') } },
    schema: {
      operationId: 'deleteBaseline', tags: ['baselines'],
      summary: 'Delete a baseline: its executables, removals and state (agents keep theirs; a node that runs the workload teaches it again)',
      description: 'Deletes a central baseline with its executables, removals and state; 404 when there is none. Nothing '
        + 'is pushed: agents keep what they learned, and a node that runs the workload teaches it again, '
        + 'learning.',
      body: BaselineDeleteBody, response: { 200: BaselineDeleteResult, 400: ErrorBody, 404: ErrorBody, 503: ErrorBody },
    },
  }, async (req, reply) => {
    const { key } = req.body;
    if (!isValidBaselineKey(key)) return reply.code(400).send({ error: `body field key is not a baseline key (${KEY_SYNTAX})` });
    if (!ctx.baselines) return reply.code(503).send({ error: 'this collector cannot change baselines' });
    if (!(await ctx.baselines.deleteBaseline(key, req.principal?.name ?? ''))) return reply.code(404).send({ error: `no baseline ${key}` });
    return { key, deleted: true };
  });
}

// The dashboard: a few static pages, one script and one stylesheet, served by the
// collector. Logging in exchanges a bearer token for a session cookie; the pages then read
// the query API with that cookie, and an admin's pages make changes through the same API
// calls the CLI uses, with the session's CSRF token (GET /ui/session; api/app.ts checks it).
// The files are read once at start-up.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Metrics } from '../metrics.js';
import type { createAuthenticator } from '../api/auth.js';
import type { FailureLimiter } from '../api/credential-failures.js';
import { fromOwnPage } from '../api/origin.js';
import { clearedSessionCookie, readCookie, SESSION_COOKIE, sessionCookie, type Sessions } from '../api/sessions.js';
import { PROC_MODIFIED_BINARY_CHECK, PROC_UNEXPECTED_CHECK } from '../../proto/process-checks.js';
import { NEW_LISTENER_CHECK_ID } from '../../proto/listen-item.js';

/**
 * The findings whose page offers to allow the executable with the contents seen (or any
 * content): an allow resolves them (proto ALLOW_RESOLVES_CHECK_IDS), and they carry the digest.
 * The page reads the ids from GET /ui/session, so the check ids are spelt in one place.
 */
const ALLOW_FROM = [PROC_UNEXPECTED_CHECK.id, PROC_MODIFIED_BINARY_CHECK.id];
/** The findings whose page offers to allow their listen (subject `<key>:<listen>`): allow-listen resolves them. */
const ALLOW_LISTEN_FROM = [NEW_LISTENER_CHECK_ID];

/** Where the page files live: collector/ui/static in the checkout (next to dist/). */
export const STATIC_DIR = fileURLToPath(new URL('../../../collector/ui/static/', import.meta.url));

/** The pages behind the login, each page.html with its title and the name app.js draws it by (body data-page). */
const PAGES = {
  '/ui/': { page: 'overview', title: 'Overview' }, '/ui/findings': { page: 'findings', title: 'Findings' },
  '/ui/processes': { page: 'processes', title: 'Unexpected processes' }, '/ui/node': { page: 'node', title: 'Node' },
  '/ui/finding': { page: 'finding', title: 'Finding' }, '/ui/baselines': { page: 'baselines', title: 'Baselines' },
  '/ui/webhooks': { page: 'webhooks', title: 'Webhooks' }, '/ui/audit': { page: 'audit', title: 'Audit log' },
  '/ui/who-can': { page: 'who-can', title: 'Who can' },
} as const;
const ASSETS = { 'app.js': 'text/javascript; charset=utf-8', 'style.css': 'text/css; charset=utf-8', 'icon.svg': 'image/svg+xml' } as const;

export interface DashboardDeps {
  readonly auth: ReturnType<typeof createAuthenticator>;
  readonly sessions: Sessions;
  readonly metrics: Metrics;
  readonly now: () => number;
  /** Failed credentials, shared with the API's bearer tokens (api/credential-failures.ts). */
  readonly failures: FailureLimiter;
  /** Origins besides the collector's own that may post the login form (api/origin.ts). */
  readonly allowedOrigins: readonly string[];
  readonly dir?: string;
}

export async function registerDashboard(app: FastifyInstance, deps: DashboardDeps): Promise<void> {
  const dir = deps.dir ?? STATIC_DIR;
  const file = (name: string): Buffer => readFileSync(`${dir}${name}`);
  const html = (body: Buffer | string) => async (_req: FastifyRequest, reply: FastifyReply) =>
    reply.type('text/html; charset=utf-8').header('cache-control', 'no-store').send(body);
  const shell = file('page.html').toString('utf8');
  const assets = new Map(Object.entries(ASSETS).map(([name, type]) => [name, { body: file(name), type }]));
  const { failures } = deps;

  const hidden = { hide: true } as const;
  app.get('/', { config: { public: true }, schema: hidden }, async (_req, reply) => reply.code(303).header('location', '/ui/').send());
  app.get('/ui', { config: { public: true }, schema: hidden }, async (_req, reply) => reply.code(303).header('location', '/ui/').send());
  for (const [path, p] of Object.entries(PAGES)) {
    app.get(path, { config: { page: true }, schema: hidden }, html(shell.replace('{{title}}', p.title).replace('{{page}}', p.page)));
  }
  // Who the session is, for the page to offer what the role may do, and the session's CSRF
  // token for its writes. Only for the session cookie: a bearer token has no session (and
  // no other site can read this answer: no CORS, and the cookie is SameSite=Strict).
  app.get('/ui/session', { schema: hidden }, async (req, reply) => {
    if (!req.session) return reply.code(404).send({ error: 'no dashboard session: this is answered only to the session cookie' });
    return { name: req.session.principal.name, role: req.session.principal.role, csrfToken: req.session.csrfToken, allowFrom: ALLOW_FROM, allowListenFrom: ALLOW_LISTEN_FROM };
  });
  app.get('/ui/login', { config: { public: true }, schema: hidden }, html(file('login.html')));
  app.get<{ Params: { file: string } }>('/ui/assets/:file', { config: { public: true }, schema: hidden }, async (req, reply) => {
    const a = assets.get(req.params.file);
    if (!a) return reply.code(404).send({ error: 'no such file' });
    return reply.type(a.type).header('cache-control', 'no-cache').send(a.body);
  });

  await app.register(async (ui) => {
    ui.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string', bodyLimit: 4096 }, (_req, body, done) => {
      done(null, Object.fromEntries(new URLSearchParams(body as string)));
    });

    // Only from the dashboard's own page (login CSRF, api/origin.ts). The token is checked
    // first: a correct one always logs in, whoever failed before from the same address; a
    // wrong one is charged to the failure limits, and over them the answer says to wait.
    // Refusals are audited in aggregate (store/audit.ts); a login is one record.
    ui.post('/ui/login', {
      config: { public: true, audit: { action: 'ui.login', detail: () => ({ outcome: 'logged in' }) } },
      schema: hidden,
    }, async (req, reply) => {
      const refused = (reason: string, error: string): FastifyReply => {
        req.refusal = { action: 'ui.login', reason };
        deps.metrics.inc('nodeward_ui_logins_total', 1, { outcome: reason });
        return reply.code(303).header('location', `/ui/login?error=${error}`);
      };
      if (!fromOwnPage(req, deps.allowedOrigins)) return refused('cross-origin', 'origin').send();
      const token = typeof req.body === 'object' && req.body !== null ? (req.body as Record<string, unknown>).token : undefined;
      const given = typeof token === 'string' && token.trim() !== '';
      const principal = given ? deps.auth.authenticate(`Bearer ${token.trim()}`) : undefined;
      if (!principal) {
        const verdict = failures.fail(req.ip);
        deps.metrics.inc('nodeward_auth_failures_total', 1,
          { surface: 'login', answer: verdict.allowed ? 'refused' : 'limited' });
        if (!verdict.allowed) return refused('over-failure-limit', 'busy').header('retry-after', String(verdict.retryAfterSeconds)).send();
        return refused(given ? 'bad-credentials' : 'no-credentials', 'token').send();
      }
      req.principal = principal;
      const session = await deps.sessions.create(principal);
      deps.metrics.inc('nodeward_ui_logins_total', 1, { outcome: 'ok' });
      return reply.code(303).header('set-cookie', sessionCookie(session.id, session.maxAgeSeconds)).header('location', '/ui/').send();
    });

    // Public: it ends whatever session the cookie names (SameSite=Strict keeps other sites from sending it).
    ui.post('/ui/logout', { config: { public: true, audit: { action: 'ui.logout' } }, schema: hidden }, async (req, reply) => {
      const id = readCookie(req.headers.cookie, SESSION_COOKIE);
      const session = await deps.sessions.get(id);
      if (session) req.principal = session.principal;
      await deps.sessions.end(id);
      return reply.code(303).header('set-cookie', clearedSessionCookie()).header('location', '/ui/login').send();
    });
  });
}

// The dashboard as HTTP sees it: the token-for-cookie exchange, the cookie's flags, what a
// session may and may not do, the security headers, and the OpenAPI document's coverage.
// (test/e2e/dashboard.test.ts drives the same pages in a real browser.)
import test from 'ava';
import { request } from 'node:https';
import { readFileSync } from 'node:fs';
import { ADMIN_TOKEN, READER_TOKEN, type TestCollector } from '../helpers/collector.js';
import { api, connect, fp, proc, withCollector } from '../helpers/agent-session.js';
import { STATIC_DIR } from '../../collector/ui/routes.js';

interface Raw { status: number; headers: Record<string, string | string[] | undefined>; text: string }

/**
 * `headers` are sent as given; a form posted without them carries the collector's own Origin,
 * as the login page's form does in a browser.
 */
function raw(tc: TestCollector, path: string, opts: { method?: string; cookie?: string; form?: Record<string, string>; json?: unknown; headers?: Record<string, string> } = {}): Promise<Raw> {
  const body = opts.form ? new URLSearchParams(opts.form).toString() : opts.json !== undefined ? JSON.stringify(opts.json) : undefined;
  return new Promise((resolve, reject) => {
    const req = request(`${tc.apiUrl}${path}`, {
      method: opts.method ?? 'GET', ca: tc.ca,
      headers: {
        ...(opts.headers ?? (opts.form ? { origin: new URL(tc.apiUrl).origin } : {})),
        ...(opts.cookie ? { cookie: opts.cookie } : {}),
        ...(opts.form ? { 'content-type': 'application/x-www-form-urlencoded' } : {}),
        ...(opts.json !== undefined ? { 'content-type': 'application/json' } : {}),
      },
    }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, text: Buffer.concat(chunks).toString('utf8') }));
    });
    req.on('error', reject);
    if (body) req.write(body);
    req.end();
  });
}

async function login(tc: TestCollector, token: string): Promise<string> {
  const res = await raw(tc, '/ui/login', { method: 'POST', form: { token } });
  if (res.status !== 303) throw new Error(`login: ${res.status}`);
  const set = [res.headers['set-cookie'] ?? []].flat()[0];
  if (!set) throw new Error(`login refused: ${res.headers.location}`);
  return set.split(';')[0]!;
}

test('login exchanges a token for an HttpOnly, Secure, SameSite=Strict session cookie; a bad token gets none', (t) => withCollector(async (tc) => {
  const ok = await raw(tc, '/ui/login', { method: 'POST', form: { token: READER_TOKEN } });
  t.is(ok.status, 303);
  t.is(ok.headers.location, '/ui/');
  const cookies = [ok.headers['set-cookie'] ?? []].flat();
  t.is(cookies.length, 1);
  const attrs = cookies[0]!.split(';').map((s) => s.trim());
  t.regex(attrs[0]!, /^__Host-nodeward-session=[A-Za-z0-9_-]{43}$/);
  for (const flag of ['HttpOnly', 'Secure', 'SameSite=Strict', 'Path=/']) t.true(attrs.includes(flag), `${flag} in ${cookies[0]}`);
  t.false(cookies[0]!.includes(READER_TOKEN), 'the token itself is not the cookie');
  t.false(attrs.some((a) => a.startsWith('Domain')), 'host-only');

  const bad = await raw(tc, '/ui/login', { method: 'POST', form: { token: 'wrong-token-0123456789' } });
  t.is(bad.status, 303);
  t.is(bad.headers.location, '/ui/login?error=token');
  t.is(bad.headers['set-cookie'], undefined);
  const empty = await raw(tc, '/ui/login', { method: 'POST', form: {} });
  t.is(empty.headers.location, '/ui/login?error=token');
}));

test('a session reads the API and pages; without its CSRF token it cannot write, and logging out ends it', (t) => withCollector(async (tc) => {
  const a = await connect(tc, 'node-a');
  await a.batch([proc('/usr/bin/nc')]);
  a.close();
  const id = fp('node-a', 'proc-unexpected', '/usr/bin/nc');

  // Without a session: pages send the browser to the login page, the API says 401.
  const anon = await raw(tc, '/ui/');
  t.is(anon.status, 303);
  t.is(anon.headers.location, '/ui/login');
  t.is((await raw(tc, '/ui/findings?state=open')).headers.location, '/ui/login');
  t.is((await raw(tc, '/api/v1/findings')).status, 401);
  t.is((await raw(tc, '/ui/login')).status, 200, 'the login page itself is public');
  t.is((await raw(tc, '/')).headers.location, '/ui/');

  const cookie = await login(tc, ADMIN_TOKEN);
  const page = await raw(tc, '/ui/', { cookie });
  t.is(page.status, 200);
  t.regex(String(page.headers['content-type']), /^text\/html/);
  t.regex(page.text, /<script type="module" src="\/ui\/assets\/app.js"><\/script>/);
  t.regex(page.text, /<title>Overview · nodeward<\/title>/);
  t.regex(page.text, /<body data-page="overview">/);
  const node = await raw(tc, '/ui/node?name=node-a', { cookie });
  t.is(node.status, 200);
  t.regex(node.text, /<title>Node · nodeward<\/title>[\s\S]*<body data-page="node">/, 'each page names itself');
  t.false(node.text.includes('{{'), 'no placeholder left');
  const list = await raw(tc, '/api/v1/findings', { cookie });
  t.is(list.status, 200);
  t.is(JSON.parse(list.text).items[0].id, id);

  // An admin's session writes only from the dashboard's page with the session's CSRF token (below).
  const write = await raw(tc, `/api/v1/findings/${id}/suppress`, { method: 'POST', cookie, json: { reason: 'via cookie' } });
  t.is(write.status, 403);
  t.is((await api(tc, `/api/v1/findings/${id}`)).body.state, 'open');

  const out = await raw(tc, '/ui/logout', { method: 'POST', cookie });
  t.is(out.status, 303);
  t.regex(String([out.headers['set-cookie']].flat()[0]), /Max-Age=0/);
  t.is((await raw(tc, '/api/v1/findings', { cookie })).status, 401, 'the session is gone on the server');
  t.is((await raw(tc, '/api/v1/findings', { cookie: '__Host-nodeward-session=forged-session-id-000000000000000000000000' })).status, 401);
}));

test('every response carries a strict Content-Security-Policy and the other security headers; assets are served with their types', (t) => withCollector(async (tc) => {
  for (const path of ['/ui/login', '/ui/assets/app.js', '/api/v1/findings', '/healthz']) {
    const res = await raw(tc, path);
    const csp = String(res.headers['content-security-policy']);
    t.is(csp, "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'", path);
    t.false(/unsafe-inline|unsafe-eval/.test(csp));
    t.is(res.headers['x-content-type-options'], 'nosniff');
    t.is(res.headers['x-frame-options'], 'DENY');
    t.is(res.headers['referrer-policy'], 'no-referrer');
  }
  t.regex(String((await raw(tc, '/ui/assets/app.js')).headers['content-type']), /^text\/javascript/);
  t.regex(String((await raw(tc, '/ui/assets/style.css')).headers['content-type']), /^text\/css/);
  t.is((await raw(tc, '/ui/assets/..%2f..%2fpackage.json')).status, 404);
  t.is((await raw(tc, '/ui/assets/secret.txt')).status, 404);
}));

test('the dashboard pages hold no inline script or style, and the script never writes HTML', (t) => {
  // page.html is every page behind the login (ui/routes.ts fills in its title and name).
  for (const page of ['page.html', 'login.html']) {
    const html = readFileSync(`${STATIC_DIR}${page}`, 'utf8');
    const scripts = [...html.matchAll(/<script\b([^>]*)>([\s\S]*?)<\/script>/g)];
    t.true(scripts.length > 0, page);
    for (const [, attrs, body] of scripts) {
      t.regex(attrs!, /src="\/ui\/assets\/app\.js"/, `${page}: scripts come from the collector`);
      t.is(body!.trim(), '', `${page}: no inline script`);
    }
    t.false(/<style|\sstyle=|\son[a-z]+=/i.test(html), `${page}: no inline style or event handler`);
  }
  const js = readFileSync(`${STATIC_DIR}app.js`, 'utf8').replace(/^\s*\/\/.*$/gm, '');
  for (const sink of ['innerHTML', 'outerHTML', 'insertAdjacentHTML', 'document.write', 'eval(', 'new Function', 'srcdoc']) {
    t.false(js.includes(sink), `app.js uses ${sink}`);
  }
});

test('the OpenAPI document describes every API call, and none of the dashboard routes', (t) => withCollector(async (tc) => {
  const doc = (await api(tc, '/api/v1/openapi.json')).body;
  const paths = doc.paths ?? {};
  for (const [path, method] of [
    ['/api/v1/findings', 'get'], ['/api/v1/findings/{id}', 'get'], ['/api/v1/findings/{id}/suppress', 'post'],
    ['/api/v1/findings/{id}/unsuppress', 'post'], ['/api/v1/nodes', 'get'], ['/api/v1/nodes/{name}', 'get'],
    ['/api/v1/summary', 'get'], ['/api/v1/audit', 'get'],
  ] as const) {
    t.truthy(paths[path]?.[method], `${method.toUpperCase()} ${path} is documented`);
  }
  t.false(Object.keys(paths).some((p) => p.startsWith('/ui') || p === '/'), Object.keys(paths).join(', '));
  const summaryParams = (paths['/api/v1/summary'].get.parameters as any[]).map((p) => p.name).sort();
  t.deepEqual(summaryParams, ['cluster', 'state', 'top']);
  t.truthy(paths['/api/v1/findings/{id}'].get.responses['200'].content['application/json'].schema.properties.history);
}));

test('failed logins are slowed down after ten from one address; the right token still logs in from it; refusals are audited in aggregate', (t) => withCollector(async (tc) => {
  for (let i = 0; i < 12; i++) t.truthy(await login(tc, READER_TOKEN), 'successful logins are not limited');
  for (let i = 0; i < 10; i++) {
    const res = await raw(tc, '/ui/login', { method: 'POST', form: { token: `guess-${i}-0123456789abcdef` } });
    t.is(res.headers.location, '/ui/login?error=token', `guess ${i}`);
  }
  const busy = await raw(tc, '/ui/login', { method: 'POST', form: { token: 'guess-10-0123456789abcdef' } });
  t.is(busy.status, 303);
  t.is(busy.headers.location, '/ui/login?error=busy');
  t.true(Number(busy.headers['retry-after']) >= 1);
  // Behind an ingress everyone shares this address: the right token must still get in.
  const right = await raw(tc, '/ui/login', { method: 'POST', form: { token: READER_TOKEN } });
  t.is(right.headers.location, '/ui/');
  t.truthy(right.headers['set-cookie'], 'the right token logs in while the address is over its failure limit');
  const log = (await api(tc, '/api/v1/audit?action=ui.login&limit=1000', { token: ADMIN_TOKEN })).body.items;
  const refused = log.filter((r: any) => r.detail.outcome === 'refused');
  t.deepEqual(refused.map((r: any) => [r.detail.reason, r.count]).sort(), [['bad-credentials', 10], ['over-failure-limit', 1]],
    'one row per reason for this address, with the count');
  t.is(log.filter((r: any) => r.detail.outcome === 'logged in').length, 13, 'each login is its own record');
}));

test('the login form is taken only from the dashboard\'s own page (login CSRF): a cross-site post gets no session', (t) => withCollector(async (tc) => {
  const own = new URL(tc.apiUrl).origin;
  const post = (headers: Record<string, string>) => raw(tc, '/ui/login', { method: 'POST', form: { token: READER_TOKEN }, headers });
  const cases: Array<[string, Record<string, string>, boolean]> = [
    // What Chromium sends from the login page, which is served with Referrer-Policy: no-referrer.
    ['Origin null, Sec-Fetch-Site same-origin (a current browser)', { origin: 'null', 'sec-fetch-site': 'same-origin' }, true],
    ['its own origin, Sec-Fetch-Site same-origin', { origin: own, 'sec-fetch-site': 'same-origin' }, true],
    ['its own origin, no Fetch Metadata (an older browser)', { origin: own }, true],
    ['another site', { origin: 'https://attacker.example', 'sec-fetch-site': 'cross-site' }, false],
    ['another site, no Fetch Metadata', { origin: 'https://attacker.example' }, false],
    ['another port on the same host, no Fetch Metadata', { origin: own.replace(/:\d+$/, ':1') }, false],
    ['a sibling site, by Fetch Metadata', { 'sec-fetch-site': 'same-site' }, false],
    ['Fetch Metadata says cross-site whatever Origin says', { origin: own, 'sec-fetch-site': 'cross-site' }, false],
    ['Origin null without Fetch Metadata (a sandboxed frame)', { origin: 'null' }, false],
    ['neither Origin nor Fetch Metadata (not a browser page)', {}, false],
  ];
  for (const [what, headers, accepted] of cases) {
    const res = await post(headers);
    t.is(res.status, 303, what);
    if (accepted) {
      t.is(res.headers.location, '/ui/', what);
      t.truthy(res.headers['set-cookie'], what);
    } else {
      t.is(res.headers.location, '/ui/login?error=origin', what);
      t.is(res.headers['set-cookie'], undefined, what);
    }
  }
  const log = (await api(tc, '/api/v1/audit?action=ui.login', { token: ADMIN_TOKEN })).body.items;
  t.is(log.find((r: any) => r.detail.reason === 'cross-origin')?.count, 7, 'the refusals, in one aggregated record');
}));

test('api.allowedOrigins lets the login be posted from the address a proxy in front is reached by', (t) => withCollector(async (tc) => {
  const res = await raw(tc, '/ui/login', { method: 'POST', form: { token: READER_TOKEN }, headers: { origin: 'https://nodeward.example.com' } });
  t.is(res.headers.location, '/ui/');
  const other = await raw(tc, '/ui/login', { method: 'POST', form: { token: READER_TOKEN }, headers: { origin: 'https://evil.example.com' } });
  t.is(other.headers.location, '/ui/login?error=origin');
}, { overrides: { 'api.allowedOrigins': ['https://nodeward.example.com'] } }));

/** The headers a browser sends with a fetch from the dashboard's own page. */
const OWN_PAGE = { 'sec-fetch-site': 'same-origin', origin: 'null' } as const;

test("a session's writes need the dashboard's own page and the session's CSRF token; bearer tokens are unaffected; refusals are audited and counted", (t) => withCollector(async (tc) => {
  const a = await connect(tc, 'node-a');
  await a.batch([proc('/usr/bin/nc'), proc('/usr/bin/socat')]);
  a.close();
  const nc = fp('node-a', 'proc-unexpected', '/usr/bin/nc');
  const socat = fp('node-a', 'proc-unexpected', '/usr/bin/socat');
  const cookie = await login(tc, ADMIN_TOKEN);

  // The session endpoint: only for the cookie, never for a bearer token.
  const me = await raw(tc, '/ui/session', { cookie });
  t.is(me.status, 200);
  const session = JSON.parse(me.text) as { name: string; role: string; csrfToken: string };
  t.like(session, { name: 'admin', role: 'admin' });
  t.regex(session.csrfToken, /^[A-Za-z0-9_-]{43}$/);
  t.false(String([me.headers['set-cookie'] ?? []].flat()).includes(session.csrfToken), 'the CSRF token is never in a cookie');
  t.is(me.headers['cache-control'], 'no-store');
  t.is((await raw(tc, '/ui/session')).status, 401);
  t.is((await api(tc, '/ui/session', { token: ADMIN_TOKEN })).status, 404, 'a bearer token has no session');
  const other = JSON.parse((await raw(tc, '/ui/session', { cookie: await login(tc, ADMIN_TOKEN) })).text) as { csrfToken: string };
  t.not(other.csrfToken, session.csrfToken, 'each session has its own token');

  const suppress = (headers: Record<string, string>, who = cookie) =>
    raw(tc, `/api/v1/findings/${nc}/suppress`, { method: 'POST', cookie: who, json: { reason: 'forged' }, headers });
  const refusals: Array<[string, Record<string, string>, string]> = [
    ['no CSRF token', { ...OWN_PAGE }, 'no-csrf-token'],
    ['an empty CSRF token', { ...OWN_PAGE, 'x-nodeward-csrf': '' }, 'bad-csrf-token'],
    ['a wrong CSRF token', { ...OWN_PAGE, 'x-nodeward-csrf': 'A'.repeat(43) }, 'bad-csrf-token'],
    ["another session's CSRF token", { ...OWN_PAGE, 'x-nodeward-csrf': other.csrfToken }, 'bad-csrf-token'],
    ['the right token from another site', { 'sec-fetch-site': 'cross-site', origin: 'https://attacker.example', 'x-nodeward-csrf': session.csrfToken }, 'cross-origin'],
    ['the right token, another origin, no Fetch Metadata', { origin: 'https://attacker.example', 'x-nodeward-csrf': session.csrfToken }, 'cross-origin'],
    ['the right token, neither Origin nor Fetch Metadata', { 'x-nodeward-csrf': session.csrfToken }, 'cross-origin'],
  ];
  for (const [what, headers, reason] of refusals) {
    const res = await suppress(headers);
    t.is(res.status, 403, what);
    t.regex(JSON.parse(res.text).error, reason === 'cross-origin' ? /own page/ : /CSRF token/, what);
  }
  t.is((await api(tc, `/api/v1/findings/${nc}`)).body.state, 'open', 'nothing refused changed the finding');

  // From its own page with its token, the session writes; the record names the token and says how.
  const done = await suppress({ ...OWN_PAGE, 'x-nodeward-csrf': session.csrfToken });
  t.is(done.status, 200, done.text);
  t.is(JSON.parse(done.text).state, 'suppressed');
  const own = new URL(tc.apiUrl).origin;
  const older = await raw(tc, `/api/v1/findings/${nc}/unsuppress`, { method: 'POST', cookie, headers: { origin: own, 'x-nodeward-csrf': session.csrfToken } });
  t.is(older.status, 200, 'an older browser: its own Origin, no Fetch Metadata');

  // A reader's session with its token passes the CSRF defence and meets the role check.
  const readerCookie = await login(tc, READER_TOKEN);
  const readerToken = (JSON.parse((await raw(tc, '/ui/session', { cookie: readerCookie })).text) as { csrfToken: string; role: string });
  t.is(readerToken.role, 'reader');
  const byReader = await raw(tc, `/api/v1/findings/${socat}/suppress`, { method: 'POST', cookie: readerCookie, json: { reason: 'r' }, headers: { ...OWN_PAGE, 'x-nodeward-csrf': readerToken.csrfToken } });
  t.is(byReader.status, 403);
  t.regex(JSON.parse(byReader.text).error, /admin role/);

  // Bearer tokens: no origin, no CSRF token, as before.
  const bearer = await api(tc, `/api/v1/findings/${socat}/suppress`, { token: ADMIN_TOKEN, method: 'POST', body: { reason: 'by the CLI' } });
  t.is(bearer.status, 200);

  const log = (await api(tc, '/api/v1/audit?limit=1000', { token: ADMIN_TOKEN })).body.items as any[];
  const suppressions = log.filter((r) => r.action === 'finding.suppress');
  t.deepEqual(suppressions.map((r) => [r.actor, r.target, r.status, r.detail]).reverse(), [
    ['admin', nc, 200, { reason: 'forged', via: 'dashboard' }],
    ['reader', socat, 403, { via: 'dashboard' }], // refused before its body was read
    ['admin', socat, 200, { reason: 'by the CLI' }],
  ]);
  t.like(log.find((r) => r.action === 'finding.unsuppress'), { actor: 'admin', status: 200, detail: { via: 'dashboard' } });
  const refused = log.filter((r) => r.action === 'ui.write');
  t.deepEqual(refused.map((r) => [r.detail.reason, r.count]).sort(), [['bad-csrf-token', 3], ['cross-origin', 3], ['no-csrf-token', 1]]);
  for (const r of log) t.false(JSON.stringify(r).includes(session.csrfToken), 'no CSRF token in the audit log');
  const metrics = (await raw(tc, '/metrics')).text;
  t.regex(metrics, /nodeward_ui_write_refusals_total\{reason="cross-origin"\} 3/);
  t.regex(metrics, /nodeward_ui_write_refusals_total\{reason="bad-csrf-token"\} 3/);
  t.regex(metrics, /nodeward_ui_write_refusals_total\{reason="no-csrf-token"\} 1/);
}));

// Admins' actions in the dashboard, in a real browser (Debian's headless Chromium driven by
// playwright-core) against an in-process collector fed over mTLS gRPC: suppress and
// unsuppress a finding, allow an unexpected executable, lock and unlock its baseline, delete
// a decommissioned node, and read the audit record of each. A reader's pages offer no action.
// A page on a sibling site (same host, another port: the browser sends the SameSite=Strict
// cookie with it) that posts a write is refused by the CSRF defence. One browser for the file.
import test, { type ExecutionContext } from 'ava';
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { browserTest, launchBrowser } from '../helpers/browser.js';
import { ADMIN_TOKEN, READER_TOKEN, type TestCollector } from '../helpers/collector.js';
import { api, connect, fp, proc, result, withCollector } from '../helpers/agent-session.js';
import { unexpectedProcess } from '../helpers/process-finding.js';
import { eventually } from '../helpers/https.js';


let shared: Promise<Browser> | undefined;
/** The file's one browser, launched by the first test that needs it. */
const browser = (): Promise<Browser> => (shared ??= launchBrowser());
test.after.always(async () => {
  if (shared) await (await shared).close();
});

const ready = (page: Page) => page.waitForSelector('body[data-ready="true"]', { timeout: 15_000 });
const text = async (page: Page, selector: string): Promise<string> => ((await page.textContent(selector)) ?? '').trim();

type LogIn = (token: string) => Promise<Page>;

/**
 * A test against a fresh collector, with fresh browser contexts logged in through the login
 * page (`logIn`). The contexts close before the collector stops: their keep-alive connections
 * would hold its API open for a minute.
 */
function withBrowser(t: ExecutionContext, run: (tc: TestCollector, logIn: LogIn) => Promise<void>): Promise<void> {
  return withCollector(async (tc) => {
    const contexts: BrowserContext[] = [];
    try {
      await run(tc, async (token) => {
        const context = await (await browser()).newContext({ ignoreHTTPSErrors: true, viewport: { width: 1360, height: 900 } });
        contexts.push(context);
        return loggedIn(t, tc, context, token);
      });
    } finally {
      await Promise.all(contexts.map((c) => c.close()));
    }
  });
}

/** A page of `context` logged in with `token`; dialogs (script that ran) fail the test. */
async function loggedIn(t: ExecutionContext, tc: TestCollector, context: BrowserContext, token: string): Promise<Page> {
  const page = await context.newPage();
  page.on('dialog', (d) => {
    t.fail(`a dialog opened: ${d.message()}`);
    void d.dismiss();
  });
  await page.goto(`${tc.apiUrl}/ui/login`);
  await page.fill('#token', token);
  await page.click('button[type=submit]');
  await ready(page);
  return page;
}

async function visit(page: Page, tc: TestCollector, path: string): Promise<void> {
  await page.goto(`${tc.apiUrl}${path}`);
  await ready(page);
}

const audit = async (tc: TestCollector, query: string): Promise<any[]> => (await api(tc, `/api/v1/audit?${query}`, { token: ADMIN_TOKEN })).body.items;

browserTest('an admin suppresses a finding with a reason, sees it leave the open list and the suppression in the audit log; lifts it; deletes a decommissioned node', (t) => withBrowser(t, async (tc, logIn) => {
  const a = await connect(tc, 'node-a');
  await a.batch([proc('/usr/bin/nc'), proc('/usr/bin/socat')]);
  const b = await connect(tc, 'node-b');
  await b.batch([proc('/usr/bin/nc')]);
  b.close();
  const nc = fp('node-a', 'proc-unexpected', '/usr/bin/nc');
  const socat = fp('node-a', 'proc-unexpected', '/usr/bin/socat');
  const page = await logIn(ADMIN_TOKEN);
  t.is(await text(page, '#who'), 'admin (admin)');
  t.true(await page.isVisible('nav a[data-nav="audit"]'), 'admins see the audit log in the menu');

  await visit(page, tc, `/ui/finding?id=${nc}`);
  // An empty reason is not sent: the form asks for one.
  await page.click('#suppress');
  t.is((await api(tc, `/api/v1/findings/${nc}`)).body.state, 'open');
  await page.fill('#suppress-reason', 'lab node: <b>accepted</b>');
  await page.fill('#suppress-until', '2099-06-01T12:00');
  await page.click('#suppress');
  await page.waitForSelector('h1 .state-suppressed');
  t.regex(await text(page, '.facts'), /lab node: <b>accepted<\/b> \(by admin, until 2099-06-01T/);
  t.like((await api(tc, `/api/v1/findings/${nc}`)).body, { state: 'suppressed', suppressedBy: 'admin', suppressedReason: 'lab node: <b>accepted</b>' });

  await visit(page, tc, '/ui/findings?state=open&node=node-a');
  t.deepEqual(await page.locator('#findings-table tbody tr').evaluateAll((rows) => rows.map((r) => r.getAttribute('data-id'))), [socat], 'it left the open list');

  await visit(page, tc, '/ui/audit');
  const row = page.locator(`#audit-table tbody tr[data-action="finding.suppress"][data-target="${nc}"]`);
  t.is(await row.count(), 1);
  const cells = await row.locator('td').allTextContents();
  t.is(cells[1], 'admin');
  t.is(cells[5], '200');
  t.deepEqual(JSON.parse(cells[6]!), { reason: 'lab node: <b>accepted</b>', until: new Date('2099-06-01T12:00').toISOString(), via: 'dashboard' });
  await visit(page, tc, '/ui/audit?action=ui.login');
  t.deepEqual(await page.locator('#audit-table tbody tr').evaluateAll((rows) => rows.map((r) => r.getAttribute('data-action'))), ['ui.login'], 'the filter is the API\'s');

  await visit(page, tc, `/ui/finding?id=${nc}`);
  await page.click('#unsuppress');
  await page.waitForSelector('h1 .state-open');
  t.is((await api(tc, `/api/v1/findings/${nc}`)).body.state, 'open');

  // A node whose agent has gone: deleted from its page, in two clicks.
  await eventually('node-b to be disconnected', async () => ((await api(tc, '/api/v1/nodes/node-b')).body.connected === false ? true : undefined));
  await visit(page, tc, '/ui/node?name=node-a');
  t.is(await page.locator('#delete-node').count(), 0, 'a connected node offers no delete');
  await visit(page, tc, '/ui/node?name=node-b');
  t.true(await page.isHidden('#delete-node-confirm'));
  await page.click('#delete-node');
  await page.click('#delete-node-confirm');
  await page.waitForURL(`${tc.apiUrl}/ui/`);
  t.is((await api(tc, '/api/v1/nodes/node-b')).status, 404);
  t.like((await audit(tc, 'action=node.delete'))[0], { actor: 'admin', target: 'node-b', status: 200, detail: { via: 'dashboard' } });
  a.close();
}));

browserTest('an admin allows an unexpected executable with the content seen; the finding resolves; the baseline is locked and unlocked from its page', (t) => withBrowser(t, async (tc, logIn) => {
  const SHA = 'ab12'.repeat(16);
  const a = await connect(tc, 'node-a', { hostBaselineKey: 'host/worker' });
  await a.batch([unexpectedProcess('host/worker', '/usr/local/bin/miner', Date.now(), 1, { identity: { sha256: SHA, size: 4096, baselineSha256: [] } })]);
  const [finding] = (await api(tc, '/api/v1/findings?check=proc-unexpected')).body.items;
  t.like(finding.detail, { baseline: 'host/worker', exe: '/usr/local/bin/miner', identity: { sha256: SHA } });
  const page = await logIn(ADMIN_TOKEN);

  await visit(page, tc, `/ui/finding?id=${finding.id}`);
  t.is(await text(page, '#allow code.digest'), SHA, 'the content seen is shown');
  await page.click('#allow-seen');
  await page.waitForSelector('h1 .state-resolved');
  t.is(await page.locator('#allow').count(), 0, 'nothing left to allow');
  const detail = (await api(tc, `/api/v1/findings/${finding.id}`)).body;
  t.like(detail, { state: 'resolved' });
  t.like(detail.history[0], { event: 'resolved', note: 'allowed by admin' });
  const baseline = (await api(tc, '/api/v1/baselines?key=host/worker')).body.items[0];
  const item = baseline.items.find((i: any) => i.path === '/usr/local/bin/miner');
  t.deepEqual(item.digests.map((d: any) => d.sha256), [SHA], 'allowed with the content seen, not any content');
  t.false(item.anyContent);
  t.like((await audit(tc, 'action=baseline.allow'))[0], { actor: 'admin', target: 'host/worker', status: 200, detail: { executables: ['/usr/local/bin/miner'], content: 'seen', via: 'dashboard' } });

  await visit(page, tc, '/ui/baselines');
  const row = page.locator('#baselines-table tbody tr[data-key="host/worker"]');
  t.is(await row.getAttribute('data-state'), baseline.state);
  await row.locator('button.action', { hasText: 'Lock' }).click();
  await page.waitForSelector('#baselines-table tbody tr[data-key="host/worker"][data-state="locked"]');
  t.like((await api(tc, '/api/v1/baselines?key=host/worker')).body.items[0], { state: 'locked', lockedByName: 'admin' });
  await page.locator('#baselines-table tbody tr[data-key="host/worker"] button.action', { hasText: 'Unlock' }).click();
  await page.waitForSelector('#baselines-table tbody tr[data-key="host/worker"][data-state="learning"]');
  t.deepEqual((await audit(tc, 'target=host/worker')).map((r) => [r.action, r.status, r.detail.via]),
    [['baseline.unlock', 200, 'dashboard'], ['baseline.lock', 200, 'dashboard'], ['baseline.allow', 200, 'dashboard']]);
  a.close();
}));

browserTest("an admin allows the listen of an exposure-new-listener finding; it resolves, saying who allowed what", (t) => withBrowser(t, async (tc, logIn) => {
  const KEY = 'shop/Deployment/web/nginx';
  const a = await connect(tc, 'node-a');
  await a.scan(Date.now(), ['exposure-new-listener'], [result('exposure-new-listener', `${KEY}:tcp/[::]:9090`, 'fail', { severity: 'medium', category: 'process' })]);
  const id = fp('node-a', 'exposure-new-listener', `${KEY}:tcp/[::]:9090`);
  const page = await logIn(ADMIN_TOKEN);
  await visit(page, tc, `/ui/finding?id=${id}`);
  t.is(await text(page, '#allow p code'), 'tcp/[::]:9090');
  await page.click('#allow-listen');
  await page.waitForSelector('h1 .state-resolved');
  t.is(await page.locator('#allow').count(), 0, 'nothing left to allow');
  t.like((await api(tc, `/api/v1/findings/${id}`)).body.history[0], { event: 'resolved', note: 'allowed by admin: tcp/[::]:9090' });
  const baseline = (await api(tc, `/api/v1/baselines?key=${encodeURIComponent(KEY)}`)).body.items[0];
  t.like(baseline.listens[0], { listen: 'tcp/[::]:9090', source: 'operator', firstNode: 'admin' });
  t.like((await audit(tc, 'action=baseline.allow-listen'))[0], { actor: 'admin', target: KEY, status: 200, detail: { listen: 'tcp/[::]:9090', via: 'dashboard' } });
  a.close();
}));

browserTest('a reader sees no action anywhere and no audit log', (t) => withBrowser(t, async (tc, logIn) => {
  const SHA = 'cd34'.repeat(16);
  const a = await connect(tc, 'node-a', { hostBaselineKey: 'host/worker' });
  await a.batch([unexpectedProcess('host/worker', '/usr/local/bin/miner', Date.now(), 1, { identity: { sha256: SHA, size: 4096, baselineSha256: [] } })]);
  const b = await connect(tc, 'node-b');
  await b.batch([proc('/usr/bin/nc')]);
  b.close();
  await api(tc, '/api/v1/baselines/lock', { token: ADMIN_TOKEN, method: 'POST', body: { key: 'host/worker' } });
  const [finding] = (await api(tc, '/api/v1/findings?check=proc-unexpected&node=node-a')).body.items;
  await eventually('node-b to be disconnected', async () => ((await api(tc, '/api/v1/nodes/node-b')).body.connected === false ? true : undefined));

  const page = await logIn(READER_TOKEN);
  t.is(await text(page, '#who'), 'reader (reader)');
  t.true(await page.isHidden('nav a[data-nav="audit"]'));
  for (const path of ['/ui/', `/ui/finding?id=${finding.id}`, '/ui/node?name=node-b', '/ui/baselines', '/ui/webhooks', '/ui/findings?state=open']) {
    await visit(page, tc, path);
    t.is(await page.locator('button.action, #finding-actions, #node-actions, #suppress-form, #allow').count(), 0, `no action on ${path}`);
  }
  await visit(page, tc, '/ui/baselines');
  t.is(await page.locator('#baselines-table tbody tr[data-key="host/worker"][data-state="locked"]').count(), 1, 'the reader sees the baseline, without its buttons');
  await visit(page, tc, '/ui/audit');
  t.is(await text(page, 'main p'), 'The audit log is for admins.');
  t.is(await page.locator('#audit-table').count(), 0);
  // The same pages offer the actions to an admin (so the checks above could fail).
  const admin = await logIn(ADMIN_TOKEN);
  await visit(admin, tc, `/ui/finding?id=${finding.id}`);
  t.is(await admin.locator('#suppress-form, #allow').count(), 2);
  await visit(admin, tc, '/ui/baselines');
  t.is(await admin.locator('#baselines-table button.action').count(), 1);
  a.close();
}));

browserTest('a page on a sibling site that posts a write with the visitor\'s cookie is refused by the CSRF defence: the finding stays open, the refusal is audited', (t) => withBrowser(t, async (tc, logIn) => {
  const a = await connect(tc, 'node-a');
  await a.batch([proc('/usr/bin/nc')]);
  a.close();
  const nc = fp('node-a', 'proc-unexpected', '/usr/bin/nc');
  const target = `${tc.apiUrl}/api/v1/findings/${nc}/suppress`;
  // The attacker: another HTTPS port on the same host, so the browser counts it the same site
  // and sends the SameSite=Strict cookie along: only the CSRF defence stands in the way.
  const attacker: Server = createServer({ cert: readFileSync(tc.pki.collectorCert), key: readFileSync(tc.pki.collectorKey) }, (req, res) => {
    res.writeHead(200, { 'content-type': 'text/html' });
    if (req.url === '/fetch') {
      res.end(`<script>fetch(${JSON.stringify(target)}, { method: 'POST', mode: 'no-cors', credentials: 'include', headers: { 'content-type': 'text/plain' },
        body: '{"reason":"forged by fetch"}' }).finally(() => { document.title = 'sent'; });</script>`);
      return;
    }
    res.end(`<form id="f" method="post" enctype="text/plain" action="${target}"><input name='{"reason":"forged","x":"' value='"}'></form>`
      + '<script>document.getElementById("f").submit()</script>');
  });
  await new Promise<void>((resolve) => attacker.listen(0, 'localhost', () => resolve()));
  t.teardown(() => new Promise<void>((resolve) => attacker.close(() => resolve())));
  const attackerUrl = `https://localhost:${(attacker.address() as AddressInfo).port}`;

  const page = await logIn(ADMIN_TOKEN);
  await page.goto(`${attackerUrl}/`);
  await page.waitForURL(target);
  const answer = JSON.parse(await text(page, 'body')) as { error: string };
  t.regex(answer.error, /must come from the dashboard's own page/);
  await page.goto(`${attackerUrl}/fetch`);
  await page.waitForFunction(() => (globalThis as unknown as { document: { title: string } }).document.title === 'sent');

  t.is((await api(tc, `/api/v1/findings/${nc}`)).body.state, 'open', 'the finding stays open');
  t.deepEqual((await audit(tc, 'action=ui.write')).map((r) => [r.detail.outcome, r.detail.reason, r.count]), [['refused', 'cross-origin', 2]],
    'both were refused by the defence (the cookie was sent: a request without it would be a plain 401)');
  t.is((await audit(tc, 'action=finding.suppress')).length, 0);
  // The same browser's session still works from the dashboard's own page.
  await visit(page, tc, `/ui/finding?id=${nc}`);
  await page.fill('#suppress-reason', 'from the dashboard');
  await page.click('#suppress');
  await page.waitForSelector('h1 .state-suppressed');
}));

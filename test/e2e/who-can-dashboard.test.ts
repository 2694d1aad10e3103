// The "Who can" dashboard page in a real browser (Debian's headless Chromium driven by
// playwright-core) against the collector's real API over HTTPS, whose posture view holds the
// weak RBAC set and one binding whose names carry HTML and script: the page is in the menu,
// a query shows the subjects, bindings, rules and caveats of a known answer, hostile names stay
// text and run nothing, a bad request shows the API's problem, and a collector without
// posture says posture is off.
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { browserTest, launchBrowser, recordPage } from '../helpers/browser.js';
import { initPki } from '../../collector/pki/pki.js';
import { READER_TOKEN } from '../helpers/collector.js';
import { buildTestApi, type TestApi } from '../helpers/api-app.js';
import { loadPostureFixture, postureView } from '../helpers/posture.js';

// Code run inside the page by page.evaluate: typed loosely (this project compiles without the DOM library).
declare const window: any;


const RBAC = 'rbac.authorization.k8s.io';
const XSS_USER = `<img src=x onerror="window.__xss='user';alert('user')">`;
const XSS_BINDING = `<script>window.__xss='binding'</script>`;
const HOSTILE = [
  { kind: 'ClusterRole' as const, object: { metadata: { name: 'pod-reader' }, rules: [{ apiGroups: [''], resources: ['pods'], verbs: ['get'] }] } },
  { kind: 'RoleBinding' as const, object: { metadata: { name: XSS_BINDING, namespace: 'shop' }, roleRef: { apiGroup: RBAC, kind: 'ClusterRole', name: 'pod-reader' }, subjects: [{ apiGroup: RBAC, kind: 'User', name: XSS_USER }] } },
];

async function withApis(body: (urls: { on: string; off: string }, page: Page, dialogs: string[], problems: string[]) => Promise<void>): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'nodeward-who-can-ui-'));
  const apis: TestApi[] = [];
  let browser: Browser | undefined;
  try {
    const pki = await initPki(join(dir, 'pki'), { nodes: [], collectorHosts: ['localhost', '127.0.0.1'] });
    const https = { cert: await readFile(pki.collectorCert), key: await readFile(pki.collectorKey) };
    apis.push(await buildTestApi({ https, posture: postureView([...loadPostureFixture('weak'), ...HOSTILE]) }), await buildTestApi({ https }));
    const [on, off] = await Promise.all(apis.map((a) => a.listen()));
    browser = await launchBrowser();
    const context = await browser.newContext({ ignoreHTTPSErrors: true, viewport: { width: 1360, height: 900 } });
    const page = await context.newPage();
    // The browser logs each refused API call (a 400, a 503) as a failed resource load.
    const { dialogs, problems } = recordPage(page, { expected: /status of (400|503)/ });
    await body({ on: on!, off: off! }, page, dialogs, problems);
  } finally {
    await browser?.close();
    await Promise.all(apis.map((a) => a.close()));
    await rm(dir, { recursive: true, force: true });
  }
}

const ready = (page: Page) => page.waitForSelector('body[data-ready="true"]', { timeout: 15_000 });
const text = async (page: Page, selector: string): Promise<string> => ((await page.textContent(selector)) ?? '').trim();

async function login(page: Page, base: string): Promise<void> {
  await page.goto(`${base}/ui/`);
  await page.fill('#token', READER_TOKEN);
  await page.click('button[type=submit]');
  await ready(page);
}

/** Fills the form with `fields` (the others emptied) and asks. */
async function ask(page: Page, fields: Record<string, string>): Promise<void> {
  for (const name of ['verb', 'resource', 'subresource', 'apiGroup', 'namespace', 'name', 'nonResourceURL']) {
    await page.fill(`#who-can-form input[name=${name}]`, fields[name] ?? '');
  }
  await page.click('#who-can-form button[type=submit]');
  await page.waitForURL((u) => u.pathname === '/ui/who-can' && u.searchParams.get('verb') === (fields.verb ?? null));
  await ready(page);
}

browserTest('the Who can page: in the menu, answers a query with subjects, bindings, rules and caveats, keeps hostile names as text, shows a bad request\'s problem', (t) => withApis(async ({ on, off }, page, dialogs, problems) => {
  await login(page, on);
  // In the menu, for a reader too.
  await page.click('nav a[data-nav="who-can"]');
  await ready(page);
  t.is(new URL(page.url()).pathname, '/ui/who-can');
  t.is(await page.title(), 'Who can · nodeward');
  t.is(await page.getAttribute('nav a[data-nav="who-can"]', 'aria-current'), 'page');
  t.is(await text(page, '#posture-status'), 'Answered from 12 ClusterRoles, 1 Role, 9 ClusterRoleBindings, 3 RoleBindings.');

  // A known answer (the weak set): cluster-admin through a group, and a RoleBinding lending a ClusterRole.
  await ask(page, { verb: 'get', resource: 'secrets', namespace: 'shop', name: 'db' });
  t.is(await text(page, '#who-can-count'), '2 subjects, 2 grants');
  const rows = page.locator('#who-can-table tbody tr');
  t.deepEqual(await rows.evaluateAll((trs: any[]) => trs.map((tr) => tr.getAttribute('data-subject'))), ['Group:ops', 'ServiceAccount:shop/app']);
  t.deepEqual((await rows.nth(1).locator('td').allTextContents()).map((s) => s.trim()), [
    'ServiceAccount shop/appthe ServiceAccount\'s tokens (user system:serviceaccount:shop:app)',
    'RoleBinding shop/app-reads-secrets', 'ClusterRole secret-reader', '#0 verbs: get, list · apiGroups: "" · resources: secrets',
    'namespace shop', 'RoleBinding to ClusterRole',
  ]);
  t.is(await rows.nth(0).locator('td.how').textContent(), '* in verbs, apiGroups, resources');
  t.deepEqual(await page.locator('#who-can-caveats li').evaluateAll((lis: any[]) => lis.map((li) => li.getAttribute('data-caveat'))),
    ['system-masters', 'node-authorizer', 'other-authorizers', 'identities']);
  t.is(await page.inputValue('#who-can-form input[name=namespace]'), 'shop', 'the form shows the request asked');

  // Names from the cluster are text: the hostile binding's subject is shown as written and runs nothing.
  await ask(page, { verb: 'get', resource: 'pods', namespace: 'shop', name: 'web' });
  const hostile = page.locator('#who-can-table tbody tr').filter({ hasText: 'pod-reader' });
  t.is(await hostile.locator('td.subject code').textContent(), XSS_USER);
  t.is(await hostile.locator('td.binding code').textContent(), `RoleBinding shop/${XSS_BINDING}`);
  t.is(await page.locator('#who-can-table img').count(), 0);
  t.is(await page.locator('#who-can-table script').count(), 0);
  t.is(await page.evaluate(() => window.__xss), undefined);

  // Nobody, and bad requests: the API's problem, in words.
  await ask(page, { verb: 'get', nonResourceURL: '/nowhere' });
  t.is(await text(page, '#who-can-count'), '1 subject, 1 grant', 'cluster-admin reaches every path');
  await ask(page, { verb: 'get', nonResourceURL: '/metrics', namespace: 'shop' });
  t.is(await text(page, 'main .error'), 'a nonResourceURL request takes no apiGroup, subresource, namespace or name');
  t.is(await page.locator('#who-can-table').count(), 0);
  await ask(page, { verb: 'get' });
  t.is(await text(page, 'main .error'), 'give either resource or nonResourceURL');

  // A collector without posture says so, on the page and for a query.
  await login(page, off);
  await page.goto(`${off}/ui/who-can?verb=get&resource=pods`);
  await ready(page);
  t.regex(await text(page, '#posture-status'), /^Cluster posture is off/);
  t.regex(await text(page, 'main .error'), /^cluster posture is off: this collector does not watch the Kubernetes API/);

  t.deepEqual(dialogs, [], 'no script from an RBAC object ran');
  t.deepEqual(problems, []);
}));

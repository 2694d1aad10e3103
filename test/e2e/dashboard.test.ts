// The dashboard in a real browser (Debian's headless Chromium driven by playwright-core)
// against an in-process collector fed over mTLS gRPC: log in, read the overview, filter
// findings, open a node and a finding, log out. A finding whose subject and command line
// carry HTML and script is shown as text and runs nothing. Nodes no agent reports from (the
// collector's node watch) are listed with why. Screenshots go to a temp dir.
import type { ExecutionContext } from 'ava';
import { mkdtemp } from 'node:fs/promises';
import { statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { BrowserContext, Page } from 'playwright-core';
import { browserTest, launchBrowser, recordPage } from '../helpers/browser.js';
import { ADMIN_TOKEN, READER_TOKEN } from '../helpers/collector.js';
import { connect, proc, result, withCollector } from '../helpers/agent-session.js';
import { unexpectedProcess } from '../helpers/process-finding.js';
import { testClock } from '../helpers/clock.js';
import { eventually } from '../helpers/https.js';
import { agentDaemonSet, nodeObject, startFakePodApi } from '../collector/fake-pod-api.js';

// Code run inside the page by page.evaluate: typed loosely (this project compiles without the DOM library).
declare const document: any;
declare const window: any;


const XSS_SUBJECT = `/tmp/<img src=x onerror="window.__xss='img';alert('img')">`;
const XSS_CMDLINE = `<script>window.__xss='script';alert('script')</script> --title "<b>bold</b>" & echo '<svg onload=alert(1)>'`;

/** A fresh browser page that records every dialog (script from a node that ran) and every console error. */
async function openPage(t: ExecutionContext): Promise<{ context: BrowserContext; page: Page; dialogs: string[]; problems: string[] }> {
  const browser = await launchBrowser();
  t.teardown(() => browser.close());
  const context = await browser.newContext({ ignoreHTTPSErrors: true, viewport: { width: 1360, height: 900 } });
  const page = await context.newPage();
  return { context, page, ...recordPage(page) };
}

const ready = (page: Page) => page.waitForSelector('body[data-ready="true"]', { timeout: 15_000 });
const text = async (page: Page, selector: string): Promise<string> => ((await page.textContent(selector)) ?? '').trim();
const rows = (page: Page, table: string) => page.locator(`${table} tbody tr`);

browserTest('an operator logs in, reads the overview, filters findings, opens a node and a finding; hostile strings stay text', (t) => withCollector(async (tc) => {
  const now = Date.now();
  // node-a's agent reports losses; the others none.
  const drops = {
    spoolDropped: 2, execEventsLost: 5, processEventsCapped: 9, execCoverage: 'event', execUnjudged: 4, execRingLost: 0,
    execSource: 'netlink', execSourceReason: `ebpf: NO_CAPABILITY: <img src=x onerror="window.__xss='reason';alert('reason')">`,
    execFakeContainer: 6, execHostNamespace: 7, execBatches: 0, hostDocumentsRefused: 3,
    hostDocumentRefusedPath: `/etc/kubernetes/manifests/<img src=x onerror="window.__xss='path'">.yaml`, hostDocumentRefusedReason: 'depth',
  };
  const [a, b, c] = await Promise.all(['node-a', 'node-b', 'node-c'].map((n) => connect(tc, n, { agentVersion: '0.4.0', stats: n === 'node-a' ? drops : undefined })));
  await a!.scan(now, ['cis-4.2.1', 'cis-4.2.2', 'cis-4.2.6'], [
    result('cis-4.2.1', '--anonymous-auth', 'fail', { severity: 'critical', title: 'Anonymous requests to the kubelet are refused', actual: 'true' }),
    result('cis-4.2.2', '--authorization-mode', 'pass'),
    result('cis-4.2.6', '--protect-kernel-defaults', 'fail', { severity: 'low' }),
  ]);
  await a!.batch([
    proc('/usr/bin/nc', { detail: { cmdline: 'nc -lvp 4444', user: 'root', pid: 31337 } }),
    proc(XSS_SUBJECT, { severity: 'medium', detail: { cmdline: XSS_CMDLINE, user: 'www-data', pid: 4242 }, title: 'Unexpected process <i>x</i>' }),
  ]);
  await b!.scan(now, ['cis-4.2.1', 'cis-4.2.2'], [
    result('cis-4.2.1', '--anonymous-auth', 'fail', { severity: 'high', title: 'Anonymous requests to the kubelet are refused' }),
    result('cis-4.2.2', '--authorization-mode', 'fail', { severity: 'medium' }),
  ]);
  await b!.batch([proc('/usr/bin/nc', { severity: 'medium' })]);
  // node-c is an EKS worker: judged under CIS EKS, its results name EKS's controls.
  await c!.scan(now, ['cis-4.2.1', 'cis-4.2.2'], [
    result('cis-4.2.1', '--anonymous-auth', 'pass', { references: ['cis-eks-1.7:3.2.1', 'cis-1.12:4.2.1'] }),
    result('cis-4.2.2', '--authorization-mode', 'pass', { references: ['cis-eks-1.7:3.2.2', 'cis-1.12:4.2.2'] }),
  ], 'cis-eks-1.7');

  const shots = await mkdtemp(join(tmpdir(), 'nodeward-dashboard-'));
  const { context, page, dialogs, problems } = await openPage(t);

  // Not logged in: the dashboard sends the browser to the login page.
  await page.goto(`${tc.apiUrl}/ui/`);
  t.is(new URL(page.url()).pathname, '/ui/login');
  await page.fill('#token', 'not-the-right-token-000');
  await page.click('button[type=submit]');
  await page.waitForSelector('#login-error:not([hidden])');
  t.is(await text(page, '#login-error'), 'That token was not accepted.');
  await page.fill('#token', READER_TOKEN);
  await page.click('button[type=submit]');
  await ready(page);
  t.is(new URL(page.url()).pathname, '/ui/');
  const cookies = await context.cookies();
  t.is(cookies.length, 1);
  t.like(cookies[0], { name: '__Host-nodeward-session', httpOnly: true, secure: true, sameSite: 'Strict' });
  t.is(await page.evaluate(() => document.cookie), '', 'the page script cannot see the session cookie');

  // Overview: nodes, score, counts by severity, the most widespread failure, the node table.
  t.is(await text(page, '#card-nodes .big'), '3');
  t.is(await text(page, '#card-open .big'), '7');
  t.is(await text(page, '#card-score .big'), '42.9%');
  t.is(await text(page, '#card-score .small'), '3 of 7 scored checks pass');
  t.deepEqual(await page.locator('#card-score .by-benchmark li').evaluateAll((lis: any[]) => lis.map((li) => li.textContent)),
    ['cis-1.12 20% on 2 nodes', 'cis-eks-1.7 100% on 1 node'], 'compliance per benchmark the nodes are judged under');
  const sev = async (s: string) => text(page, `#severity-counts [data-severity="${s}"] .count`);
  t.deepEqual([await sev('critical'), await sev('high'), await sev('medium'), await sev('low'), await sev('info')], ['1', '2', '3', '1', '0']);
  t.deepEqual(await page.locator('#top-checks tbody tr').locator('td:first-child').allTextContents(),
    ['proc-unexpected', 'cis-4.2.1', 'cis-4.2.2', 'cis-4.2.6']);
  t.deepEqual(await page.locator('#top-checks tbody tr').nth(1).locator('td').allTextContents(),
    ['cis-4.2.1', 'Anonymous requests to the kubelet are refused', 'critical', '2', '2']);
  t.deepEqual(await page.locator('#nodes-table tbody tr td:first-child').allTextContents(), ['node-a', 'node-b', 'node-c']);
  t.deepEqual(await page.locator('#nodes-table tbody tr[data-node="node-c"] td').allTextContents().then((x) => x.slice(0, 4)),
    ['node-c', 'connected', '100%', '0']);
  await page.screenshot({ path: join(shots, 'overview.png'), fullPage: true });

  // Triage: the open findings, from the overview, most severe first: the critical one is the first row.
  const severities = () => page.locator('#findings-table tbody tr').evaluateAll((trs: any[]) => trs.map((tr) => tr.getAttribute('data-severity')));
  await page.click('#card-open a');
  await ready(page);
  t.is(new URL(page.url()).searchParams.get('state'), 'open');
  t.is(await page.getAttribute('#findings-table tbody tr:first-child', 'data-severity'), 'critical');
  t.is(await page.textContent('#findings-table tbody tr:first-child td.check a'), 'cis-4.2.1');
  t.deepEqual(await severities(), ['critical', 'high', 'high', 'medium', 'medium', 'medium', 'low']);
  t.is(await page.inputValue('#filters select[name=sort]'), 'severity', 'the form shows the order in force');
  // Another order through the form: by node, the most severe first within each.
  await page.selectOption('#filters select[name=sort]', 'node');
  await page.click('#filters button[type=submit]');
  await ready(page);
  t.is(new URL(page.url()).searchParams.get('sort'), 'node');
  t.deepEqual(await page.locator('#findings-table tbody td.node').allTextContents(), ['node-a', 'node-a', 'node-a', 'node-a', 'node-b', 'node-b', 'node-b']);
  t.deepEqual(await severities(), ['critical', 'high', 'medium', 'low', 'high', 'medium', 'medium']);

  // Findings, filtered with the form: node-a's unexpected processes.
  await page.click('nav a[data-nav="findings"]');
  await ready(page);
  t.is(await rows(page, '#findings-table').count(), 7);
  await page.fill('#filters input[name=node]', 'node-a');
  await page.selectOption('#filters select[name=category]', 'process');
  await page.selectOption('#filters select[name=state]', '');
  await page.click('#filters button[type=submit]');
  await ready(page);
  const url = new URL(page.url());
  t.is(url.searchParams.get('node'), 'node-a');
  t.is(url.searchParams.get('category'), 'process');
  t.is(await rows(page, '#findings-table').count(), 2);
  t.is(await text(page, '#findings-count'), '2 findings');
  t.deepEqual(await page.locator('#findings-table tbody td.node').allTextContents(), ['node-a', 'node-a']);
  t.is(await page.inputValue('#filters input[name=node]'), 'node-a', 'the form shows the filter in force');

  // The hostile finding: its subject and command line are shown exactly, as text.
  const hostile = page.locator('#findings-table tbody tr').filter({ hasText: '/tmp/<img' });
  t.is(await hostile.count(), 1);
  t.is(await hostile.locator('td.subject > code').textContent(), XSS_SUBJECT);
  t.is(await hostile.locator('td.subject .cmdline code').textContent(), XSS_CMDLINE);
  t.is(await hostile.locator('td.check .small').textContent(), 'Unexpected process <i>x</i>');
  const dom = await page.evaluate(() => ({
    imgs: document.querySelectorAll('main img, main svg, main b, main i').length,
    scripts: [...document.scripts].map((s: any) => s.src),
    xss: window.__xss ?? null,
  }));
  t.deepEqual(dom, { imgs: 0, scripts: [`${tc.apiUrl}/ui/assets/app.js`], xss: null });
  await page.screenshot({ path: join(shots, 'findings.png'), fullPage: true });

  // Other filters: a severity, and a state with nothing in it.
  await page.goto(`${tc.apiUrl}/ui/findings?severity=critical`);
  await ready(page);
  t.deepEqual(await page.locator('#findings-table tbody td.check a').allTextContents(), ['cis-4.2.1']);
  await page.goto(`${tc.apiUrl}/ui/findings?state=resolved`);
  await ready(page);
  t.is(await text(page, '#findings-count'), 'No findings match.');
  t.false(await page.isVisible('#findings-table'));
  t.deepEqual(problems, [], 'no script errors, failed requests or Content-Security-Policy violations');
  // A filter the API refuses is shown as its message, not as a blank page.
  await page.goto(`${tc.apiUrl}/ui/findings?severity=urgent`);
  await ready(page);
  t.regex(await text(page, 'main .error'), /parameter severity must be one of/);
  t.deepEqual(problems.splice(0), ['Failed to load resource: the server responded with a status of 400 (Bad Request)']);

  // The finding's own page, reached from the list.
  await page.goto(`${tc.apiUrl}/ui/findings?node=node-a&category=process`);
  await ready(page);
  await hostile.locator('td.check a').click();
  await ready(page);
  t.is(new URL(page.url()).pathname, '/ui/finding');
  t.regex(await text(page, 'h1'), /^proc-unexpected/);
  t.true((await text(page, 'pre.detail')).includes(JSON.stringify(XSS_CMDLINE)), 'the detail JSON is shown as text');
  t.deepEqual(await page.locator('#history tbody tr').evaluateAll((trs: any[]) => trs.map((tr) => tr.getAttribute('data-event'))), ['opened']);
  t.is(await page.evaluate(() => document.querySelectorAll('main img, main svg').length), 0);

  // A node's page: its facts, score and open findings.
  await page.locator('dl.facts a', { hasText: 'node-a' }).click();
  await ready(page);
  t.is(new URL(page.url()).searchParams.get('name'), 'node-a');
  t.regex(await text(page, 'h1'), /^node-a\s+connected$/);
  t.is(await text(page, '#node-score .big'), '33.3%');
  t.is(await text(page, '#node-open .big'), '4');
  t.is(await rows(page, '#findings-table').count(), 4);
  t.is(await page.locator('#findings-table thead th').count(), 6, 'no node column on a node page');
  t.true((await page.textContent('dl.facts'))!.includes('0.4.0'));
  t.is(await text(page, '#node-drops .big'), '11', 'what the agent lost, in total');
  t.is(await text(page, '#node-drops .small'), 'spool bounds 2, exec events 5, processes not judged 4');
  t.is(await text(page, '#node-exec-source strong'), 'netlink', 'the degraded exec source is named');
  t.true((await text(page, '#node-exec-source'))!.includes(`NO_CAPABILITY: <img src=x onerror="window.__xss='reason';alert('reason')">`), 'and why, as text');
  t.true((await page.textContent('dl.facts'))!.includes('9 process events rate-limited'));
  t.is(await text(page, '#node-exec-judged'), "6 in a cgroup no runtime vouches for, 7 in the host's mount namespace");
  t.is(await text(page, '#node-documents-refused strong'), '3', 'refused host documents');
  t.is(await text(page, '#node-documents-refused code'), `/etc/kubernetes/manifests/<img src=x onerror="window.__xss='path'">.yaml`, 'the last one, as text');
  t.true((await text(page, '#node-documents-refused'))!.endsWith('(depth)'));
  await page.screenshot({ path: join(shots, 'node.png'), fullPage: true });
  await page.goto(`${tc.apiUrl}/ui/node?name=node-c`);
  await ready(page);
  t.is(await text(page, '#node-score .big'), '100%');
  t.is(await text(page, '#node-score .benchmark'), 'judged under cis-eks-1.7');
  t.is(await text(page, '#node-drops .big'), '0');
  t.is(await text(page, '#node-drops .small'), 'nothing lost');
  t.is(await text(page, '#node-documents-refused'), '0');
  t.is(await text(page, '#findings-count'), 'No findings match.');

  t.deepEqual(dialogs, [], 'no script from a node ever ran');
  t.deepEqual(problems, [], 'no script errors, failed requests or Content-Security-Policy violations');

  // Logging out ends the session.
  await page.click('form.logout button');
  await page.waitForURL(/\/ui\/login$/);
  await page.goto(`${tc.apiUrl}/ui/`);
  t.is(new URL(page.url()).pathname, '/ui/login');

  for (const f of ['overview.png', 'findings.png', 'node.png']) t.true(statSync(join(shots, f)).size > 20_000, f);
  t.log(`screenshots: ${shots}`);
  [a, b, c].forEach((s) => s!.close());
}, { nodes: ['node-a', 'node-b', 'node-c'] }));

browserTest('a page whose script tries inline code is blocked by the Content-Security-Policy', (t) => withCollector(async (tc) => {
  const browser = await launchBrowser();
  t.teardown(() => browser.close());
  const context = await browser.newContext({ ignoreHTTPSErrors: true });
  const page = await context.newPage();
  await page.goto(`${tc.apiUrl}/ui/login`);
  await page.fill('#token', ADMIN_TOKEN);
  await page.click('button[type=submit]');
  await ready(page);
  // Even if some HTML did reach the DOM, the policy keeps its handlers and inline scripts from running.
  const ran = await page.evaluate(async () => {
    const w = window;
    const s = document.createElement('script');
    s.textContent = 'window.__inline = true';
    document.body.append(s);
    const img = document.createElement('img');
    img.setAttribute('onerror', 'window.__inline = true');
    img.src = 'data:,nope';
    document.body.append(img);
    await new Promise((r) => setTimeout(r, 300));
    let evalRan = false;
    try {
      // eslint-disable-next-line no-eval
      evalRan = (0, eval)('true');
    } catch {
      evalRan = false;
    }
    return { inline: w.__inline ?? false, evalRan };
  });
  t.deepEqual(ran, { inline: false, evalRan: false });
}));

browserTest('the unexpected processes page lists rows from the processes API, filters them, and shows a hostile command line as text', (t) => withCollector(async (tc) => {
  const at = Date.now() - 60_000;
  const XSS_PROC = '<img src=x onerror=alert(1)>';
  const [a, b] = await Promise.all(['node-a', 'node-b'].map((n) => connect(tc, n)));
  await a!.batch([
    unexpectedProcess('shop/Deployment/web/nginx', '/tmp/xmrig', at, 3, {
      cmdline: `${XSS_PROC} <script>window.__xss='cmd'</script>`, parents: ['/bin/sh', '<svg onload=alert(2)>'], user: '<b>www</b>', pod: 'web-0',
    }),
    unexpectedProcess('host', '/usr/bin/nc', at, 1, { cmdline: 'nc -lvp 4444', pid: 777, seen: 'scan' }),
  ]);
  await b!.batch([unexpectedProcess('data/StatefulSet/db/postgres', '/usr/bin/curl', at, 1, { pod: 'db-0', cmdline: '/usr/bin/curl --help' })]);

  const { page, dialogs, problems } = await openPage(t);
  await page.goto(`${tc.apiUrl}/ui/login`);
  await page.fill('#token', READER_TOKEN);
  await page.click('button[type=submit]');
  await ready(page);

  await page.click('nav a[data-nav="processes"]');
  await ready(page);
  t.is(new URL(page.url()).pathname, '/ui/processes');
  t.is(await page.getAttribute('nav a[data-nav="processes"]', 'aria-current'), 'page');
  t.is(await text(page, 'h1'), 'Unexpected processes');
  t.is(await text(page, '#processes-count'), '3 processes');
  t.deepEqual(await page.locator('#processes-table tbody tr').evaluateAll((trs: any[]) => trs.map((tr) => tr.getAttribute('data-node'))), ['node-a', 'node-a', 'node-b']);
  const first = page.locator('#processes-table tbody tr').first();
  t.deepEqual((await first.locator('td').allTextContents()).map((s) => s.trim()).filter((_, i) => [0, 1, 2, 4, 5, 7, 8].includes(i)), [
    'node-a', 'shop/Deployment/web/nginxpod web-0', '/tmp/xmrig', '<b>www</b>', '4242', 'event', '3',
  ]);
  t.is(await first.locator('td.cmdline code').textContent(), `${XSS_PROC} <script>window.__xss='cmd'</script>`, 'the command line, exactly, as text');
  t.is(await first.locator('td.parents code').textContent(), '/bin/sh ← <svg onload=alert(2)>');
  t.is(await text(page, '#processes-table tbody tr:nth-child(2) td.where'), 'host');
  const dom = await page.evaluate(() => ({ tags: document.querySelectorAll('main img, main svg, main b, main script').length, xss: window.__xss ?? null }));
  t.deepEqual(dom, { tags: 0, xss: null });
  const shots = await mkdtemp(join(tmpdir(), 'nodeward-processes-'));
  await page.screenshot({ path: join(shots, 'processes.png'), fullPage: true });
  t.log(`screenshot: ${join(shots, 'processes.png')}`);

  // Filters through the form, shown in force afterwards.
  await page.fill('#filters input[name=namespace]', 'shop');
  await page.click('#filters button[type=submit]');
  await ready(page);
  t.is(new URL(page.url()).searchParams.get('namespace'), 'shop');
  t.is(await page.inputValue('#filters input[name=namespace]'), 'shop');
  t.is(await page.inputValue('#filters select[name=state]'), 'open');
  t.is(await page.locator('#processes-table tbody tr').count(), 1);
  await page.goto(`${tc.apiUrl}/ui/processes?workload=StatefulSet/db`);
  await ready(page);
  t.deepEqual(await page.locator('#processes-table tbody td.exe code').allTextContents(), ['/usr/bin/curl']);
  await page.selectOption('#filters select[name=state]', 'resolved');
  await page.click('#filters button[type=submit]');
  await ready(page);
  t.is(await text(page, '#processes-count'), 'No unexpected process matches.');
  t.false(await page.isVisible('#processes-table'));
  t.deepEqual(problems, []);
  await page.goto(`${tc.apiUrl}/ui/processes?namespace=${encodeURIComponent('<b>x</b>')}`);
  await ready(page);
  t.regex(await text(page, 'main .error'), /parameter namespace/);
  t.deepEqual(problems.splice(0), ['Failed to load resource: the server responded with a status of 400 (Bad Request)']);

  // A row's executable opens its finding.
  await page.goto(`${tc.apiUrl}/ui/processes`);
  await ready(page);
  await page.locator('#processes-table tbody tr').first().locator('td.exe a').click();
  await ready(page);
  t.is(new URL(page.url()).pathname, '/ui/finding');
  t.regex(await text(page, 'h1'), /^proc-unexpected/);
  t.deepEqual(dialogs, [], 'no script from a node ever ran');
  t.deepEqual(problems, []);
  [a, b].forEach((s) => s!.close());
}));

browserTest('the overview and the node page list the nodes no agent reports from, with why; a reason from the cluster stays text', async (t) => {
  const api = await startFakePodApi();
  t.teardown(() => api.close());
  api.daemonSet = agentDaemonSet();
  api.applyNode(nodeObject({ name: 'node-a' }));
  api.applyNode(nodeObject({ name: 'node-b' }));
  api.applyNode(nodeObject({ name: 'gpu-1', taints: [{ key: 'dedicated', value: '<img src=x onerror="window.__xss=1">', effect: 'NoSchedule' }] }));
  const clock = testClock(Date.now());
  await withCollector(async (tc) => {
    await eventually('the node watch', () => (tc.collector.nodes?.synced && tc.collector.nodes.stats().daemonSetRead ? true : undefined));
    await connect(tc, 'node-a');
    await clock.advance(300_000);
    const { page, dialogs, problems } = await openPage(t);
    await page.goto(`${tc.apiUrl}/ui/login`);
    await page.fill('#token', READER_TOKEN);
    await page.click('button[type=submit]');
    await ready(page);
    t.deepEqual(await page.locator('#nodes-table tbody tr td:first-child').allTextContents(), ['gpu-1', 'node-a', 'node-b']);
    const status = (node: string) => text(page, `#nodes-table tbody tr[data-node="${node}"] td:nth-child(2) .status`);
    const why = (node: string) => text(page, `#nodes-table tbody tr[data-node="${node}"] .why-no-agent`);
    t.is(await status('node-a'), 'connected');
    t.is(await status('node-b'), 'agent missing');
    t.regex(await why('node-b'), /pods\.watch is off/);
    t.is(await status('gpu-1'), 'no agent (not expected)');
    t.regex(await why('gpu-1'), /taint dedicated=<img src=x onerror="window.__xss=1">:NoSchedule is not tolerated/, 'the taint shown as text');
    await page.click('#nodes-table tbody tr[data-node="node-b"] a');
    await ready(page);
    t.regex(await text(page, '#node-no-agent'), /no agent has reported from this node: .*pods\.watch is off/);
    t.deepEqual(dialogs, []);
    t.deepEqual(problems, []);
    t.is(await page.evaluate(() => window.__xss), undefined);
  }, {
    clock, overrides: {
      nodes: { watch: 'on', missingAfterSeconds: 300 }, pods: { watch: 'off' },
      'enroll.kubernetes': { server: api.url, caFile: api.caFile, tokenFile: api.tokenFile },
    },
  });
});

// The demo in a real browser (issue 17): `nodeward dev --demo` as a real process (collector,
// this machine's agent, three demo agents over mTLS gRPC), the dashboard in Debian's headless
// Chromium. The overview lists the demo nodes, labelled; the first open finding of the
// findings page is a critical one; a node's page shows where its host learning stands, and a
// machine that is not a Kubernetes node says why nothing fails there. Screenshots go to a temp dir.
import { mkdtemp } from 'node:fs/promises';
import { readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { browserTest, launchBrowser, recordPage } from '../helpers/browser.js';
import { eventually } from '../helpers/https.js';
import { startDev } from '../helpers/dev-process.js';
import { DEMO_NODE_NAMES } from '../../bin/demo.js';
import { allSkipped, type ResultCounts } from '../../bin/first-run.js';

// Code run inside the page by page.evaluate: typed loosely (this project compiles without the DOM library).
declare const document: any;


const ready = (page: Page) => page.waitForSelector('body[data-ready="true"]', { timeout: 15_000 });
const text = async (page: Page, selector: string): Promise<string> => ((await page.textContent(selector)) ?? '').trim();

browserTest('the demo in a browser: demo nodes listed and labelled, the first open finding is critical, the learning window on the node page', async (t) => {
  const dev = await startDev(t, ['--demo']);
  const node = /is running on this machine \(node ([^)]+)\)/.exec(dev.stdout())![1]!;
  // Every demo node's first scan in, and this machine's learning window reported.
  const local = await eventually('the demo nodes scanned', async () => {
    const page = await dev.get<{ items: Array<{ name: string; results: ResultCounts; hostLearning: unknown }> }>('/api/v1/nodes').catch(() => undefined);
    const by = new Map((page?.items ?? []).map((n) => [n.name, n]));
    const done = [node, ...DEMO_NODE_NAMES].every((n) => Object.values(by.get(n)?.results ?? {}).some((v) => v > 0));
    return done && by.get(node)!.hostLearning ? by.get(node) : undefined;
  }, 120_000, 500);
  const critical = (await dev.get('/api/v1/findings?state=open&severity=critical')).items as Array<{ id: string }>;
  t.true(critical.length >= 2, 'the demo data holds critical findings');

  const browser = await launchBrowser();
  t.teardown(() => browser.close());
  const context = await browser.newContext({ ignoreHTTPSErrors: true, viewport: { width: 1360, height: 900 } });
  const page = await context.newPage();
  const { problems } = recordPage(page);
  const shots = await mkdtemp(join(tmpdir(), 'nodeward-demo-'));
  t.log(`screenshots: ${shots}`);

  // Log in with the token `npm start` wrote.
  await page.goto(`${dev.apiUrl}/ui/`);
  t.is(new URL(page.url()).pathname, '/ui/login');
  await page.fill('#token', readFileSync(join(dev.data, 'admin.token'), 'utf8').trim());
  await page.click('button[type=submit]');
  await ready(page);

  // The overview lists the demo nodes, each labelled demo, and this machine without the label.
  const listed = await page.locator('#nodes-table tbody tr').evaluateAll((trs: any[]) => trs.map((tr) => [tr.getAttribute('data-node'), tr.querySelector('.demo-badge')?.textContent ?? '']));
  t.deepEqual(listed.filter(([, badge]) => badge === 'demo').map(([name]) => name), [...DEMO_NODE_NAMES]);
  t.true(listed.some(([name, badge]) => name === node && badge === ''));
  t.regex(await text(page, `#nodes-table tr[data-node="${node}"] td.learning`), /^until \d{4}-\d\d-\d\d \d\d:\d\d \(in 2[34] h\)$/);
  t.true(Number(await text(page, '#severity-counts [data-severity="critical"] .count')) >= 2);
  // This machine runs no Kubernetes component: the overview says so instead of only "nothing failing".
  if (allSkipped(local.results)) {
    t.regex(await text(page, `#not-a-node [data-node="${node}"]`), /checks were skipped: no kubelet and no control-plane component .* not a Kubernetes node.*The demo nodes show what a triage looks like\./);
  }
  await page.screenshot({ path: join(shots, 'overview.png'), fullPage: true });

  // The findings page (the navigation's "open" view): its first finding is a critical one.
  await page.click('nav a[data-nav="findings"]');
  await ready(page);
  const first = page.locator('#findings-table tbody tr').first();
  t.log(`first open finding: ${await first.getAttribute('data-severity')} ${await first.locator('td.check a').textContent()} on ${await first.locator('td.node').textContent()}`);
  t.is(await first.getAttribute('data-state'), 'open');
  t.is(await first.getAttribute('data-severity'), 'critical', 'the first open finding is the critical one (severity first, then recency)');
  t.true(critical.map((f) => f.id).includes((await first.getAttribute('data-id')) ?? ''), "one of the demo data's critical findings");
  await page.screenshot({ path: join(shots, 'findings.png'), fullPage: true });

  // A demo node's page: labelled, no process learning (its agent watches none).
  await page.goto(`${dev.apiUrl}/ui/node?name=demo-worker-1`);
  await ready(page);
  t.is(await text(page, 'h1 .demo-badge'), 'demo');
  t.regex(await text(page, '#node-learning'), /^not reported/);
  t.regex(await text(page, '#node-results'), /^\d+ checks: [1-9]\d* failing, /);
  // This machine's page: where its host learning stands, and when it ends.
  await page.goto(`${dev.apiUrl}/ui/node?name=${encodeURIComponent(node)}`);
  await ready(page);
  t.is(await page.locator('h1 .demo-badge').count(), 0);
  const learning = await text(page, '#node-learning');
  t.regex(learning, /^learning until \d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z \(in 2[34] h\)/);
  t.true(learning.includes((await dev.get(`/api/v1/nodes/${node}`)).hostLearning.until), 'the end the API gives');
  await page.screenshot({ path: join(shots, 'node.png'), fullPage: true });
  t.deepEqual(problems, [], 'no script errors or Content-Security-Policy violations');
  t.is(await page.evaluate(() => document.querySelectorAll('main img, main svg').length), 0);
  t.is(await dev.stop('SIGTERM'), 0);
});

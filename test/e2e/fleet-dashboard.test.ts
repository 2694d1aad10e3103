// The dashboard of a collector that reads two clusters (test/helpers/fleet.ts: two real SQLite
// stores), in a real browser (Debian's headless Chromium through playwright-core) against the
// real API over HTTPS: the cluster selector is shown, every cluster gets a Cluster column with
// the own cluster's rows first, another cluster's nodes are text (their pages are their own
// collector's), choosing a cluster shows only its rows, a cluster whose store fails is left out
// and named above the list, and a cluster named with HTML stays text and runs nothing. A
// collector of one cluster shows no selector.
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { browserTest, launchBrowser, recordPage } from '../helpers/browser.js';
import { initPki } from '../../collector/pki/pki.js';
import { READER_TOKEN } from '../helpers/collector.js';
import { buildTestApi, type TestApi } from '../helpers/api-app.js';
import { EAST, EAST_FINDINGS, fleetOf, twoClusters, WEST, WEST_FINDINGS } from '../helpers/fleet.js';

// Code run inside the page by page.evaluate: typed loosely (this project compiles without the DOM library).
declare const window: any;

const XSS_NAME = `east<img src=x onerror="window.__xss='cluster';alert('cluster')">`;

const ready = (page: Page) => page.waitForSelector('body[data-ready="true"]', { timeout: 15_000 });

async function login(page: Page, base: string): Promise<void> {
  await page.goto(`${base}/ui/`);
  await page.fill('#token', READER_TOKEN);
  await page.click('button[type=submit]');
  await ready(page);
}

const clustersOf = (page: Page, table: string): Promise<string[]> =>
  page.locator(`${table} tbody tr`).evaluateAll((trs: any[]) => trs.map((tr) => tr.getAttribute('data-cluster')));

browserTest('the dashboard across clusters: a cluster selector, a Cluster column for every cluster, other clusters\' nodes as text, a hostile cluster name as text', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'nodeward-fleet-ui-'));
  const stores = await twoClusters();
  const apis: TestApi[] = [];
  let browser: Browser | undefined;
  try {
    const pki = await initPki(join(dir, 'pki'), { nodes: [], collectorHosts: ['localhost', '127.0.0.1'] });
    const https = { cert: await readFile(pki.collectorCert), key: await readFile(pki.collectorKey) };
    const fleet = fleetOf([{ identity: WEST, own: true, store: stores.west }, { identity: { uid: EAST.uid, name: XSS_NAME }, own: false, store: stores.east }]);
    // The fleet's API serves the west store; the other API is a collector of a single cluster.
    apis.push(await buildTestApi({ https, fleet, store: stores.west }), await buildTestApi({ https }));
    const [two, one] = await Promise.all(apis.map((a) => a.listen()));
    browser = await launchBrowser();
    const context = await browser.newContext({ ignoreHTTPSErrors: true, viewport: { width: 1360, height: 900 } });
    const page = await context.newPage();
    const { dialogs, problems } = recordPage(page);

    await login(page, two!);
    t.is(await page.locator('#cluster-select select option').count(), 3, 'own, the other, every cluster');
    await page.goto(`${two}/ui/findings?cluster=*`);
    await ready(page);
    t.is((await page.locator('#findings-table thead th').first().textContent())?.trim(), 'Cluster');
    t.deepEqual(await clustersOf(page, '#findings-table'), [...WEST_FINDINGS.map(() => 'west'), ...EAST_FINDINGS.map(() => XSS_NAME)]);
    t.is(await page.locator('#findings-table tbody tr[data-cluster="west"] td.node a').count(), WEST_FINDINGS.length, "the own cluster's nodes link to their page");
    t.is(await page.locator('#findings-table tbody tr:not([data-cluster="west"]) td.node a').count(), 0, "another cluster's nodes are text");
    t.is(await page.locator('#findings-table tbody tr:not([data-cluster="west"]) td.cluster').first().textContent(), XSS_NAME);
    t.is(await page.locator('main img').count(), 0);

    // Choosing the other cluster: only its rows, no Cluster column.
    await page.selectOption('#cluster-select select', EAST.uid);
    await page.click('#filters button[type=submit]');
    await page.waitForURL((u) => u.searchParams.get('cluster') === EAST.uid);
    await ready(page);
    t.is(await page.locator('#findings-table tbody tr').count(), EAST_FINDINGS.length);
    t.not((await page.locator('#findings-table thead th').first().textContent())?.trim(), 'Cluster');

    await page.goto(`${two}/ui/processes?cluster=*`);
    await ready(page);
    t.deepEqual(await clustersOf(page, '#processes-table'), ['west', 'west', XSS_NAME, XSS_NAME, XSS_NAME]);
    await page.goto(`${two}/ui/?cluster=*`);
    await ready(page);
    t.deepEqual(await page.locator('#nodes-table tbody tr').evaluateAll((trs: any[]) => trs.map((tr) => `${tr.getAttribute('data-cluster')}/${tr.getAttribute('data-node')}`)),
      ['west/worker-1', `${XSS_NAME}/worker-1`, `${XSS_NAME}/worker-2`]);
    t.is((await page.textContent('#card-nodes .big'))?.trim(), '3', 'the summary across clusters');
    t.is(await page.evaluate(() => window.__xss), undefined);

    // The other cluster's store failing: its rows are left out, and the list says so.
    await stores.east.close();
    await page.goto(`${two}/ui/findings?cluster=*`);
    await ready(page);
    t.deepEqual(await clustersOf(page, '#findings-table'), WEST_FINDINGS.map(() => 'west'));
    t.true(await page.locator('#unreadable-clusters').isVisible());
    t.is((await page.textContent('#unreadable-clusters'))?.trim(), `Left out: ${XSS_NAME}, whose store could not be read now.`);
    t.is(await page.evaluate(() => window.__xss), undefined);

    // One cluster: no selector, no Cluster column.
    await login(page, one!);
    await page.goto(`${one}/ui/findings`);
    await ready(page);
    t.is(await page.locator('#cluster-select').count(), 0);

    t.deepEqual(dialogs, [], 'no script from a cluster name ran');
    t.deepEqual(problems, []);
  } finally {
    await browser?.close();
    // Each API closes its store (the fleet's, the west one); the east store is closed here.
    await Promise.all(apis.map((a) => a.close()));
    if (apis.length === 0) await stores.west.close();
    await stores.east.close();
    await rm(dir, { recursive: true, force: true });
  }
});

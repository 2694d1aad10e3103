// The dashboard's findings list over pages that hold fewer findings than asked for: a search on
// PostgreSQL whose walk runs out of its budget (store/pg/findings.ts) answers short pages, even
// empty ones, with a cursor. In a real browser against the real API over HTTPS on a real
// PostgreSQL with the search index: the list reads on until it has a screenful or the end, so a
// search whose two matches lie deep in the order shows both at once, and says nothing more is to
// come; the API's own first page is empty and has a next one.
import test from 'ava';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { initPki } from '../../collector/pki/pki.js';
import { ensureSearchIndex } from '../../collector/store/pg/search-index.js';
import { openPgStore } from '../../collector/store/pg/store.js';
import { fingerprint } from '../../proto/fingerprint.js';
import { buildTestApi, type TestApi } from '../helpers/api-app.js';
import { browserTest, launchBrowser, recordPage } from '../helpers/browser.js';
import { READER_TOKEN } from '../helpers/collector.js';
import { fill, type Row } from '../helpers/finding-rows.js';
import { pgPool } from '../helpers/pg-backends.js';
import { needsPostgres, postgresForFile } from '../helpers/postgres.js';

// Both a browser and a server: skipped (outside CI) when either is missing.
const declare = needsPostgres() === test.skip ? test.skip : browserTest;
const server = postgresForFile();

const ready = (page: Page) => page.waitForSelector('body[data-ready="true"]', { timeout: 15_000 });

/** 300 open high findings of one node; the two whose subject holds `needle` are 150th and 250th most recent. */
function rows(): Row[] {
  return Array.from({ length: 300 }, (_, i) => {
    const subject = i === 150 || i === 50 ? `/opt/needle/${i}` : `/usr/bin/tool-${i}`;
    return {
      seq: i + 1, id: fingerprint('node-a', 'proc-unexpected', subject), node: 'node-a', checkId: 'proc-unexpected', category: 'process', subject,
      title: 'Unexpected process', actual: '', severity: 'high', status: 'fail', state: 'open', firstSeen: 1000 + i, lastSeen: 1000 + i,
    };
  });
}

declare('a search whose pages are short: the list reads on to show every match, and the API\'s own first page is empty with a next one', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'nodeward-search-ui-'));
  const s = await server();
  const url = s.url(await s.createDatabase());
  const { pool: setup } = await pgPool(t, url, 1);
  const c = await setup.connect();
  try {
    const made = await ensureSearchIndex(c);
    t.true(made.ready);
  } finally {
    c.release();
  }
  // The index names too many rows for any term (candidates 0), and a walk reads the least a page may: limit + 1 per range.
  const { pool } = await pgPool(t, url, 4, false);
  const store = await openPgStore({ pool, search: { candidates: 0, rows: 1 } });
  await fill(store, rows());
  let api: TestApi | undefined;
  let browser: Browser | undefined;
  try {
    const pki = await initPki(join(dir, 'pki'), { nodes: [], collectorHosts: ['localhost', '127.0.0.1'] });
    api = await buildTestApi({ https: { cert: await readFile(pki.collectorCert), key: await readFile(pki.collectorKey) }, store });
    const first = JSON.parse((await api.get('/api/v1/findings?q=needle&limit=100')).body) as { items: unknown[]; nextCursor: string | null };
    t.is(first.items.length, 0, 'the 101 most recent findings hold no match');
    t.not(first.nextCursor, null);

    const base = await api.listen();
    browser = await launchBrowser();
    const page = await (await browser.newContext({ ignoreHTTPSErrors: true })).newPage();
    const { problems } = recordPage(page);
    await page.goto(`${base}/ui/`);
    await page.fill('#token', READER_TOKEN);
    await page.click('button[type=submit]');
    await ready(page);
    await page.goto(`${base}/ui/findings?q=needle`);
    await ready(page);
    t.deepEqual(await page.locator('#findings-table tbody tr td.subject > code').allTextContents(), ['/opt/needle/150', '/opt/needle/50']);
    t.is((await page.textContent('#findings-count'))?.trim(), '2 findings');
    t.true(await page.locator('#more').isHidden());
    t.deepEqual(problems, []);
  } finally {
    await browser?.close();
    if (api) await api.close();
    else await store.close();
    await rm(dir, { recursive: true, force: true });
  }
});

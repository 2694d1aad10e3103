// Cluster findings in the dashboard, in a real browser (Debian's headless Chromium): a
// collector judging the weak RBAC set served by the local Kubernetes API (fake-pod-api.ts)
// lists its cluster findings with "cluster" where a node finding links its node, filters them
// by scope, and the finding page says cluster instead of naming a node.
import { browserTest, launchBrowser, recordPage } from '../helpers/browser.js';
import { READER_TOKEN, startTestCollector } from '../helpers/collector.js';
import { eventually } from '../helpers/https.js';
import { serveFixture } from '../helpers/posture-api.js';
import { startFakePodApi } from '../collector/fake-pod-api.js';


browserTest('the findings list and the finding page show a cluster finding as the cluster\'s, not a node\'s', async (t) => {
  const kube = await startFakePodApi();
  t.teardown(() => kube.close());
  serveFixture(kube, 'weak');
  const tc = await startTestCollector({
    overrides: {
      posture: { watch: 'on', debounceMs: 50 },
      pods: { watch: 'off' },
      'enroll.kubernetes': { server: kube.url, caFile: kube.caFile, tokenFile: kube.tokenFile },
    },
  });
  t.teardown(() => tc.close());
  const open = await eventually('the cluster findings', async () => {
    const items = (await tc.collector.store!.findings.list({ scope: 'cluster', state: 'open' }, 1000)).items;
    return items.length > 0 ? items : undefined;
  });
  const browser = await launchBrowser();
  t.teardown(() => browser.close());
  const page = await (await browser.newContext({ ignoreHTTPSErrors: true })).newPage();
  const { dialogs, problems } = recordPage(page);
  await page.goto(`${tc.apiUrl}/ui/login`);
  await page.fill('#token', READER_TOKEN);
  await page.click('button[type=submit]');
  await page.waitForSelector('body[data-ready="true"]');

  t.is((await page.textContent('#card-cluster .big'))?.trim(), String(open.length), 'the overview counts the cluster findings apart');
  await page.click('#card-cluster a');
  await page.waitForSelector('body[data-ready="true"]');
  t.is(new URL(page.url()).searchParams.get('scope'), 'cluster');
  await page.goto(`${tc.apiUrl}/ui/findings?scope=cluster`);
  await page.waitForSelector('body[data-ready="true"]');
  t.is(await page.inputValue('#filters select[name=scope]'), 'cluster', 'the form shows the scope in force');
  const rows = page.locator('#findings-table tbody tr');
  t.is(await rows.count(), open.length);
  t.deepEqual([...new Set(await page.locator('#findings-table tbody td.node').allTextContents())], ['cluster']);
  t.is(await page.locator('#findings-table tbody td.node a').count(), 0, 'no link to a node');

  const minter = open.find((f) => f.subject === 'cis-5.1.13|ClusterRoleBinding/minter-mints|User:minter')!;
  await page.goto(`${tc.apiUrl}/ui/finding?id=${minter.id}`);
  await page.waitForSelector('body[data-ready="true"]');
  const body = (await page.textContent('main')) ?? '';
  t.true(body.includes('cluster (about API objects; no node)'));
  t.true(body.includes('ClusterRoleBinding/minter-mints'), body.slice(0, 600));
  t.deepEqual(problems, []);
  t.deepEqual(dialogs, []);
});

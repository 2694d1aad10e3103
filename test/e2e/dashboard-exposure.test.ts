// The node page's Listening section in a real browser (Debian's headless Chromium): the
// listeners an agent reported, with pid, executable, workload and class, and an executable
// path carrying HTML shown as text (it came from a node). Nothing from the node runs.
import { browserTest, launchBrowser, recordPage } from '../helpers/browser.js';
import { READER_TOKEN } from '../helpers/collector.js';
import { connect, withCollector } from '../helpers/agent-session.js';

declare const window: any;

const XSS_EXE = `/opt/<img src=x onerror="window.__xss='exe';alert('exe')">`;

browserTest('the node page shows what listens, who holds it and where it is bound; node strings stay text', (t) => withCollector(async (tc) => {
  const s = await connect(tc, 'node-a');
  const listener = (over: Record<string, unknown>) => ({
    protocol: 'tcp', address: '0.0.0.0', port: 2379, addressClass: 'public', wildcard: true, pid: 812, exe: '/usr/local/bin/etcd', baseline: 'host/control-plane',
    namespace: '', pod: '', container: '', workload: '', uid: 0, ...over,
  });
  s.stream.send({
    scanReport: {
      sequence: 1, scannedAtMs: Date.now(), benchmark: 'cis-1.12', scope: [], results: [], trigger: 'periodic',
      exposure: {
        listeners: [listener({}), listener({ address: '127.0.0.1', port: 8080, addressClass: 'loopback', wildcard: false, pid: 4242, exe: XSS_EXE, baseline: 'shop/Deployment/web/nginx', namespace: 'shop', pod: 'web-1', container: 'nginx', workload: 'Deployment/web' })],
        nodeAddresses: [{ address: '203.0.113.7', addressClass: 'public', source: 'node' }], listenersDropped: 0, unowned: 0, walkCut: '', rowsRefused: 0,
      },
    },
  });
  for (;;) if ((await s.next()).ack?.sequence === 1) break;
  const browser = await launchBrowser();
  t.teardown(() => browser.close());
  const page = await (await browser.newContext({ ignoreHTTPSErrors: true })).newPage();
  const { dialogs, problems } = recordPage(page);
  await page.goto(`${tc.apiUrl}/ui/login`);
  await page.fill('#token', READER_TOKEN);
  await page.click('button[type=submit]');
  await page.waitForSelector('body[data-ready="true"]');
  await page.goto(`${tc.apiUrl}/ui/node?name=node-a`);
  await page.waitForSelector('#exposure-table');
  const rows = await page.locator('#exposure-table tbody tr').allTextContents();
  t.is(rows.length, 2);
  t.regex(rows[0] ?? '', /tcp0\.0\.0\.0:2379public812\/usr\/local\/bin\/etcdhost\/control-plane/);
  t.true((rows[1] ?? '').includes(XSS_EXE), 'the executable, as text');
  t.true((rows[1] ?? '').includes('shop/web-1 (nginx)'));
  t.is(await page.getAttribute('#exposure-table tbody tr[data-port="2379"]', 'data-class'), 'public');
  t.regex((await page.textContent('#node-addresses')) ?? '', /203\.0\.113\.7 public \(Node ExternalIP\)/);
  t.regex((await page.textContent('#node-exposure')) ?? '', /NodePort and hostPort traffic goes through DNAT rules and opens no socket/);
  t.deepEqual(dialogs, []);
  t.deepEqual(problems, []);
  t.is(await page.evaluate(() => window.__xss), undefined);
  s.close();
}, { nodes: ['node-a'] }));

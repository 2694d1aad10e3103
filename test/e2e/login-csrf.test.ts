// Login CSRF in a real browser (Debian's headless Chromium): a page on another site that
// posts the dashboard's login form with the attacker's token must not leave the visitor's
// browser logged in to the collector. The collector's own login page still works.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { browserTest, launchBrowser } from '../helpers/browser.js';
import { READER_TOKEN } from '../helpers/collector.js';
import { withCollector } from '../helpers/agent-session.js';


browserTest('a page on another site that posts the login form with its own token does not log the visitor in', (t) => withCollector(async (tc) => {
  // The attacker's site: a form that posts itself to the collector's login as soon as it loads.
  const attacker: Server = createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'text/html' });
    res.end(`<form id="f" method="post" action="${tc.apiUrl}/ui/login"><input name="token" value="${READER_TOKEN}"></form>`
      + '<script>document.getElementById("f").submit()</script>');
  });
  await new Promise<void>((resolve) => attacker.listen(0, '127.0.0.1', () => resolve()));
  t.teardown(() => new Promise<void>((resolve) => attacker.close(() => resolve())));
  const browser = await launchBrowser();
  t.teardown(() => browser.close());
  const context = await browser.newContext({ ignoreHTTPSErrors: true });
  const page = await context.newPage();

  await page.goto(`http://127.0.0.1:${(attacker.address() as AddressInfo).port}/`);
  await page.waitForURL((u) => u.origin === new URL(tc.apiUrl).origin);
  await page.waitForLoadState();
  t.is(page.url(), `${tc.apiUrl}/ui/login?error=origin`, 'sent back to the login page, refused');
  t.deepEqual((await context.cookies(tc.apiUrl)).map((c) => c.name), [], 'no session cookie');
  await page.goto(`${tc.apiUrl}/ui/`);
  t.is(new URL(page.url()).pathname, '/ui/login', 'the dashboard still asks the visitor to log in');
  t.is(((await page.textContent('#login-error')) ?? '').trim(), '', 'no error shown on a plain visit');

  // From the collector's own page the same token logs in.
  await page.fill('#token', READER_TOKEN);
  await page.click('button[type=submit]');
  await page.waitForURL(`${tc.apiUrl}/ui/`);
  t.deepEqual((await context.cookies(tc.apiUrl)).map((c) => c.name), ['__Host-nodeward-session']);
}));

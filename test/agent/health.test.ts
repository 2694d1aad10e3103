// The agent's probe endpoint: alive at once, ready only when the agent says so.
import test from 'ava';
import { createHealthServer } from '../../agent/health.js';

test('healthz answers at once; readyz follows readiness; anything else is refused', async (t) => {
  let ready = false;
  const h = createHealthServer({ host: '127.0.0.1', port: 0 }, { ready: () => ready });
  await h.start();
  t.teardown(() => h.stop());
  const url = (p: string) => `http://127.0.0.1:${h.port}${p}`;
  t.is((await fetch(url('/healthz'))).status, 200);
  t.is((await fetch(url('/readyz'))).status, 503);
  ready = true;
  t.is((await fetch(url('/readyz'))).status, 200);
  t.is((await fetch(url('/metrics'))).status, 404);
  t.is((await fetch(url('/healthz'), { method: 'POST' })).status, 405);
});

test('stop is safe before start and twice, and frees the port', async (t) => {
  const h = createHealthServer({ host: '127.0.0.1', port: 0 }, { ready: () => true });
  await t.notThrowsAsync(h.stop());
  await h.start();
  const port = h.port;
  t.true(port > 0);
  await h.stop();
  await h.stop();
  await t.throwsAsync(fetch(`http://127.0.0.1:${port}/healthz`));
});

// The collector's stop with browsers still connected: a connection that sent no request (a
// browser's preconnected or kept-alive socket) is cut after a short grace, instead of holding
// the API's close until Node's headers timeout (a minute, past a pod's grace period).
import test from 'ava';
import { connect, type TLSSocket } from 'node:tls';
import { startTestCollector } from '../helpers/collector.js';

test('stop cuts an open TLS connection that sent nothing, and returns', async (t) => {
  // Without the cut, stop waits 60 s for Node's headers timeout: past this test's limit.
  t.timeout(20_000);
  const tc = await startTestCollector();
  const url = new URL(tc.apiUrl);
  const socket: TLSSocket = await new Promise((resolve, reject) => {
    const s = connect({ host: url.hostname, port: Number(url.port), ca: tc.ca, servername: 'localhost' }, () => resolve(s));
    s.once('error', reject);
  });
  socket.on('error', () => undefined);
  const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
  await tc.close();
  await closed;
  t.true(socket.destroyed, 'the server ended the idle connection');
});

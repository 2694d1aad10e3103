// Enrollment under slow senders: a request counts as in flight only once its body is in,
// so clients that send headers and then trickle (or stall) their body cannot take the
// slots a complete request needs; they get 408 at the body deadline. The enrollment port
// also closes half-open TLS connections at its handshake deadline.
import test from 'ava';
import { connect as tlsConnect, type TLSSocket } from 'node:tls';
import { createCsr, generateNodeKey } from '../../agent/enroll/csr.js';
import { httpsJson } from '../helpers/https.js';
import { halfOpenTls, within } from '../helpers/sockets.js';
import { startEnrollingCollector } from './helpers.js';

const SLOW = 20;

interface SlowSender {
  readonly socket: TLSSocket;
  /** Everything the collector answered, once the connection closed. */
  readonly answer: Promise<string>;
  closed: boolean;
}

/** Headers and a few bytes of a 2 KiB body, after the collector said "100 Continue" (its handler has run). */
function slowSender(port: number, ca: Buffer, token: string): Promise<SlowSender> {
  return new Promise((resolve, reject) => {
    const socket = tlsConnect({ port, host: '127.0.0.1', ca, servername: 'localhost' });
    let text = '';
    let continued = false;
    const sender: SlowSender = {
      socket, closed: false,
      answer: new Promise((done) => socket.once('close', () => {
        sender.closed = true;
        done(text);
      })),
    };
    socket.on('error', reject);
    socket.once('secureConnect', () => {
      socket.write([
        'POST /v1/enroll HTTP/1.1', 'Host: localhost', `Authorization: Bearer ${token}`, 'Content-Type: application/json',
        'Content-Length: 2048', 'Expect: 100-continue', '', '',
      ].join('\r\n'));
    });
    socket.on('data', (d: Buffer) => {
      text += d.toString('utf8');
      if (!continued && text.startsWith('HTTP/1.1 100 Continue')) {
        continued = true;
        socket.write('{"csr": "');
        resolve(sender);
      }
    });
  });
}

test('twenty slow senders do not block a good enrollment, and get 408 at the body deadline', async (t) => {
  const c = await startEnrollingCollector({ overrides: { 'enroll.bodyTimeoutMs': 5000, 'enroll.handshakeTimeoutMs': 2000 } });
  t.teardown(() => c.close());
  const port = c.collector.enrollPort;
  const { token } = c.kube.agentPod('node-a');
  const slow = await Promise.all(Array.from({ length: SLOW }, () => slowSender(port, c.ca, token)));
  t.teardown(() => slow.forEach((s) => s.socket.destroy()));

  const good = await httpsJson<{ certificate?: string; error?: string }>(c.enrollUrl, {
    ca: c.ca, method: 'POST', token, body: { csr: createCsr('node-a', generateNodeKey()) },
  });
  t.is(good.status, 200, good.text);
  t.true((good.body.certificate ?? '').includes('BEGIN CERTIFICATE'));
  t.is(slow.filter((s) => s.closed).length, 0, 'the slow senders were still sending while the good enrollment was served');

  const answers = await within('slow senders answered', Promise.all(slow.map((s) => s.answer)));
  for (const a of answers) t.regex(a, /HTTP\/1\.1 408 /);
  t.is(c.collector.metrics.get('nodeward_enroll_body_timeouts_total'), SLOW);

  // The enrollment port has a handshake deadline too.
  const half = halfOpenTls(port);
  await within('half-open enrollment connection closed', half.closed);
  t.is(c.collector.metrics.get('nodeward_tls_handshake_timeouts_total', { listener: 'enroll' }), 1);
});

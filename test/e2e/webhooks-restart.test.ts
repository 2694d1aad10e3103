// Durable webhook delivery across a crash: the collector runs as its own OS process, the
// receiver is down, alerts pile up in the outbox, the collector is SIGKILLed and started
// again, more changes arrive, and only then the receiver comes up. Every alert arrives,
// signed, in order per finding.
import test from 'ava';
import { createHmac } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { initPki } from '../../collector/pki/pki.js';
import { hashToken } from '../../collector/config.js';
import { connect, fp, result } from '../helpers/agent-session.js';
import type { TestCollector } from '../helpers/collector.js';
import { eventually, httpsJson } from '../helpers/https.js';
import { startNodeward, type NodewardProcess } from '../helpers/process.js';
import { startReceiver, type Receiver } from '../helpers/webhook-receiver.js';

const TOKEN = 'e2e-webhooks-token-0123456789abcdef';
const SECRET = 'e2e-webhook-secret-0123456789abcdef';
const NODE = 'node-a';
const T0 = Date.parse('2025-06-01T10:00:00Z');

test('alerts queued while the receiver is down survive a collector SIGKILL and all arrive, in order per finding', async (t) => {
  t.timeout(120_000);
  const dir = await mkdtemp(join(tmpdir(), 'nodeward-e2e-webhooks-'));
  const running: NodewardProcess[] = [];
  let receiver: Receiver | undefined;
  t.teardown(async () => {
    await Promise.all(running.map((p) => p.kill('SIGKILL')));
    await receiver?.close();
    await rm(dir, { recursive: true, force: true });
  });

  // The receiver is down (it closes every connection at once) until it comes up at the end;
  // it holds its port all along, so no other process can take it meanwhile.
  receiver = await startReceiver(() => 200);
  receiver.down = true;
  const receiverPort = receiver.port;

  const pki = await initPki(join(dir, 'pki'), { nodes: [NODE], collectorHosts: ['localhost', '127.0.0.1'] });
  const ca = readFileSync(pki.caCert);
  await writeFile(join(dir, 'secret'), SECRET, { mode: 0o600 });
  const config = join(dir, 'collector.yaml');
  const writeConfig = (grpcPort: number, apiPort: number) => writeFile(config, JSON.stringify({
    dataDir: join(dir, 'collector'),
    grpc: { listen: `127.0.0.1:${grpcPort}`, caFile: pki.caCert, certFile: pki.collectorCert, keyFile: pki.collectorKey },
    api: { listen: `127.0.0.1:${apiPort}`, tokens: [{ name: 'e2e', role: 'admin', sha256: hashToken(TOKEN) }] },
    webhooks: [{
      name: 'siem', url: `http://127.0.0.1:${receiverPort}/hooks/nodeward`, format: 'json', secretFile: join(dir, 'secret'),
      groupWindowMs: 0, backoffInitialMs: 50, backoffMaxMs: 300, timeoutMs: 2000,
    }],
  }));
  await writeConfig(0, 0);
  const startCollector = async () => {
    const proc = startNodeward(['collector', '--config', config]);
    running.push(proc);
    const apiLine = await proc.waitFor((l) => l.msg === 'API listening');
    const grpcLine = await proc.waitFor((l) => l.msg === 'gRPC listening');
    return { proc, apiPort: apiLine.port as number, grpcPort: grpcLine.port as number };
  };
  let collector = await startCollector();
  const { apiPort, grpcPort } = collector;
  await writeConfig(grpcPort, apiPort);
  // What the session helper needs of a collector: where it is and the agent's certificate.
  const target = { pki, grpcAddress: `localhost:${grpcPort}` } as unknown as TestCollector;
  const deliveries = async (): Promise<any[]> => {
    const res = await httpsJson<{ items: any[] }>(`https://localhost:${apiPort}/api/v1/webhooks/deliveries?limit=1000`, { ca, token: TOKEN });
    if (res.status !== 200) throw new Error(`deliveries: ${res.status} ${res.text}`);
    return res.body.items;
  };

  const A = fp(NODE, 'cis-4.2.1', '--anonymous-auth');
  const B = fp(NODE, 'cis-4.2.4', '--read-only-port');
  const C = fp(NODE, 'cis-4.2.6', '--make-iptables-util-chains');
  const scope = ['cis-4.2.1', 'cis-4.2.4', 'cis-4.2.6'];
  const a = await connect(target, NODE);
  await a.scan(T0, scope, [
    result('cis-4.2.1', '--anonymous-auth', 'fail'), result('cis-4.2.4', '--read-only-port', 'fail'),
    result('cis-4.2.6', '--make-iptables-util-chains', 'fail'),
  ]);
  await a.scan(T0 + 60_000, scope, [
    result('cis-4.2.1', '--anonymous-auth', 'pass'), result('cis-4.2.4', '--read-only-port', 'fail', { severity: 'critical' }),
    result('cis-4.2.6', '--make-iptables-util-chains', 'fail'),
  ]);
  await a.scan(T0 + 120_000, scope, [
    result('cis-4.2.1', '--anonymous-auth', 'fail'), result('cis-4.2.4', '--read-only-port', 'fail', { severity: 'critical' }),
    result('cis-4.2.6', '--make-iptables-util-chains', 'pass'),
  ]);
  a.close();
  // The dispatcher has tried (the receiver closes every connection) and every alert is queued.
  await eventually('seven alerts queued and tried', async () => {
    const rows = await deliveries();
    return rows.length === 7 && rows.every((r) => r.status === 'pending') && rows.some((r) => r.attempts > 0) ? true : undefined;
  });
  t.regex((await deliveries()).find((r) => r.attempts > 0).lastError, /ECONNRESET/);

  await collector.proc.kill('SIGKILL');
  collector = await startCollector();
  t.is(collector.apiPort, apiPort);
  // A change after the restart joins the same queue, behind the older ones.
  const again = await connect(target, NODE);
  await again.scan(T0 + 180_000, scope, [
    result('cis-4.2.1', '--anonymous-auth', 'fail'), result('cis-4.2.4', '--read-only-port', 'pass'),
    result('cis-4.2.6', '--make-iptables-util-chains', 'pass'),
  ]);
  again.close();

  receiver.down = false;
  await eventually('every alert delivered', async () => {
    const rows = await deliveries();
    return rows.length === 8 && rows.every((r) => r.status === 'delivered') ? true : undefined;
  }, 60_000);

  const got = receiver.requests;
  for (const r of got) {
    t.is(r.path, '/hooks/nodeward');
    t.is(r.headers['x-nodeward-signature'], `sha256=${createHmac('sha256', SECRET).update(r.raw).digest('hex')}`);
  }
  // At least once: a try cut short by the kill may come again, with its delivery id.
  const firstOfEach = [...new Map(got.map((r) => [r.headers['x-nodeward-delivery'], r])).values()];
  t.is(firstOfEach.length, 8, 'eight alerts, none lost');
  const eventsOf = (id: string) => firstOfEach.filter((r) => r.body.finding.id === id).map((r) => r.body.event);
  t.deepEqual(eventsOf(A), ['opened', 'resolved', 'reopened']);
  t.deepEqual(eventsOf(B), ['opened', 'escalated', 'resolved']);
  t.deepEqual(eventsOf(C), ['opened', 'resolved']);
  t.is(firstOfEach.find((r) => r.body.event === 'escalated')!.body.finding.severity, 'critical', 'the snapshot taken at the escalation');
  t.false(collector.proc.output().includes(SECRET), 'the secret never reaches the log');
});

// A fault in the middle of load: 200 agents, each on its own mTLS stream with its own
// certificate, send finding batches to a collector running as its own OS process; the
// collector is SIGKILLed while batches are in flight and started again on the same
// database. Every finding whose batch was acked before the kill is there afterwards.
import test from 'ava';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { initPki } from '../../collector/pki/pki.js';
import { hashToken } from '../../collector/config.js';
import { fingerprint } from '../../proto/fingerprint.js';
import { proc } from '../helpers/agent-session.js';
import { openRawStream, type RawStream } from '../helpers/grpc-client.js';
import { httpsJson } from '../helpers/https.js';
import { startNodeward, type NodewardProcess } from '../helpers/process.js';

const AGENTS = 200;
const PER_BATCH = 5;
const TOKEN = 'e2e-crash-token-0123456789abcdef0123';

test('a collector SIGKILLed in the middle of a 200-agent ingest keeps every finding it acked', async (t) => {
  t.timeout(180_000);
  const dir = await mkdtemp(join(tmpdir(), 'nodeward-crash-'));
  const running: NodewardProcess[] = [];
  const streams: RawStream[] = [];
  t.teardown(async () => {
    streams.forEach((s) => s.close());
    await Promise.all(running.map((p) => p.kill('SIGKILL')));
    await rm(dir, { recursive: true, force: true });
  });
  const nodes = Array.from({ length: AGENTS }, (_, i) => `crash-node-${String(i).padStart(3, '0')}`);
  const pki = await initPki(join(dir, 'pki'), { nodes, collectorHosts: ['localhost'] });
  const config = join(dir, 'collector.yaml');
  const writeConfig = (grpcPort: number, apiPort: number) => writeFile(config, JSON.stringify({
    dataDir: join(dir, 'data'),
    // All 200 agents connect from 127.0.0.1: no per-source cap.
    grpc: { listen: `127.0.0.1:${grpcPort}`, caFile: pki.caCert, certFile: pki.collectorCert, keyFile: pki.collectorKey, maxConnectionsPerSource: 0 },
    api: { listen: `127.0.0.1:${apiPort}`, tokens: [{ name: 'e2e', role: 'reader', sha256: hashToken(TOKEN) }] },
  }));
  await writeConfig(0, 0);
  const start = async () => {
    const p = startNodeward(['collector', '--config', config]);
    running.push(p);
    const api = await p.waitFor((l) => l.msg === 'API listening', { timeoutMs: 60_000 });
    const grpc = await p.waitFor((l) => l.msg === 'gRPC listening', { timeoutMs: 60_000 });
    return { p, apiPort: api.port as number, grpcPort: grpc.port as number };
  };
  const first = await start();
  await writeConfig(first.grpcPort, first.apiPort);

  // Each agent sends batch after batch, one in flight at a time, and records what was acked.
  const acked = new Map<string, string[]>();
  let totalAcked = 0;
  let killed = false;
  const onAck: Array<() => void> = [];
  const agent = async (node: string): Promise<void> => {
    const creds = pki.agents[node]!;
    const s = openRawStream(`localhost:${first.grpcPort}`, { ca: pki.caCert, cert: creds.cert, key: creds.key });
    streams.push(s);
    s.send({ hello: { node, agentVersion: 'crash-test', epoch: `e-${node}`, host: { os: 'Test OS', kernel: '6.1.0', arch: 'x64' } } });
    const mine: string[] = [];
    acked.set(node, mine);
    for (let seq = 1; !killed; seq++) {
      const subjects = Array.from({ length: PER_BATCH }, (_, j) => `/opt/crash/${node}/tool-${seq}-${j}`);
      s.send({ findingBatch: { sequence: seq, findings: subjects.map((x) => proc(x)) } });
      let reply;
      try {
        [reply] = await s.receive(1, 30_000);
      } catch {
        return; // the stream ended with the collector
      }
      if (reply?.ack?.sequence !== seq || reply.ack.code !== 0) throw new Error(`${node}: unexpected reply ${JSON.stringify(reply)}`);
      mine.push(...subjects);
      totalAcked++;
      onAck.splice(0).forEach((f) => f());
    }
  };
  const agents = nodes.map((n) => agent(n));

  // Kill once every agent has had a few batches acked, with the next ones in flight.
  await new Promise<void>((resolve) => {
    const check = (): void => {
      if (totalAcked >= AGENTS * 3) resolve();
      else onAck.push(check);
    };
    check();
  });
  const ackedAtKill = totalAcked;
  await first.p.kill('SIGKILL');
  killed = true;
  await Promise.all(agents);
  const ackedTotal = [...acked.values()].reduce((n, a) => n + a.length, 0);
  t.true(ackedAtKill >= AGENTS * 3);
  t.true([...acked.values()].every((a) => a.length >= PER_BATCH), 'every agent had batches acked before the kill');

  const ca = readFileSync(pki.caCert);
  const second = await start();
  t.is(second.grpcPort, first.grpcPort);
  // Read back every stored finding through the API.
  const stored = new Set<string>();
  for (let cursor: string | undefined, page = 0; page < 1000; page++) {
    const res = await httpsJson<{ items: Array<{ id: string }>; nextCursor: string | null }>(
      `https://localhost:${second.apiPort}/api/v1/findings?check=proc-unexpected&limit=1000${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`,
      { ca, token: TOKEN });
    t.is(res.status, 200, res.text);
    res.body.items.forEach((f) => stored.add(f.id));
    if (!res.body.nextCursor) break;
    cursor = res.body.nextCursor;
  }
  const missing: string[] = [];
  for (const [node, subjects] of acked) {
    for (const subject of subjects) if (!stored.has(fingerprint(node, 'proc-unexpected', subject))) missing.push(`${node} ${subject}`);
  }
  t.log(`${ackedTotal} findings acked by ${AGENTS} agents before the kill; ${stored.size} stored after the restart`);
  t.deepEqual(missing.slice(0, 10), [], `${missing.length} acked findings missing after the restart`);
  t.true(stored.size >= ackedTotal);
});

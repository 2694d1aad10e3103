// Two collectors as replicas on one PostgreSQL database, end to end (issue 23): each runs as
// its own OS process with mTLS gRPC, agents are spread over both, and a webhook receiver
// records every request. An operator's allow on the leader reaches the agents on the other
// replica. Then the leader is SIGKILLed while batches are in flight; its agents go to the
// survivor and send again what was not acked, with the same (epoch, sequence), as an agent's
// spool does. Afterwards: every acked finding is stored once (its count is 1: no batch was
// applied twice), every alert the lifecycle produced reached the receiver at least once, a
// repeat carries the same delivery id and the same body, per finding in order, and the
// survivor leads.
import test from 'ava';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type pg from 'pg';
import { initPki, type PkiPaths } from '../../collector/pki/pki.js';
import { processSubject } from '../../proto/baseline-key.js';
import type { AgentMessage, BaselineUpdate__Output } from '../../proto/load.js';
import { fp, proc, result } from '../helpers/agent-session.js';
import { openRawStream, type RawStream } from '../helpers/grpc-client.js';
import { eventually, httpsJson } from '../helpers/https.js';
import { connectTo, needsPostgres, postgresForFile } from '../helpers/postgres.js';
import { LEADING_MESSAGE } from '../../collector/main.js';
import { startCollectorProcess, type CollectorProcess, type NodewardProcess } from '../helpers/process.js';
import { parsePromText } from '../helpers/prom-text.js';
import { startReceiver, type Receiver, type ReceivedRequest } from '../helpers/webhook-receiver.js';

const pgTest = needsPostgres();
const server = postgresForFile();

const TOKEN = 'e2e-replicas-token-0123456789abcdef';
const AGENTS = 8;
/** Messages each agent sends in all, sequences 1..MESSAGES. */
const MESSAGES = 28;
/** Messages an agent has sent and not yet seen acked, at most (an agent's `window`). */
const WINDOW = 4;
const PER_BATCH = 5;
/** Every SCAN_EVERY-th message is a scan report of one check, failing and passing in turn. */
const SCAN_EVERY = 4;
const CHECK = 'cis-4.2.1';
const CHECK_SUBJECT = '--anonymous-auth';
/** A workload baseline every agent receives; its executable runs on every node until an operator allows it. */
const WEB = 'shop/Deployment/web/nginx';
const ALLOWED = '/usr/bin/allowed-tool';

interface Replica {
  readonly name: string;
  readonly c: CollectorProcess;
  readonly grpc: string;
  readonly api: string;
}

/**
 * A test agent with a spool: every message keeps its sequence until acked, at most WINDOW are
 * in flight, and when its stream ends it connects to the other replica (as behind a Service),
 * sends a hello with the same epoch and then every unacked message again, as it was.
 */
interface SpooledAgent {
  readonly node: string;
  /** The replica it is connected to now. */
  replica: Replica;
  /** Sequences the collector acked (code 0), with whether the ack said duplicate. */
  readonly acked: Map<number, boolean>;
  /** Every message made, by sequence (what a resend sends). */
  readonly made: Map<number, AgentMessage>;
  /** Baseline updates received, with when. */
  readonly updates: Array<{ at: number; update: BaselineUpdate__Output; replica: string }>;
  /** Acks with a code other than 0 (the spool keeps the message and sends it again). */
  readonly refusals: string[];
  /** Sequences whose ack the agent took as lost when its stream ended, and so sent again. */
  readonly replayed: number[];
  /** Sends messages up to `sequence` (made by `make`) and resolves once all are acked. */
  sendUpTo(sequence: number): Promise<void>;
  /** Messages sent on the current stream and not acked. */
  inFlight(): number;
  /** Streams opened (1 + reconnects). */
  streams(): number;
  close(): void;
}

function spooledAgent(node: string, pki: PkiPaths, first: Replica, other: () => Replica, make: (seq: number) => AgentMessage,
  onAck: () => void): SpooledAgent {
  const creds = { ca: pki.caCert, cert: pki.agents[node]!.cert, key: pki.agents[node]!.key };
  const epoch = `e2e-replicas-${node}`;
  let stream: RawStream | undefined;
  let upTo = 0;
  let nextNew = 1;
  let closed = false;
  let opened = 0;
  const inFlight = new Set<number>();
  const waiting: Array<() => void> = [];
  const agent: SpooledAgent = {
    node, replica: first, acked: new Map(), made: new Map(), updates: [], refusals: [], replayed: [],
    async sendUpTo(sequence) {
      upTo = sequence;
      pump();
      await new Promise<void>((resolve) => {
        const check = (): void => {
          if ([...Array(sequence).keys()].every((i) => agent.acked.has(i + 1))) resolve();
          else waiting.push(check);
        };
        check();
      });
    },
    inFlight: () => inFlight.size,
    streams: () => opened,
    close() {
      closed = true;
      stream?.close();
    },
  };
  /** Unacked messages first (in sequence order), then new ones, while the window allows. */
  function pump(): void {
    const s = stream;
    if (!s) return;
    const unacked = [...agent.made.keys()].filter((q) => !agent.acked.has(q) && !inFlight.has(q)).sort((a, b) => a - b);
    while (inFlight.size < WINDOW) {
      let seq = unacked.shift();
      if (seq === undefined) {
        if (nextNew > upTo) return;
        seq = nextNew++;
        agent.made.set(seq, make(seq));
      }
      inFlight.add(seq);
      s.send(agent.made.get(seq)!);
    }
  }
  function open(replica: Replica): void {
    agent.replica = replica;
    opened++;
    inFlight.clear();
    const s = openRawStream(replica.grpc, creds);
    stream = s;
    const applied = Math.max(0, ...agent.updates.map((u) => Number(u.update.version)));
    s.send({ hello: { node, agentVersion: 'e2e-replicas', epoch, host: { os: 'Test OS', kernel: '6.1.0', arch: 'x64' }, baselineVersion: applied } });
    pump();
    void (async () => {
      for (;;) {
        let m;
        try {
          [m] = await s.receive(1, 600_000);
        } catch {
          break; // the stream ended
        }
        if (m?.baselineUpdate) {
          agent.updates.push({ at: Date.now(), update: m.baselineUpdate, replica: replica.name });
          continue;
        }
        const ack = m?.ack;
        if (!ack) continue;
        const seq = Number(ack.sequence);
        inFlight.delete(seq);
        if (ack.code === 0) {
          agent.acked.set(seq, ack.duplicate);
          onAck();
          waiting.splice(0).forEach((w) => w());
        } else {
          agent.refusals.push(`${seq}: ${ack.code} ${ack.message}`);
        }
        pump();
      }
      if (closed) return;
      // The last ack before the crash is taken as lost on the way (the collector had
      // committed the message, the agent never heard): the message goes again.
      const last = Math.max(...agent.acked.keys());
      if (Number.isFinite(last)) {
        agent.acked.delete(last);
        agent.replayed.push(last);
      }
      // The collector went away: the other replica, after a short pause (a real agent backs off).
      setTimeout(() => {
        if (!closed) open(other());
      }, 100);
    })();
  }
  open(first);
  return agent;
}

/** Each rollup table as the findings it counts make it anew (rollups.ts: cluster findings, node '', count no nodes). */
const ROLLUPS: ReadonlyArray<[string, string, string]> = [
  ['node_counts', 'SELECT state, node, total, s0, s1, s2, s3, s4 FROM node_counts',
    `SELECT state, node, count(*), ${[0, 1, 2, 3, 4].map((r) => `count(*) FILTER (WHERE severity_rank = ${r})`).join(', ')} FROM findings GROUP BY 1, 2`],
  // The striped tables (pg/rollups.ts) summed over their stripes.
  ['finding_totals', 'SELECT state, category, severity_rank, sum(n)::bigint FROM finding_totals GROUP BY 1, 2, 3 HAVING sum(n) <> 0',
    'SELECT state, category, severity_rank, count(*) FROM findings GROUP BY 1, 2, 3'],
  ['check_totals', 'SELECT state, check_id, severity_rank, sum(n)::bigint FROM check_totals GROUP BY 1, 2, 3 HAVING sum(n) <> 0',
    'SELECT state, check_id, severity_rank, count(*) FROM findings GROUP BY 1, 2, 3'],
  ['check_nodes', 'SELECT state, check_id, node, n FROM check_nodes', "SELECT state, check_id, node, count(*) FROM findings WHERE status = 'fail' AND node <> '' GROUP BY 1, 2, 3"],
  ['check_spread', `SELECT state, check_id, ${['nodes', 'findings', 's0', 's1', 's2', 's3', 's4'].map((c) => `sum(${c})::bigint`).join(', ')}
       FROM check_spread GROUP BY 1, 2 HAVING sum(findings) <> 0`,
    `SELECT state, check_id, count(DISTINCT node), count(*), ${[0, 1, 2, 3, 4].map((r) => `count(*) FILTER (WHERE severity_rank = ${r})`).join(', ')}
       FROM findings WHERE status = 'fail' AND node <> '' GROUP BY 1, 2`],
];

/** The rows of each rollup table that differ from the findings they count. */
async function rollupDrift(db: pg.Client): Promise<Record<string, unknown[]>> {
  const out: Record<string, unknown[]> = {};
  for (const [table, kept, made] of ROLLUPS) {
    const { rows } = await db.query(`(${kept} EXCEPT ALL ${made}) UNION ALL (${made} EXCEPT ALL ${kept})`);
    if (rows.length > 0) out[table] = rows.slice(0, 5);
  }
  return out;
}

/** The changes a request carries: its finding (and a grouped message's others) with its event. */
function changesOf(r: ReceivedRequest): Array<{ id: string; event: string }> {
  const findings: Array<{ id: string }> = r.body.findings ?? [r.body.finding];
  return findings.map((f) => ({ id: f.id, event: r.body.event as string }));
}

pgTest('two replicas on one database: an allow crosses replicas, and the leader SIGKILLed mid-ingest loses no acked finding and no alert', async (t) => {
  t.timeout(120_000);
  const began = Date.now();
  const pgServer = await server();
  const url = pgServer.url(await pgServer.createDatabase());
  const dir = await mkdtemp(join(tmpdir(), 'nodeward-e2e-replicas-'));
  const running: NodewardProcess[] = [];
  const agents: SpooledAgent[] = [];
  let receiver: Receiver | undefined;
  let db: pg.Client | undefined;
  t.teardown(async () => {
    agents.forEach((a) => a.close());
    await Promise.all(running.map((p) => p.kill('SIGKILL')));
    await receiver?.close();
    await db?.end().catch(() => undefined);
    await rm(dir, { recursive: true, force: true });
  });

  const nodes = Array.from({ length: AGENTS }, (_, i) => `replica-node-${i}`);
  const pki = await initPki(join(dir, 'pki'), { nodes, collectorHosts: ['localhost', '127.0.0.1'] });
  const ca = readFileSync(pki.caCert);
  await writeFile(join(dir, 'postgres-url'), url, { mode: 0o600 });
  receiver = await startReceiver(() => 200);
  const settings = {
    // A small pool: the units of work of 8 agents fill it, as a fleet fills the default 10,
    // and a dispatcher waits for connections behind them.
    store: { driver: 'postgres', postgres: { urlFile: join(dir, 'postgres-url'), sslMode: 'disable', poolSize: 3 } },
    webhooks: [{
      name: 'siem', url: `${receiver.url}/hooks/nodeward`, format: 'json',
      groupWindowMs: 200, backoffInitialMs: 50, backoffMaxMs: 300, timeoutMs: 2000,
    }],
  };
  const start = async (name: string): Promise<Replica> => {
    await mkdir(join(dir, name));
    const c = await startCollectorProcess({ dir: join(dir, name), pki, adminToken: TOKEN, settings, running });
    return { name, c, grpc: `localhost:${c.grpcPort}`, api: `https://localhost:${c.apiPort}` };
  };
  // Both at once: they migrate the one database under its lock.
  const [one, two] = await Promise.all([start('one'), start('two')]);
  const replicas = [one!, two!];
  t.log(`two replicas listening ${Date.now() - began} ms after the start`);

  const leaderGauge = async (r: Replica): Promise<number> => {
    const res = await httpsJson(`${r.api}/metrics`, { ca });
    if (res.status !== 200) throw new Error(`metrics of ${r.name}: ${res.status}`);
    return parsePromText(res.text).get('nodeward_leader')?.samples[0]?.value ?? NaN;
  };
  const gauges = async (): Promise<number[]> => Promise.all(replicas.map(leaderGauge));
  const elected = await eventually('one leader', async () => {
    const g = await gauges();
    return g.filter((v) => v === 1).length === 1 ? g : undefined;
  });
  t.deepEqual([...elected].sort(), [0, 1], 'exactly one replica leads, the other follows');
  const leader = replicas[elected.indexOf(1)]!;
  const follower = replicas[elected.indexOf(0)]!;
  t.is(leader.c.proc.count((l) => l.msg === LEADING_MESSAGE), 1);
  t.is(follower.c.proc.count((l) => l.msg === LEADING_MESSAGE), 0);

  // What agent `node` sends as message `seq`: first the executable the operator will allow,
  // then batches of new findings, and every SCAN_EVERY-th a scan failing and passing in turn.
  const scanStatus = (seq: number): 'fail' | 'pass' => ((seq / SCAN_EVERY) % 2 === 1 ? 'fail' : 'pass');
  const batchSubjects = (node: string, seq: number): string[] =>
    Array.from({ length: PER_BATCH }, (_, j) => `/opt/replicas/${node}/tool-${seq}-${j}`);
  const make = (node: string) => (seq: number): AgentMessage => {
    if (seq === 1) return { findingBatch: { sequence: 1, findings: [proc(processSubject(WEB, ALLOWED))] } };
    if (seq % SCAN_EVERY === 0) {
      return { scanReport: { sequence: seq, scannedAtMs: Date.now(), benchmark: 'cis-1.12', scope: [CHECK], trigger: 'periodic', results: [result(CHECK, CHECK_SUBJECT, scanStatus(seq))] } };
    }
    return { findingBatch: { sequence: seq, findings: batchSubjects(node, seq).map((s) => proc(s)) } };
  };
  let totalAcked = 0;
  const ackWaiters: Array<() => void> = [];
  const onAck = (): void => {
    totalAcked++;
    ackWaiters.splice(0).forEach((w) => w());
  };
  // Half the agents on each replica; when one goes away its agents go to the other.
  nodes.forEach((node, i) => {
    const home = replicas[i % 2]!;
    agents.push(spooledAgent(node, pki, home, () => replicas.find((r) => r !== agents[i]!.replica)!, make(node), onAck));
  });
  const onLeader = agents.filter((a) => a.replica === leader);
  const onFollower = agents.filter((a) => a.replica === follower);
  t.is(onLeader.length, AGENTS / 2);

  // 1. Every node reports the executable; then an operator allows it on the leader.
  await Promise.all(agents.map((a) => a.sendUpTo(1)));
  const allowSent = Date.now();
  const allowed = await httpsJson<{ version: number; pushed: number }>(`${leader.api}/api/v1/baselines/allow`, {
    ca, token: TOKEN, method: 'POST', body: { key: WEB, executables: [ALLOWED], content: 'any' },
  });
  t.is(allowed.status, 200, allowed.text);
  t.is(allowed.body.pushed, AGENTS / 2, 'pushed by the leader to its own agents');
  // Within a few seconds (the listener's figure is tens of ms: docs/postgresql.md); the time taken is logged.
  const reached = await eventually('the allow on every agent of both replicas', () => {
    const got = agents.map((a) => a.updates.find((u) => u.update.key === WEB && u.update.action === 'ACTION_ALLOW' && u.update.allowed.includes(ALLOWED)));
    return got.every((u) => u !== undefined) ? got : undefined;
  }, 10_000, 10);
  for (const [i, u] of reached.entries()) t.is(Number(u!.update.version), allowed.body.version, agents[i]!.node);
  const crossMs = Math.max(...onFollower.map((a) => reached[agents.indexOf(a)]!.at)) - allowSent;

  // 2. Ingest on both; the leader is killed once a third is acked, with batches in flight and
  // a webhook request unanswered: the receiver holds its answers back from then on.
  const ackedBefore = totalAcked;
  const ingestFrom = Date.now();
  const done = agents.map((a) => a.sendUpTo(MESSAGES));
  await new Promise<void>((resolve) => {
    const check = (): void => {
      if (totalAcked - ackedBefore >= (AGENTS * (MESSAGES - 1)) / 3) resolve();
      else ackWaiters.push(check);
    };
    check();
  });
  const heldFrom = receiver.requests.length;
  const holdFrom = Date.now();
  receiver.answer = (_r, n) => (n >= heldFrom ? 'hang' : 200);
  const held = await eventually('a webhook request unanswered', () => receiver!.requests[heldFrom], 10_000, 10);
  const heldWaitMs = Date.now() - holdFrom;
  const heldId = held.headers['x-nodeward-delivery'] as string;
  const inFlightAtKill = onLeader.reduce((n, a) => n + a.inFlight(), 0);
  const killedAt = Date.now();
  const beforeKillMs = killedAt - ingestFrom;
  await leader.c.proc.kill('SIGKILL');
  const ackedAtKill = totalAcked;
  receiver.answer = () => 200;
  // The survivor takes over the leader's work.
  await eventually('the survivor to lead', async () => ((await leaderGauge(follower)) === 1 ? true : undefined), 20_000, 50);
  const takeoverMs = Date.now() - killedAt;
  await Promise.all(done);
  // Every agent of the killed replica is on the survivor, and what it sent again is acked there.
  await eventually('the killed replica\'s agents on the survivor', () => (onLeader.every((a) => a.streams() === 2) ? true : undefined));
  await Promise.all(agents.map((a) => a.sendUpTo(MESSAGES)));
  const ingestMs = Date.now() - killedAt;
  const replays = onLeader.flatMap((a) => a.replayed.map((seq) => ({ node: a.node, seq, duplicate: a.acked.get(seq) })));
  t.is(replays.length, AGENTS / 2, 'each agent of the killed replica sent its last acked message again');
  t.true(replays.every((r) => r.duplicate === true), `acked as duplicates by the survivor, not applied again: ${JSON.stringify(replays)}`);
  t.true(inFlightAtKill > 0, 'the killed replica had unacked batches in flight');
  t.true(onLeader.every((a) => a.replica === follower && a.streams() === 2), 'the killed replica\'s agents moved to the survivor');
  t.true(onFollower.every((a) => a.streams() === 1), 'the survivor\'s own agents kept their streams');
  t.deepEqual(agents.flatMap((a) => a.refusals), [], 'no message refused');
  t.is(follower.c.proc.count((l) => l.msg === LEADING_MESSAGE), 1);

  // 3. Every message of every agent acked; every finding stored once.
  db = await connectTo(url);
  const expected = new Map<string, string[]>();
  for (const a of agents) {
    t.is(a.acked.size, MESSAGES, `${a.node}: every message acked`);
    expected.set(fp(a.node, 'proc-unexpected', processSubject(WEB, ALLOWED)), ['opened', 'resolved']);
    const scans: string[] = [];
    for (let seq = 2; seq <= MESSAGES; seq++) {
      if (seq % SCAN_EVERY === 0) {
        const status = scanStatus(seq);
        scans.push(status === 'pass' ? 'resolved' : scans.length === 0 ? 'opened' : 'reopened');
      } else {
        for (const s of batchSubjects(a.node, seq)) expected.set(fp(a.node, 'proc-unexpected', s), ['opened']);
      }
    }
    expected.set(fp(a.node, CHECK, CHECK_SUBJECT), scans);
  }
  const stored = await db.query<{ id: string; count: number; state: string; opened: number }>(
    `SELECT f.id, f.count, f.state, (SELECT count(*) FROM finding_history h WHERE h.finding_seq = f.seq AND h.event = 'opened')::int AS opened
       FROM findings f WHERE f.check_id IN ('proc-unexpected', $1)`, [CHECK]);
  const byId = new Map(stored.rows.map((r) => [r.id, r]));
  t.is(stored.rows.length, expected.size, 'exactly the findings sent are stored');
  const wrong = [...expected.keys()].filter((id) => {
    const r = byId.get(id);
    return r === undefined || r.opened !== 1 || (expected.get(id)!.length === 1 && Number(r.count) !== 1);
  });
  t.deepEqual(wrong.slice(0, 5), [], `${wrong.length} findings missing, counted twice or opened twice`);
  t.deepEqual(await rollupDrift(db), {}, 'the rollups both replicas wrote count exactly the findings');
  const received = await db.query<{ n: number }>('SELECT count(*)::int AS n FROM received WHERE epoch LIKE $1', ['e2e-replicas-%']);
  t.is(received.rows[0]!.n, AGENTS * MESSAGES, 'one idempotency row per message');

  // 4. Every alert delivered at least once, repeats identical, in order per finding.
  const outbox = await eventually('the outbox drained', async () => {
    const rows = (await db!.query<{ finding_id: string; event: string; status: string; delivery_id: string | null }>(
      "SELECT finding_id, event, status, delivery_id FROM webhook_outbox WHERE destination = 'siem' ORDER BY seq")).rows;
    return rows.length > 0 && rows.every((r) => r.status === 'delivered') ? rows : undefined;
  }, 40_000, 200);
  const queue = await db.query<{ pending: number; dropped: number }>("SELECT pending::int, dropped::int FROM webhook_queues WHERE destination = 'siem'");
  t.deepEqual(queue.rows, [{ pending: 0, dropped: 0 }], "the queue's counters, kept by both replicas, agree with its rows");
  const firstOf = new Map<string, ReceivedRequest>();
  let repeats = 0;
  for (const r of receiver.requests) {
    const id = r.headers['x-nodeward-delivery'] as string;
    t.is(r.body.deliveryId, id);
    const seen = firstOf.get(id);
    if (seen === undefined) firstOf.set(id, r);
    else {
      repeats++;
      t.true(seen.raw.equals(r.raw), `a repeat of ${id} carries the same body`);
    }
  }
  // The request unanswered at the kill: its sender died with it (the survivor sends it again)
  // or, when the survivor was draining, it gave up at its timeout and tries again.
  const heldAgain = receiver.requests.slice(heldFrom + 1).filter((r) => r.headers['x-nodeward-delivery'] === heldId);
  t.true(heldAgain.length > 0 && heldAgain.every((r) => r.raw.equals(held.raw)), 'the unanswered delivery came again, the same');
  const heldBy = follower.c.proc.count((l) => l.msg === 'webhook delivery failed; will retry' && l.deliveryId === heldId) > 0 ? follower.name : leader.name;
  t.deepEqual(new Set(outbox.map((r) => r.delivery_id)), new Set(firstOf.keys()), 'every delivery id of the outbox arrived; none other');
  const arrived = new Map<string, string[]>();
  for (const r of firstOf.values()) {
    for (const c of changesOf(r)) arrived.set(c.id, [...(arrived.get(c.id) ?? []), c.event]);
  }
  const outOfOrder = [...expected].filter(([id, events]) => JSON.stringify(arrived.get(id)) !== JSON.stringify(events));
  t.deepEqual(outOfOrder.slice(0, 5).map(([id, events]) => ({ id, expected: events, arrived: arrived.get(id) })), [],
    `${outOfOrder.length} findings whose alerts did not all arrive, in order`);
  t.is(arrived.size, expected.size, 'no alert of a finding not sent');
  // Counting repeats too: per finding, the deliveries as they arrived, a repeat right after
  // itself folded, are the first arrivals again: no repeat came after a later change.
  const asArrived = new Map<string, string[]>();
  for (const r of receiver.requests) {
    for (const c of changesOf(r)) {
      const list = asArrived.get(c.id) ?? [];
      if (list.at(-1) !== r.body.deliveryId) list.push(r.body.deliveryId as string);
      asArrived.set(c.id, list);
    }
  }
  const overtaken = [...asArrived].filter(([id, list]) => list.length !== arrived.get(id)?.length);
  t.deepEqual(overtaken.slice(0, 5), [], 'a repeat never comes after a later change of its finding');

  for (const l of follower.c.proc.lines.filter((x) => x.level === 'warn')) t.log(`the survivor warned: ${JSON.stringify(l).slice(0, 300)}`);
  t.deepEqual(follower.c.proc.lines.filter((x) => x.level === 'error' || x.level === 'fatal'), [], 'the survivor logged no error');
  const alerts = [...expected.values()].reduce((n, e) => n + e.length, 0);
  const duplicates = agents.reduce((n, a) => n + [...a.acked.values()].filter(Boolean).length, 0);
  t.log(`${AGENTS} agents, ${AGENTS * MESSAGES} messages (${ackedAtKill} acked before the kill, ${inFlightAtKill} in flight on the killed replica); `
    + `${duplicates} resent messages acked as duplicates; ${expected.size} findings, ${alerts} alerts in ${firstOf.size} deliveries `
    + `(${receiver.requests.length} requests, ${repeats} repeats; the request held at the kill was ${heldBy}'s, sent ${heldWaitMs} ms after the hold began); allow crossed replicas in ${crossMs} ms; survivor led ${takeoverMs} ms after the kill; `
    + `ingest ran ${beforeKillMs} ms before the kill and finished ${ingestMs} ms after it; ${Date.now() - began} ms in all`);
});

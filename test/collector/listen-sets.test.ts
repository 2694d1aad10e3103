// Central listen sets against a real collector (nodes' BaselineReports over mTLS gRPC, the API
// and CLI over HTTPS, SQLite underneath): the whole set travels with every ADOPT, a locked
// baseline takes a node's new listen only when it was on its way at the lock, and an
// operator's allow-listen is stored, audited, pushed (and sent to a node catching up with a
// learning baseline) and resolves the exposure-new-listener findings it covers, literally or
// by address class. What is not a listen is a 400 that names the field and says why.
import test from 'ava';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { LOCK_IN_FLIGHT_MS } from '../../collector/store/store.js';
import type { NodeExposure } from '../../proto/gen/nodeward/v1/NodeExposure.js';
import { ADMIN_TOKEN, READER_TOKEN, type TestCollector } from '../helpers/collector.js';
import { eventually } from '../helpers/https.js';
import { testClock } from '../helpers/clock.js';
import { runNodeward } from '../helpers/process.js';
import { api, bl, centralBaseline, connect, fp, ok, result, withCollector, type Session } from '../helpers/agent-session.js';

const WEB = 'shop/Deployment/web/nginx';
const CHECK = 'exposure-new-listener';
const NODES = ['node-a', 'node-b', 'node-c'];

interface ApiListen { listen: string; source: string; firstNode: string }
const listensOf = async (tc: TestCollector, key = WEB): Promise<string[]> =>
  ((await centralBaseline(tc, key)) as unknown as { listens: ApiListen[] } | undefined)?.listens.map((l) => `${l.listen} ${l.source} ${l.firstNode}`) ?? [];
const allowListen = (tc: TestCollector, body: unknown, token: string | null = ADMIN_TOKEN) =>
  api(tc, '/api/v1/baselines/allow-listen', { method: 'POST', token, body });

let markers = 0;
/** Everything the node sent before has been merged (reports are handled in order). */
async function merged(tc: TestCollector, s: Session, node: string): Promise<void> {
  const key = `marker/Pod/${node}/m${++markers}`;
  s.report(bl(key, 'learning', ['/bin/true']));
  await eventually(`${node}'s marker`, async () => centralBaseline(tc, key));
}

/** A scan report whose results and exposure are these, acknowledged. */
async function scan(s: Session, seq: number, results: ReturnType<typeof result>[], exposure?: NodeExposure): Promise<void> {
  s.stream.send({ scanReport: { sequence: seq, scannedAtMs: Date.now(), benchmark: 'cis-1.12', scope: [CHECK], results, trigger: 'periodic', ...(exposure ? { exposure } : {}) } });
  for (;;) {
    const m = await s.next();
    if (m.ack?.sequence === seq) {
      if (m.ack.code !== 0) throw new Error(`scan refused: ${m.ack.message}`);
      return;
    }
  }
}

const listener = (address: string, port: number, addressClass: string) => ({
  protocol: 'tcp', address, port, addressClass, wildcard: address === '0.0.0.0' || address === '::', uid: 0, pid: 42, exe: '/usr/sbin/nginx',
  baseline: WEB, namespace: 'shop', pod: 'web-1', container: 'nginx', workload: 'Deployment/web',
});
const exposureOf = (...listeners: ReturnType<typeof listener>[]): NodeExposure => ({ listeners, nodeAddresses: [], listenersDropped: 0, unowned: 0, walkCut: '', rowsRefused: 0 } as NodeExposure);

test('the listen set travels with the ADOPT; a locked baseline takes a new listen only on its way at the lock, pushing it, and refuses (counts) a later one', async (t) => {
  const clock = testClock();
  await withCollector(async (tc) => {
    const a = await connect(tc, 'node-a');
    const b = await connect(tc, 'node-b');
    t.teardown(() => { a.close(); b.close(); });
    await merged(tc, a, 'node-a');
    await merged(tc, b, 'node-b');
    a.report({ ...bl(WEB, 'learning', ['/usr/sbin/nginx']), listens: ['tcp/0.0.0.0:8080'] });
    await merged(tc, a, 'node-a');
    a.report({ ...bl(WEB, 'locked', ['/usr/sbin/nginx']), listens: ['tcp/0.0.0.0:8080', 'udp/[::]:53'] });
    const adopt = await b.update();
    await a.update();
    t.like(adopt, { key: WEB, action: 'ACTION_ADOPT' });
    t.deepEqual([...adopt.listens].sort(), ['tcp/0.0.0.0:8080', 'udp/[::]:53'], 'what the node learned up to its lock goes with it');

    // node-b reports a listen it learned just before the lock: it joins, and everyone adopts again.
    b.report({ ...bl(WEB, 'locked', ['/usr/sbin/nginx'], adopt.version), listens: ['tcp/0.0.0.0:9090'] });
    const again = await a.update();
    t.true(again.version > adopt.version);
    t.true(again.listens.includes('tcp/0.0.0.0:9090'));
    await b.update();

    // After the window, a node's new listen is refused and counted: nothing is pushed.
    await clock.advance(LOCK_IN_FLIGHT_MS + 1);
    b.report({ ...bl(WEB, 'locked', ['/usr/sbin/nginx'], again.version), listens: ['tcp/0.0.0.0:4444'] });
    await merged(tc, b, 'node-b');
    t.deepEqual(await listensOf(tc), ['tcp/0.0.0.0:8080 learned node-a', 'tcp/0.0.0.0:9090 learned node-b', 'udp/[::]:53 learned node-a']);
    t.like(await tc.collector.store!.baselines.counters(), { listensRefused: 1 });
    t.regex(await tc.collector.metrics.render(), /^nodeward_baseline_listens_refused_total 1$/m);
    await a.batch([]); // nothing was pushed: the next message is this ack
  }, { nodes: NODES, clock });
});

test("allow-listen: stored as the operator's, audited, pushed; the literal and the address class's findings resolve with who allowed them; a node catching up with a learning baseline is sent it", (t) => withCollector(async (tc) => {
  const a = await connect(tc, 'node-a');
  t.teardown(() => a.close());
  a.report({ ...bl(WEB, 'learning', ['/usr/sbin/nginx']), listens: ['tcp/0.0.0.0:8080'] });
  await merged(tc, a, 'node-a');
  // Two listeners raised exposure-new-listener on node-a (its agent's baseline is locked).
  await scan(a, 1, [result(CHECK, `${WEB}:tcp/0.0.0.0:9090`, 'fail', { severity: 'medium', category: 'process' }),
    result(CHECK, `${WEB}:tcp/10.0.0.5:7000`, 'fail', { severity: 'medium', category: 'process' }),
    result(CHECK, `${WEB}:tcp/127.0.0.1:7000`, 'fail', { severity: 'medium', category: 'process' })],
  exposureOf(listener('0.0.0.0', 9090, 'private'), listener('10.0.0.5', 7000, 'private'), listener('127.0.0.1', 7000, 'loopback')));
  const finding = async (subject: string) => ok(tc, `/api/v1/findings/${fp('node-a', CHECK, `${WEB}:${subject}`)}`);
  t.is((await finding('tcp/0.0.0.0:9090')).state, 'open');

  const r = await allowListen(tc, { key: WEB, listen: 'tcp/0.0.0.0:9090' });
  t.is(r.status, 200, r.text);
  t.like(r.body, { key: WEB, listen: 'tcp/0.0.0.0:9090', pushed: 1 });
  t.like(await a.update(), { key: WEB, action: 'ACTION_ALLOW', version: r.body.version, allowed: [], listens: ['tcp/0.0.0.0:9090'] });
  const resolved = await finding('tcp/0.0.0.0:9090');
  t.is(resolved.state, 'resolved');
  t.like(resolved.history[0], { event: 'resolved', note: 'allowed by admin: tcp/0.0.0.0:9090' });
  t.is((await finding('tcp/10.0.0.5:7000')).state, 'open', 'another listen stays open');

  // By class: port 7000 on private addresses; the loopback one stays open.
  const byClass = await allowListen(tc, { key: WEB, listen: 'tcp/private:7000' });
  t.is(byClass.status, 200, byClass.text);
  t.like((await finding('tcp/10.0.0.5:7000')).history[0], { event: 'resolved', note: 'allowed by admin: tcp/private:7000' });
  t.is((await finding('tcp/127.0.0.1:7000')).state, 'open');
  t.deepEqual(await listensOf(tc), ['tcp/0.0.0.0:8080 learned node-a', 'tcp/0.0.0.0:9090 operator admin', 'tcp/private:7000 operator admin']);

  // A listen a node taught becomes the operator's; an IPv6 address is stored canonically.
  const v6 = await allowListen(tc, { key: WEB, listen: 'tcp/[0:0::0]:8080' });
  t.is(v6.body.listen, 'tcp/[::]:8080');
  await allowListen(tc, { key: WEB, listen: 'tcp/0.0.0.0:8080' });
  t.true((await listensOf(tc)).includes('tcp/0.0.0.0:8080 operator admin'));

  // node-b catches up with the learning baseline: the operators' listens come with it.
  const b = await connect(tc, 'node-b');
  t.teardown(() => b.close());
  const catchUp = await eventually('the catch-up for WEB', async () => {
    for (;;) {
      const u = await b.update();
      if (u.key === WEB) return u;
    }
  });
  t.like(catchUp, { action: 'ACTION_ALLOW' });
  t.deepEqual([...catchUp.listens].sort(), ['tcp/0.0.0.0:8080', 'tcp/0.0.0.0:9090', 'tcp/[::]:8080', 'tcp/private:7000']);

  const audit = await ok(tc, '/api/v1/audit?action=baseline.allow-listen', ADMIN_TOKEN);
  t.like(audit.items.find((x: { status: number }) => x.status === 200), { actor: 'admin', target: WEB, detail: { listen: 'tcp/0.0.0.0:8080' } });
}, { nodes: NODES }));

test('allow-listen refuses what is not a listen with a 400 that says why, a reader with a 403; nothing is stored', (t) => withCollector(async (tc) => {
  const bad: Array<[unknown, RegExp]> = [
    ['tcp/0.0.0.0:8080; echo', /body field listen: "tcp\/0\.0\.0\.0:8080; echo" is not <tcp\|udp>\/<address>:<port>/],
    ['sctp/0.0.0.0:8080', /is not <tcp\|udp>/],
    ['tcp/0.0.0.0:0', /the port is 1 to 65535/],
    ['tcp/0.0.0.0:65536', /the port is 1 to 65535/],
    ['tcp/0.0.0.0:08080', /without leading zeros/],
    ['tcp/999.0.0.1:80', /999\.0\.0\.1 is not an IPv4 address/],
    ['tcp/[fe80::zz]:80', /is not <tcp\|udp>/],
    ['tcp/[1.2.3.4]:80', /1\.2\.3\.4 is not an IPv6 address/],
    ['tcp/internal:80', /internal is not an address class \(loopback, link-local, private, public\)/],
    ['tcp/::1:80', /is not <tcp\|udp>/],
    ['tcp/\u0000:80', /body field listen holds the NUL character/],
    [`tcp/${'1'.repeat(70)}:80`, /listen/],
    [8080, /listen/],
    ['', /listen/],
  ];
  for (const [listen, why] of bad) {
    const r = await allowListen(tc, { key: WEB, listen });
    t.is(r.status, 400, `${JSON.stringify(listen)}: ${r.text}`);
    t.regex(r.body.error ?? '', why, JSON.stringify(listen));
  }
  t.is((await allowListen(tc, { key: 'not a key', listen: 'tcp/0.0.0.0:80' })).status, 400);
  t.is((await allowListen(tc, { key: WEB })).status, 400);
  t.is((await allowListen(tc, { key: WEB, listen: 'tcp/0.0.0.0:80', extra: 1 })).status, 400);
  t.is((await allowListen(tc, { key: WEB, listen: 'tcp/0.0.0.0:80' }, READER_TOKEN)).status, 403);
  t.is((await allowListen(tc, { key: WEB, listen: 'tcp/0.0.0.0:80' }, null)).status, 401);
  t.is(await centralBaseline(tc, WEB), undefined, 'nothing was created');
}));

test('the CLI: nodeward baseline allow-listen', (t) => withCollector(async (tc) => {
  await writeFile(join(tc.dir, 'admin.token'), `${ADMIN_TOKEN}\n`, { mode: 0o600 });
  const conn = ['--url', tc.apiUrl, '--token-file', join(tc.dir, 'admin.token'), '--ca-file', tc.pki.caCert];
  const a = await connect(tc, 'node-a');
  t.teardown(() => a.close());
  await merged(tc, a, 'node-a');
  const done = await runNodeward(['baseline', 'allow-listen', '--key', WEB, '--listen', 'udp/[::1]:53', ...conn]);
  t.is(done.code, 0, done.stderr);
  t.regex(done.stdout, /^shop\/Deployment\/web\/nginx: udp\/\[::1\]:53 allowed \(version \d+\); learning with 1 listens; pushed to 1 connected agent$/m);
  t.like(await a.update(), { key: WEB, listens: ['udp/[::1]:53'] });
  const json = await runNodeward(['baseline', 'allow-listen', '--key', WEB, '--listen', 'tcp/public:443', '-o', 'json', ...conn]);
  t.is(json.code, 0, json.stderr);
  t.like(JSON.parse(json.stdout), { key: WEB, listen: 'tcp/public:443' });
  const bad = await runNodeward(['baseline', 'allow-listen', '--key', WEB, '--listen', 'tcp/everywhere:443', ...conn]);
  t.is(bad.code, 2);
  t.regex(bad.stderr, /everywhere is not an address class/);
  const missing = await runNodeward(['baseline', 'allow-listen', '--key', WEB, ...conn]);
  t.is(missing.code, 2);
  t.regex(missing.stderr, /--listen/);
}));

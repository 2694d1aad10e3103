// Two clusters' collectors on one PostgreSQL database, end to end (issue 23, docs/fleets.md):
// each cluster has its own Kubernetes API (the kube-system namespace's UID is its identity),
// its own PKI, its own agent on a node named worker-1, its own database role and schema, and
// both send alerts to one webhook receiver. The east collector's role may read west's schema.
// Afterwards: each answers for its own cluster; east answers for both, grouped by cluster, and
// west for itself only; the two worker-1 findings of one check have different ids and their
// alerts different delivery ids; neither role can write the other's rows, neither collector
// changes the other's findings through its API, and a collector of one cluster pointed at the
// other's schema refuses to start.
import test from 'ava';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { hashToken } from '../../collector/config.js';
import { initPki, type PkiPaths } from '../../collector/pki/pki.js';
import { fingerprint } from '../../proto/fingerprint.js';
import { connect, proc, result } from '../helpers/agent-session.js';
import type { TestCollector } from '../helpers/collector.js';
import { eventually, httpsJson } from '../helpers/https.js';
import { asSuperuser, connectTo, createClusterRole, needsPostgres, postgresForFile, type ClusterRole } from '../helpers/postgres.js';
import { startCollectorProcess, startNodeward, type CollectorProcess, type NodewardProcess } from '../helpers/process.js';
import { startReceiver, type Receiver } from '../helpers/webhook-receiver.js';
import { namespaceObject, startFakePodApi, type FakePodApi } from '../collector/fake-pod-api.js';

const pgTest = needsPostgres();
const server = postgresForFile();

const TOKEN = 'e2e-fleet-token-0123456789abcdef';
const NODE = 'worker-1';
const T0 = Date.UTC(2026, 11, 7, 9, 0, 0);
const SCOPE = ['cis-4.2.1', 'cis-4.2.4'];
const NC = '/usr/bin/nc';

interface Cluster {
  readonly name: 'east' | 'west';
  readonly uid: string;
  readonly role: ClusterRole;
  readonly kube: FakePodApi;
  readonly pki: PkiPaths;
  readonly dir: string;
  c?: CollectorProcess;
}

pgTest('two clusters on one database, each with a worker-1: answers per cluster and across, distinct ids and delivery ids, and neither writes the other\'s rows', async (t) => {
  t.timeout(180_000);
  const pgServer = await server();
  const database = await pgServer.createDatabase();
  const dir = await mkdtemp(join(tmpdir(), 'nodeward-e2e-fleet-'));
  const running: NodewardProcess[] = [];
  const kubes: FakePodApi[] = [];
  let receiver: Receiver | undefined;
  t.teardown(async () => {
    await Promise.all(running.map((p) => p.kill('SIGKILL')));
    await receiver?.close();
    await Promise.all(kubes.map((k) => k.close()));
    await rm(dir, { recursive: true, force: true });
  });
  receiver = await startReceiver(() => 200);

  const cluster = async (name: 'east' | 'west', uid: string): Promise<Cluster> => {
    const kube = await startFakePodApi();
    kubes.push(kube);
    kube.kubeSystem = namespaceObject('kube-system', uid);
    const cdir = join(dir, name);
    await mkdir(cdir);
    const pki = await initPki(join(cdir, 'pki'), { nodes: [NODE], collectorHosts: ['localhost', '127.0.0.1'] });
    return { name, uid, role: await createClusterRole(pgServer, database, name), kube, pki, dir: cdir };
  };
  const east = await cluster('east', 'c0ffee00-0000-4000-8000-00000000ea57');
  const west = await cluster('west', 'c0ffee00-0000-4000-8000-0000000000e5');
  // east's collector reads west (docs/fleets.md, "Letting one collector read other clusters");
  // west reads nobody. Granted before west's collector creates its tables.
  await asSuperuser(pgServer, database, `GRANT USAGE ON SCHEMA ${west.role.schema} TO ${east.role.role};
    ALTER DEFAULT PRIVILEGES FOR ROLE ${west.role.role} IN SCHEMA ${west.role.schema} GRANT SELECT ON TABLES TO ${east.role.role}`);

  const settingsOf = async (c: Cluster, as: Cluster = c) => {
    const urlFile = join(c.dir, `postgres-url-${as.name}`);
    await writeFile(urlFile, as.role.url, { mode: 0o600 });
    return {
      cluster: { name: c.name },
      store: { driver: 'postgres', postgres: { urlFile, sslMode: 'disable', poolSize: 3, schema: as.role.schema } },
      enroll: { kubernetes: { server: c.kube.url, caFile: c.kube.caFile, tokenFile: c.kube.tokenFile } },
      pods: { watch: 'on' }, nodes: { watch: 'off' }, posture: { watch: 'off' },
      webhooks: [{ name: 'siem', url: `${receiver!.url}/hooks/nodeward`, format: 'json', groupWindowMs: 0, backoffInitialMs: 50, backoffMaxMs: 300, timeoutMs: 2000 }],
    };
  };
  for (const c of [east, west]) {
    c.c = await startCollectorProcess({ dir: c.dir, pki: c.pki, adminToken: TOKEN, settings: await settingsOf(c), running });
  }
  const ca = (c: Cluster) => readFileSync(c.pki.caCert);
  const get = async (c: Cluster, path: string) => httpsJson<any>(`https://localhost:${c.c!.apiPort}/api/v1${path}`, { ca: ca(c), token: TOKEN });
  const ok = async (c: Cluster, path: string) => {
    const res = await get(c, path);
    if (res.status !== 200) throw new Error(`${c.name} ${path}: ${res.status} ${res.text}`);
    return res.body;
  };

  // Each cluster's worker-1 fails cis-4.2.1 and runs an unexpected nc; east's also fails cis-4.2.4.
  for (const c of [east, west]) {
    const agent = await connect({ pki: c.pki, grpcAddress: `localhost:${c.c!.grpcPort}` } as unknown as TestCollector, NODE);
    // The pod watch sends the node's pods after the hello (none here), before any ack.
    t.truthy((await agent.next()).podInventory);
    await agent.scan(T0, SCOPE, [
      result('cis-4.2.1', '--anonymous-auth', 'fail'),
      result('cis-4.2.4', '--read-only-port', c === east ? 'fail' : 'pass'),
    ]);
    await agent.batch([proc(NC, { at: T0 })]);
    agent.close();
  }
  const idOf = (c: Cluster, check: string, subject: string) => fingerprint(NODE, check, subject, c.uid);
  const anonEast = idOf(east, 'cis-4.2.1', '--anonymous-auth');
  const anonWest = idOf(west, 'cis-4.2.1', '--anonymous-auth');
  t.not(anonEast, anonWest, 'one check on two clusters\' worker-1: two ids');

  // Per cluster: each collector's own answer is its own cluster's, under its uid.
  const ids = (items: Array<{ id: string }>) => items.map((f) => f.id).sort();
  const eastOwn = await ok(east, '/findings?state=open&limit=100');
  t.deepEqual(ids(eastOwn.items), [anonEast, idOf(east, 'cis-4.2.4', '--read-only-port'), idOf(east, 'proc-unexpected', NC)].sort());
  t.true(eastOwn.items.every((f: any) => f.cluster === 'east' && f.clusterUid === east.uid));
  const westOwn = await ok(west, '/findings?state=open&limit=100');
  t.is(westOwn.items.length, 2);
  t.true(westOwn.items.some((f: any) => f.id === anonWest));
  t.true(westOwn.items.every((f: any) => f.cluster === 'west' && f.clusterUid === west.uid));
  t.deepEqual(ids((await ok(east, `/findings?state=open&limit=100&cluster=west`)).items), ids(westOwn.items), 'east reads west\'s findings as west has them');
  t.deepEqual(ids((await ok(east, `/findings?state=open&limit=100&cluster=${west.uid}`)).items), ids(westOwn.items), 'by uid too');

  // Across clusters, grouped by cluster (the own first), paged across the boundary.
  const across: any[] = [];
  let cursor: string | null = null;
  do {
    const page: any = await ok(east, `/findings?state=open&limit=2&cluster=*${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`);
    across.push(...page.items);
    cursor = page.nextCursor;
  } while (cursor);
  t.deepEqual(across.map((f) => f.cluster), ['east', 'east', 'east', 'west', 'west']);
  t.deepEqual(ids(across), [...ids(eastOwn.items), ...ids(westOwn.items)].sort(), 'every finding of both clusters once');

  // "Which nodes, in any cluster, run unexpected processes": worker-1 twice, one per cluster.
  const procs = await ok(east, '/processes/unexpected?cluster=*&limit=100');
  t.deepEqual(procs.items.map((p: any) => [p.cluster, p.node, p.executable]), [['east', NODE, NC], ['west', NODE, NC]]);
  const nodes = await ok(east, '/nodes?cluster=*&limit=100');
  t.deepEqual(nodes.items.map((n: any) => [n.clusterName, n.clusterUid, n.name]), [['east', east.uid, NODE], ['west', west.uid, NODE]]);

  // Summaries: per cluster, and across them as their sum.
  const sumEast = await ok(east, '/summary');
  const sumWest = await ok(east, '/summary?cluster=west');
  const sumAll = await ok(east, '/summary?cluster=*');
  t.is(sumEast.nodes.total + sumWest.nodes.total, sumAll.nodes.total);
  t.deepEqual(sumAll.clusters.map((c: any) => [c.name, c.uid, c.own]), [['east', east.uid, true], ['west', west.uid, false]]);
  t.is(sumAll.findings.total, 5);
  t.is(sumEast.findings.total + sumWest.findings.total, sumAll.findings.total);
  for (const sev of Object.keys(sumAll.findings.bySeverity)) {
    t.is(sumAll.findings.bySeverity[sev], (sumEast.findings.bySeverity[sev] ?? 0) + (sumWest.findings.bySeverity[sev] ?? 0), sev);
  }
  const clusters = await ok(east, '/clusters');
  t.deepEqual(clusters.items.map((c: any) => [c.name, c.own, c.openFindings.total, c.unexpectedProcesses]), [['east', true, 3, 1], ['west', false, 2, 1]]);
  t.is(clusters.totals.openFindings.total, 5);
  // west's role reads nobody else: it answers for itself, and east is not a cluster it knows.
  t.deepEqual((await ok(west, '/clusters')).items.map((c: any) => c.name), ['west']);
  t.is((await get(west, '/findings?cluster=east')).status, 400);

  // Alerts: five openings on one receiver, every delivery id and finding id distinct.
  const openings = await eventually('five alerts delivered', () => {
    const got = receiver!.requests.filter((r) => r.body?.event === 'opened');
    return new Set(got.map((r) => r.headers['x-nodeward-delivery'])).size >= 5 ? got : undefined;
  }, 30_000);
  const byDelivery = new Map(openings.map((r) => [r.headers['x-nodeward-delivery'] as string, r.body.finding.id as string]));
  t.is(byDelivery.size, 5);
  t.is(new Set(byDelivery.values()).size, 5, 'each alert about its own finding');
  t.true([...byDelivery.values()].includes(anonEast) && [...byDelivery.values()].includes(anonWest));

  // Writes: east's API does not change west's finding; west's stays open.
  const admin = async (c: Cluster, path: string, body: unknown) => httpsJson<any>(`https://localhost:${c.c!.apiPort}/api/v1${path}`, { ca: ca(c), token: TOKEN, method: 'POST', body });
  const refused = await admin(east, `/findings/${anonWest}/suppress`, { reason: 'not ours' });
  t.is(refused.status, 409, refused.text);
  t.regex(refused.text, /west/);
  t.is((await ok(west, `/findings/${anonWest}`)).state, 'open');

  // The database refuses each role's writes to the other's rows, whatever a collector would do.
  for (const [who, other] of [[east, west], [west, east]] as const) {
    const db = await connectTo(who.role.url);
    try {
      for (const sql of [
        `UPDATE ${other.role.schema}.findings SET state = 'resolved'`,
        `DELETE FROM ${other.role.schema}.findings`,
        `INSERT INTO ${other.role.schema}.cluster_identity (singleton, uid, name, adopted_at) VALUES (1, 'x', 'x', 0)`,
        `TRUNCATE ${other.role.schema}.nodes`,
        `CREATE TABLE ${other.role.schema}.planted (x int)`,
      ]) {
        const err = await db.query(sql).then(() => undefined, (e: { code?: string }) => e);
        t.is(err?.code, '42501', `${who.name}: ${sql}`);
      }
    } finally {
      await db.end();
    }
  }
  t.is((await ok(west, `/findings/${anonWest}`)).state, 'open');

  // A collector of west given east's role and schema refuses to start, naming both clusters.
  const wrong = join(dir, 'wrong');
  await mkdir(wrong);
  await writeFile(join(wrong, 'collector.yaml'), JSON.stringify({
    dataDir: join(wrong, 'data'),
    grpc: { listen: '127.0.0.1:0', caFile: west.pki.caCert, certFile: west.pki.collectorCert, keyFile: west.pki.collectorKey },
    api: { listen: '127.0.0.1:0', tokens: [{ name: 'admin', role: 'admin', sha256: hashToken(TOKEN) }] },
    ...await settingsOf(west, east),
  }));
  const p = startNodeward(['collector', '--config', join(wrong, 'collector.yaml')]);
  running.push(p);
  const code = p.child.exitCode ?? await new Promise<number | null>((resolve) => p.child.once('exit', (c) => resolve(c)));
  t.not(code, 0);
  t.regex(p.output(), /this database holds the findings of cluster "east"/);
  t.regex(p.output(), new RegExp(east.uid));
  t.regex(p.output(), new RegExp(west.uid));
  t.is((await ok(east, `/findings/${anonEast}`)).id, anonEast, 'east\'s data untouched');
});

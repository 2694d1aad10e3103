// A real Alertmanager (Debian's prometheus-alertmanager) on loopback receives nodeward's
// alerts. Its own API must show the finding's alert firing, still firing well past its
// resolve_timeout (nodeward re-posts it), and gone once the finding resolves. A cluster
// finding (posture: no node) fires with a scope label and no node label, and goes when the
// posture verdict no longer holds it.
import { spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startTestCollector } from '../helpers/collector.js';
import { clusterFingerprint } from '../../proto/fingerprint.js';
import { connect, fp, result } from '../helpers/agent-session.js';
import { eventually } from '../helpers/https.js';
import { executable, needs } from '../helpers/requirements.js';
import { startReceiver } from '../helpers/webhook-receiver.js';

const ALERTMANAGER = '/usr/bin/prometheus-alertmanager';
const amTest = needs({ what: 'Alertmanager', packages: ['prometheus-alertmanager'], check: () => executable(ALERTMANAGER) });

/** Alertmanager's resolve_timeout here: an alert not posted again within it resolves by itself. */
const RESOLVE_TIMEOUT_S = 4;

interface AmAlert { labels: Record<string, string>; status: { state: string }; startsAt: string; endsAt: string; updatedAt: string }

async function getJson<T>(url: string): Promise<T> {
  const res = await fetch(url);
  if (!res.ok) throw new Error(`${url}: ${res.status}`);
  return (await res.json()) as T;
}

amTest('Alertmanager shows the alert firing past its resolve_timeout while the finding is open, and resolved when it resolves', async (t) => {
  t.timeout(120_000);
  const dir = await mkdtemp(join(tmpdir(), 'nodeward-alertmanager-'));
  const probe = await startReceiver();
  const port = probe.port;
  await probe.close();
  await writeFile(join(dir, 'alertmanager.yml'), [
    'global:', `  resolve_timeout: ${RESOLVE_TIMEOUT_S}s`,
    'route:', "  receiver: 'null'", '  group_wait: 1s',
    'receivers:', "  - name: 'null'", '',
  ].join('\n'));
  const am = spawn(ALERTMANAGER, [
    `--config.file=${join(dir, 'alertmanager.yml')}`, `--storage.path=${join(dir, 'data')}`,
    `--web.listen-address=127.0.0.1:${port}`, '--cluster.listen-address=',
  ], { stdio: ['ignore', 'ignore', 'pipe'] });
  let amLog = '';
  am.stderr.setEncoding('utf8').on('data', (d: string) => {
    amLog = (amLog + d).slice(-4000);
  });
  const base = `http://127.0.0.1:${port}`;
  const tc = await startTestCollector({
    overrides: {
      webhooks: [{
        name: 'alertmanager', url: base, format: 'alertmanager', repostSeconds: 1, groupWindowMs: 0,
        backoffInitialMs: 50, backoffMaxMs: 500, timeoutMs: 3000,
      }],
    },
  });
  t.teardown(async () => {
    await tc.close();
    // Alertmanager writes its snapshot as it stops: wait for that before removing its directory.
    const exited = new Promise((resolve) => am.once('exit', resolve));
    if (am.exitCode === null && am.signalCode === null && am.kill('SIGTERM')) await exited;
    await rm(dir, { recursive: true, force: true });
  });
  await eventually('Alertmanager to be ready', async () => ((await fetch(`${base}/-/ready`)).ok ? true : undefined), 30_000)
    .catch((err: Error) => {
      throw new Error(`${err.message}\n${amLog}`);
    });

  const id = fp('node-a', 'cis-4.2.1', '--anonymous-auth');
  const ours = async (): Promise<AmAlert | undefined> => (await getJson<AmAlert[]>(`${base}/api/v2/alerts`)).find((a) => a.labels.finding === id);
  const a = await connect(tc, 'node-a');
  await a.scan(Date.now(), ['cis-4.2.1'], [result('cis-4.2.1', '--anonymous-auth', 'fail', { severity: 'critical' })]);

  const firing = await eventually('the alert to fire in Alertmanager', async () => {
    const alert = await ours();
    return alert?.status.state === 'active' ? alert : undefined;
  });
  t.like(firing.labels, { alertname: 'cis-4.2.1', node: 'node-a', severity: 'critical', category: 'kubelet', subject: '--anonymous-auth' });

  // A cluster finding, committed as the posture watch commits its verdict.
  const key = 'cis-5.1.1|ClusterRoleBinding/ops-admins|Group:ops';
  const clusterId = clusterFingerprint('cis-5.1.1', key);
  await tc.collector.pipeline!.posture({ kind: 'full', note: 'gone', findings: [{
    checkId: 'cis-5.1.1', title: 'cluster-admin is bound beyond the bootstrap bindings', severity: 'high', references: ['cis-1.12:5.1.1'], cis: '5.1.1',
    category: 'rbac', key, subject: 'Group ops', object: 'ClusterRoleBinding/ops-admins', actual: 'Group ops through ClusterRoleBinding/ops-admins',
    expected: 'none', reason: 'bound', remediation: 'unbind', detail: {},
  }] });
  const clusterAlert = await eventually('the cluster alert to fire in Alertmanager', async () =>
    (await getJson<AmAlert[]>(`${base}/api/v2/alerts`)).find((x) => x.labels.finding === clusterId && x.status.state === 'active'));
  t.like(clusterAlert.labels, { alertname: 'cis-5.1.1', scope: 'cluster', category: 'rbac', subject: key });
  t.false('node' in clusterAlert.labels);
  await tc.collector.pipeline!.posture({ kind: 'full', note: 'the binding is gone', findings: [] });
  await eventually('the cluster alert to be resolved in Alertmanager', async () =>
    ((await getJson<AmAlert[]>(`${base}/api/v2/alerts`)).some((x) => x.labels.finding === clusterId) ? undefined : true));
  const firstSeen = Date.now();

  // Three resolve timeouts later it is still active, and each look finds it there.
  let updates = new Set<string>([firing.updatedAt]);
  while (Date.now() - firstSeen < 3 * RESOLVE_TIMEOUT_S * 1000) {
    const alert = await ours();
    t.is(alert?.status.state, 'active', `still firing ${Date.now() - firstSeen} ms after it was first seen`);
    if (alert) updates = updates.add(alert.updatedAt);
    await new Promise((r) => setTimeout(r, 500));
  }
  t.true(updates.size >= 3, 'Alertmanager saw the alert posted again and again');
  t.true(tc.collector.metrics.get('nodeward_webhook_reposts_total', { destination: 'alertmanager', outcome: 'delivered' }) >= 3);

  await a.scan(Date.now(), ['cis-4.2.1'], [result('cis-4.2.1', '--anonymous-auth', 'pass', { severity: 'critical' })]);
  await eventually('the alert to be resolved in Alertmanager', async () => ((await ours()) === undefined ? true : undefined));
  const rows = ((await tc.collector.store!.outbox.list({ destination: 'alertmanager' }, 10, Number.MAX_SAFE_INTEGER))).items.filter((r) => r.findingId === id);
  t.deepEqual(rows.map((r) => [r.event, r.status, r.lastStatus]), [['resolved', 'delivered', 200], ['opened', 'delivered', 200]]);
  // Once resolved it is no longer re-posted: it stays gone.
  const after = tc.collector.metrics.get('nodeward_webhook_reposts_total', { destination: 'alertmanager', outcome: 'delivered' });
  await new Promise((r) => setTimeout(r, 2500));
  t.is(await ours(), undefined);
  t.is(tc.collector.metrics.get('nodeward_webhook_reposts_total', { destination: 'alertmanager', outcome: 'delivered' }), after, 'nothing left to re-post');
  a.close();
});

// The Hello is a function of the agent's last snapshot: after a scan, a Hello reads no kubelet
// file and no certificate (the reads are counted), says what the scan found, and a scan that
// changes the certificate inventory has it sent to a real collector on a new stream.
import test from 'ava';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { collectFacts } from '../../agent/facts/index.js';
import { certificateExpiries } from '../../agent/facts/certificates.js';
import { createHostFs } from '../../agent/facts/host-fs.js';
import { createHello, inventoryOf, sameInventory } from '../../agent/report/hello.js';
import { createReporter } from '../../agent/report/client.js';
import { openSpool } from '../../agent/report/spool.js';
import { createLogger } from '../../proto/support/logger.js';
import { prepareKubeadmTree } from '../helpers/kubeadm-pki.js';
import { countingFs } from '../helpers/counting-fs.js';
import { ADMIN_TOKEN, startTestCollector } from '../helpers/collector.js';
import { eventually, httpsJson } from '../helpers/https.js';

test('one Hello after a scan reads no kubelet file and no certificate, and says what the scan found', async (t) => {
  // The kubeadm control plane with a complete PKI generated for the test.
  const { tree: fx, cleanup } = await prepareKubeadmTree();
  t.teardown(cleanup);
  const fs = countingFs(createHostFs(fx.root));
  const facts = await collectFacts({ hostRoot: fx.root, procRoot: fx.procRoot, hostFs: fs });
  // The counter sees what a scan reads: the kubelet's config and every certificate.
  const kubeletFiles = [facts.kubelet?.config?.path, ...(facts.kubelet?.dropins?.files ?? []).map((d) => d.path)].filter((p): p is string => p !== undefined);
  const certificates = (facts.certificates?.certificates ?? []).map((c) => c.path);
  t.true(kubeletFiles.length > 0 && certificates.length > 0);
  for (const p of [...kubeletFiles, ...certificates]) t.true(fs.reads.includes(p), p);

  fs.clear();
  const hello = createHello({ node: 'node-a', agentVersion: 'test', hostFs: fs, snapshot: () => facts, baselines: () => undefined });
  const h = await hello();
  for (const p of [...kubeletFiles, ...certificates, '/usr/bin/kubelet']) t.false(fs.reads.includes(p), p);
  t.true(fs.reads.every((p) => p === '/etc/os-release' || p === '/usr/lib/os-release'), fs.reads.join(', '));
  t.deepEqual(h.host?.certificates, certificateExpiries(facts.certificates));
  t.true((h.host?.certificates ?? []).length > 0);
  t.is(h.host?.kubeletVersion, facts.kubeletBinary?.version ?? '');
});

test('before any scan the Hello has no inventory; a renewed certificate changes it, a scan that finds the same does not', (t) => {
  const none = inventoryOf(null);
  t.deepEqual(none, { kubeletVersion: '', certificates: [] });
  const cert = (path: string, notAfter: string) => ({ path, certificates: [{ notAfter }] });
  const facts = (notAfter: string) => ({ kubeletBinary: undefined, certificates: { certificates: [cert('/etc/kubernetes/pki/apiserver.crt', notAfter)] } }) as never;
  const a = inventoryOf(facts('2027-01-01T00:00:00Z'));
  t.is(a.certificates.length, 1);
  t.true(sameInventory(a, inventoryOf(facts('2027-01-01T00:00:00Z'))));
  t.false(sameInventory(a, inventoryOf(facts('2028-01-01T00:00:00Z'))));
  t.false(sameInventory(a, none));
});

test('a changed inventory reaches the collector on a new stream, without waiting for a reconnect', async (t) => {
  const tc = await startTestCollector({ nodes: ['node-a'] });
  const dir = await mkdtemp(join(tmpdir(), 'nodeward-hello-'));
  const spool = openSpool({ dir, maxItems: 1000, maxBytes: 1 << 20 });
  let notAfterMs = Date.parse('2027-01-01T00:00:00Z');
  let hellos = 0;
  const reporter = createReporter({
    address: tc.grpcAddress, insecure: false, caFile: tc.pki.caCert, certFile: tc.pki.agents['node-a']!.cert,
    keyFile: tc.pki.agents['node-a']!.key, serverName: '', heartbeatMs: 60_000, backoffBaseMs: 20, backoffMaxMs: 200,
    window: 4, connectTimeoutMs: 2000,
  }, {
    spool, log: createLogger('test', 'silent'),
    hello: async () => {
      hellos++;
      return { node: 'node-a', agentVersion: 'test', host: { certificates: [{ path: '/etc/kubernetes/pki/apiserver.crt', notAfterMs }] } };
    },
  });
  t.teardown(async () => {
    await reporter.stop();
    spool.close();
    await tc.close();
    await rm(dir, { recursive: true, force: true });
  });
  const notAfter = async (): Promise<string | undefined> => {
    const res = await httpsJson<{ items: Array<{ name: string; certificates: Array<{ notAfter: string }> }> }>(`${tc.apiUrl}/api/v1/nodes`, { ca: tc.ca, token: ADMIN_TOKEN });
    return res.body.items.find((n) => n.name === 'node-a')?.certificates[0]?.notAfter;
  };
  await reporter.start();
  t.is(await eventually('the first inventory', async () => ((await notAfter())?.startsWith('2027-01-01') ? true : undefined)), true);
  t.is(hellos, 1);
  notAfterMs = Date.parse('2028-06-01T00:00:00Z');
  reporter.helloChanged();
  t.is(await eventually('the renewed certificate', async () => ((await notAfter())?.startsWith('2028-06-01') ? true : undefined)), true);
  t.is(hellos, 2);
  t.true(reporter.connected);
});

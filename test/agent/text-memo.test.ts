// Host documents are interpreted once per distinct text: a scan that finds the same manifest
// as the last reuses its interpretation, a changed one is interpreted again, and what is
// remembered is bounded.
import test from 'ava';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { collectFacts } from '../../agent/facts/index.js';
import { createTextMemo } from '../../agent/facts/text-memo.js';
import { createHostFs } from '../../agent/facts/host-fs.js';
import { readStaticPods } from '../../agent/facts/static-pods.js';
import { prepareFixture } from '../helpers/fixture.js';

test('the same text is interpreted once; another text again; the oldest is forgotten past the bound', (t) => {
  const memo = createTextMemo<{ text: string }>(2);
  let calls = 0;
  const interpret = (text: string) => memo(text, () => {
    calls++;
    return { text };
  });
  const a = interpret('a');
  t.is(interpret('a'), a, 'the remembered interpretation itself');
  t.is(calls, 1);
  interpret('b');
  interpret('c');
  t.is(calls, 3);
  interpret('c');
  interpret('b');
  t.is(calls, 3, 'b and c are the last two');
  interpret('a');
  t.is(calls, 4, 'a was forgotten');
});

test('a static pod manifest and the kubelet config changed between two reads are read as changed', async (t) => {
  const fx = await prepareFixture('kubeadm-cp');
  t.teardown(fx.cleanup);
  const opts = { hostRoot: fx.root, procRoot: fx.procRoot };
  const before = await collectFacts(opts);
  const again = await collectFacts(opts);
  const hostFs = createHostFs(fx.root);
  const manifests = async () => (await readStaticPods(hostFs, ['/etc/kubernetes/manifests'])).pods.find((p) => p.path === '/etc/kubernetes/manifests/kube-scheduler.yaml');
  const podBefore = await manifests();
  t.is(await manifests(), podBefore, 'the same text: the remembered interpretation');
  t.deepEqual(again.kubelet?.config, before.kubelet?.config);
  const manifest = join(fx.root, 'etc/kubernetes/manifests/kube-scheduler.yaml');
  await writeFile(manifest, (await readFile(manifest, 'utf8')).replace(/^( *)- kube-scheduler$/m, '$1- kube-scheduler\n$1- --nodeward-test-flag=1'));
  const config = join(fx.root, 'var/lib/kubelet/config.yaml');
  await writeFile(config, `${await readFile(config, 'utf8')}\nreadOnlyPort: 10255\n`);
  const after = await collectFacts(opts);
  const podAfter = await manifests();
  t.true(podAfter?.argv.includes('--nodeward-test-flag=1'));
  t.false(podBefore?.argv.includes('--nodeward-test-flag=1'));
  t.is(after.kubelet?.config?.data?.['readOnlyPort'], 10255);
  t.not(before.kubelet?.config?.data?.['readOnlyPort'], 10255);
});

import test from 'ava';
import { appendFile } from 'node:fs/promises';
import { join } from 'node:path';
import { collectFacts } from '../../agent/facts/index.js';
import { REDACTED, redactArgv } from '../../proto/support/redact.js';
import { prepareFixture } from '../helpers/fixture.js';

const cases: Array<[string, readonly string[], readonly string[]]> = [
  ['--token=value', ['kubelet', '--token=abc123'], ['kubelet', `--token=${REDACTED}`]],
  ['--token value', ['kubelet', '--token', 'abc123', '--v=2'], ['kubelet', '--token', REDACTED, '--v=2']],
  ['bootstrap token', ['kubeadm', '--bootstrap-token=abcdef.0123456789abcdef'], ['kubeadm', `--bootstrap-token=${REDACTED}`]],
  ['client secret, space form', ['x', '--client-secret', 's3cr3t'], ['x', '--client-secret', REDACTED]],
  ['password', ['x', '--etcd-password=hunter2'], ['x', `--etcd-password=${REDACTED}`]],
  ['single-dash form', ['x', '-password=hunter2'], ['x', `-password=${REDACTED}`]],
  ['a key value that is not a path', ['x', '--encryption-key=deadbeef'], ['x', `--encryption-key=${REDACTED}`]],
  ['a key value that is a path', ['x', '--kubelet-client-key=/etc/kubernetes/pki/c.key'], ['x', '--kubelet-client-key=/etc/kubernetes/pki/c.key']],
  ['a key file flag', ['x', '--tls-private-key-file=/var/lib/kubelet/pki/kubelet.key'], ['x', '--tls-private-key-file=/var/lib/kubelet/pki/kubelet.key']],
  ['a token file flag', ['x', '--token-auth-file=/etc/tokens.csv'], ['x', '--token-auth-file=/etc/tokens.csv']],
  ['a boolean that mentions token', ['x', '--service-account-extend-token-expiration=false'], ['x', '--service-account-extend-token-expiration=false']],
  ['a secret flag followed by another flag', ['x', '--token', '--v=2'], ['x', '--token', '--v=2']],
  ['URL credentials', ['x', '--etcd-servers=https://root:pw@10.0.0.1:2379'], ['x', `--etcd-servers=https://root:${REDACTED}@10.0.0.1:2379`]],
  ['a boolean switch whose name ends in a secret word', ['kube-controller-manager', '--use-service-account-credentials=true'], ['kube-controller-manager', '--use-service-account-credentials=true']],
];

for (const [name, input, expected] of cases) {
  test(`redacts: ${name}`, (t) => {
    t.deepEqual(redactArgv(input), expected);
  });
}

test('a --token from the kubelet command line never appears in the facts JSON', async (t) => {
  const fx = await prepareFixture('insecure-worker');
  t.teardown(fx.cleanup);
  const facts = await collectFacts({ hostRoot: fx.root, procRoot: fx.procRoot });
  const json = JSON.stringify(facts);
  t.false(json.includes('fixture-secret-token-9f8e7d'));
  t.true(facts.kubelet?.argv.includes(`--token=${REDACTED}`));
  t.true(facts.kubelet?.flags.some((f) => f.name === 'token' && f.value === REDACTED));
  // A path-valued neighbour is kept as it was.
  t.true(json.includes('--bootstrap-kubeconfig=/etc/kubernetes/bootstrap-kubelet.conf'));
});

test('staticPodURLHeader values in the kubelet config never appear in the facts JSON', async (t) => {
  const fx = await prepareFixture('insecure-worker');
  t.teardown(fx.cleanup);
  const config = join(fx.root, 'var/lib/kubelet/config.yaml');
  await appendFile(config, 'staticPodURL: https://pods.example/manifests\nstaticPodURLHeader:\n  Authorization: ["Bearer header-secret-5c4b3a"]\n');
  const facts = await collectFacts({ hostRoot: fx.root, procRoot: fx.procRoot });
  const json = JSON.stringify(facts);
  t.false(json.includes('header-secret-5c4b3a'));
  t.deepEqual(facts.kubelet?.config?.data?.['staticPodURLHeader'], { Authorization: [REDACTED] });
  t.is(facts.kubelet?.config?.data?.['staticPodURL'], 'https://pods.example/manifests');
});

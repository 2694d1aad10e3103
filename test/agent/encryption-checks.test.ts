// Encryption at rest beyond the first provider, on the hardened kubeadm fixture with its
// EncryptionConfiguration rewritten: key strength (decoded lengths as the API server decodes
// base64), the deprecated KMS v1, and the mode and owner of the file that holds the keys.
// Every key used here is distinctive, and none may appear in the facts or a result.
import test, { type ExecutionContext } from 'ava';
import { chmod, lchown, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Result } from '../../proto/domain.js';
import { CATALOG, evaluate, selectChecks } from '../../agent/checks/index.js';
import { collectFacts } from '../../agent/facts/index.js';
import { parseCmdline } from '../../agent/facts/proc.js';
import { CAN_CHOWN, prepareFixture, writeCmdline } from '../helpers/fixture.js';

const IDS = ['encryption-key-strength', 'encryption-kms-v1', 'encryption-config-file'];
const SPECS = selectChecks(CATALOG, IDS);
const FILE = '/etc/kubernetes/secrets-encryption/encryption-config.yaml';
const APISERVER = 1101;

/** A base64 key of `bytes` bytes, made of a text that is easy to search for. */
const key = (bytes: number, tag: string): string => Buffer.from(`enc-test-${tag}-`.padEnd(bytes, '#').slice(0, bytes)).toString('base64');
const K32 = key(32, 'strong');
const K16 = key(16, 'weak16');
const K24 = key(24, 'weak24');

const config = (providers: string): string =>
  `apiVersion: apiserver.config.k8s.io/v1\nkind: EncryptionConfiguration\nresources:\n  - resources: [secrets]\n    providers:\n${providers}`;
const provider = (type: string, ...secrets: string[]): string =>
  `      - ${type}:\n          keys:\n${secrets.map((s, i) => `            - name: k${i}\n              secret: "${s}"\n`).join('')}`;
const IDENTITY = '      - identity: {}\n';

interface Scan {
  readonly results: readonly Result[];
  readonly factsJson: string;
}

async function scan(t: ExecutionContext, text: string | null, prepare?: (root: string, procRoot: string) => Promise<void>): Promise<Scan> {
  const fx = await prepareFixture('kubeadm-cp-hardened');
  t.teardown(fx.cleanup);
  if (text !== null) await writeFile(join(fx.root, FILE), text);
  await prepare?.(fx.root, fx.procRoot);
  const facts = await collectFacts({ hostRoot: fx.root, procRoot: fx.procRoot });
  return { results: evaluate(facts, SPECS, new Date()), factsJson: JSON.stringify(facts) };
}

const of = (s: Scan, id: string): Result[] => s.results.filter((r) => r.id === id);

function noKeys(t: ExecutionContext, s: Scan, keys: readonly string[]): void {
  const results = JSON.stringify(s.results);
  for (const k of keys) {
    t.false(s.factsJson.includes(k), 'no key in the facts');
    t.false(results.includes(k), 'no key in a result');
    t.false(results.includes(Buffer.from(k, 'base64').toString('latin1')), 'no decoded key in a result');
  }
}

test('the hardened fixture: a 256-bit aescbc key, no kms, a root-owned 0600 file', async (t) => {
  const s = await scan(t, null);
  const fixtureKey = /secret: (\S+)/.exec(await readFile(new URL('../../../test/fixtures/hostroot/kubeadm-cp-hardened/etc/kubernetes/secrets-encryption/encryption-config.yaml', import.meta.url), 'utf8'))?.[1] ?? '';
  t.is(Buffer.from(fixtureKey, 'base64').length, 32);
  t.like(of(s, 'encryption-key-strength'), [{ subject: `${FILE}#resources[0].providers[0]`, status: 'pass', actual: '256 bits', sourceFile: FILE }]);
  t.like(of(s, 'encryption-kms-v1'), [{ status: 'skip', reason: `${FILE} has no kms provider` }]);
  t.like(of(s, 'encryption-config-file'), [{ subject: FILE, status: CAN_CHOWN ? 'pass' : 'fail', ...(CAN_CHOWN ? { actual: '0600 root:root' } : {}) }]);
  noKeys(t, s, [fixtureKey]);
});

test('key strength: 128- and 192-bit AES keys fail, a secretbox key that is not 32 bytes fails, every provider and key is judged', async (t) => {
  const s = await scan(t, config(provider('aescbc', K32, K16) + provider('aesgcm', K24) + provider('secretbox', K16) + provider('aescbc', K32) + IDENTITY));
  const r = of(s, 'encryption-key-strength');
  t.is(r.length, 4, 'one result per keyed provider; identity has no key');
  t.like(r[0], { subject: `${FILE}#resources[0].providers[0]`, status: 'fail', actual: '256 bits,128 bits', severity: 'high' });
  t.regex(r[0]?.reason ?? '', /keys\[1\] is 16 bytes \(128-bit, weaker than 256-bit\)/);
  t.like(r[1], { subject: `${FILE}#resources[0].providers[1]`, status: 'fail', actual: '192 bits' });
  t.like(r[2], { status: 'fail', actual: '128 bits' });
  t.regex(r[2]?.reason ?? '', /16 bytes, which secretbox does not accept/);
  t.like(r[3], { status: 'pass', actual: '256 bits' });
  noKeys(t, s, [K32, K16, K24]);
});

test('key strength: a secret that is not base64 is an error, never a pass; a provider without keys fails', async (t) => {
  const broken = 'not*base64*at-all-enc-test-broken';
  const unpadded = K32.replace(/=+$/, '');
  const s = await scan(t, config(provider('aescbc', broken) + provider('aesgcm', unpadded) + '      - secretbox:\n          keys: []\n'));
  const r = of(s, 'encryption-key-strength');
  t.like(r[0], { status: 'error', actual: 'invalid' });
  t.regex(r[0]?.reason ?? '', /keys\[0\] is not valid base64/);
  t.not(unpadded, K32);
  t.like(r[1], { status: 'error' }, 'Go\'s standard base64 wants its padding');
  t.like(r[2], { status: 'fail' });
  t.regex(r[2]?.reason ?? '', /secretbox, for secrets\) of .* lists no key/);
  noKeys(t, s, [K32]);
  t.false(JSON.stringify(s.results).includes(broken));
  t.false(s.factsJson.includes(broken));
});

test('key strength and kms: kms-only configs have no key to judge; kms without apiVersion is v1 and warns; v2 passes', async (t) => {
  const v1 = '      - kms:\n          name: vault\n          endpoint: unix:///run/kms.sock\n';
  const v2 = '      - kms:\n          apiVersion: v2\n          name: vault2\n          endpoint: unix:///run/kms2.sock\n';
  const s = await scan(t, config(v2 + v1));
  t.like(of(s, 'encryption-key-strength'), [{ subject: FILE, status: 'skip' }]);
  const kms = of(s, 'encryption-kms-v1');
  t.like(kms[0], { subject: `${FILE}#resources[0].providers[0]`, status: 'pass', actual: 'v2' });
  t.like(kms[1], { subject: `${FILE}#resources[0].providers[1]`, status: 'warn', actual: 'v1', scored: false });
  t.regex(kms[1]?.reason ?? '', /plugin vault\) uses KMS v1 \(no apiVersion means v1\): KMS v1 is deprecated/);
});

test('the file: group- or world-readable fails; not owned by root fails; unreadable config still judges the file', async (t) => {
  const loose = await scan(t, null, (root) => chmod(join(root, FILE), 0o640));
  t.like(of(loose, 'encryption-config-file'), [{ status: 'fail' }]);
  t.regex(of(loose, 'encryption-config-file')[0]?.reason ?? '', /mode 0640 lets others than its owner read or change it/);

  const broken = await scan(t, 'resources: [', (root) => chmod(join(root, FILE), 0o644));
  t.like(of(broken, 'encryption-config-file'), [{ subject: FILE, status: 'fail' }]);
  t.regex(of(broken, 'encryption-config-file')[0]?.actual ?? '', /^0644 /);
  t.like(of(broken, 'encryption-key-strength'), [{ status: 'error' }]);

  if (CAN_CHOWN) {
    const foreign = await scan(t, null, (root) => lchown(join(root, FILE), 1000, 0));
    t.like(of(foreign, 'encryption-config-file'), [{ status: 'fail' }]);
    t.regex(of(foreign, 'encryption-config-file')[0]?.reason ?? '', /owned by .*, not root/);
  }
});

test('no --encryption-provider-config: all three skip (cis-1.2.27 is the one that fails); no API server: skip', async (t) => {
  const s = await scan(t, null, async (_root, proc) => {
    const argv = parseCmdline(await readFile(join(proc, String(APISERVER), 'cmdline')));
    const i = argv.indexOf('--encryption-provider-config');
    await writeCmdline(proc, APISERVER, [...argv.slice(0, i), ...argv.slice(i + 2)]);
  });
  t.deepEqual(s.results.map((r) => [r.id, r.status]), IDS.map((id) => [id, 'skip']));
  t.regex(of(s, 'encryption-key-strength')[0]?.reason ?? '', /cis-1\.2\.27/);

  const worker = await prepareFixture('defaults-worker');
  t.teardown(worker.cleanup);
  const none = evaluate(await collectFacts({ hostRoot: worker.root, procRoot: worker.procRoot }), SPECS, new Date());
  t.deepEqual(none.map((r) => r.status), ['skip', 'skip', 'skip']);
});

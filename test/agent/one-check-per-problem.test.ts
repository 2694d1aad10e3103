// One finding per problem (issue 17): no two checks of the catalog may judge the same problem,
// or one problem becomes two findings (cis-1.1.21 and cert-key-file did, on every key file).
// Two guards that catch a future duplicate:
// - statically, each benchmark control is decided by one check (its reference is one check's);
// - on every fixture host, as shipped and loosened (every file world-writable and, as root, owned
//   by another account; etcd and the kubelet started with insecure flags), no subject fails two
//   checks that judge the same aspect of it. What a check judges on its subject is derived from
//   its spec (a file's mode or owner, what a setting must be), or named below for the checks that
//   bring their own evaluation; a check that fails beside another on one subject and has no aspect
//   here fails this test: merge it into the other, or say what else it judges.
import test from 'ava';
import { chmod, lchown, readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { isFindingStatus, type Result } from '../../proto/domain.js';
import { BENCHMARK_REF } from '../../proto/benchmark-refs.js';
import { ABSORBED_CHECKS } from '../../proto/retired-checks.js';
import { CATALOG, evaluate, type CheckSpec } from '../../agent/checks/index.js';
import { collectFacts } from '../../agent/facts/index.js';
import { fileJudgementOf } from '../../agent/checks/file-judgement.js';
import { parseCmdline } from '../../agent/facts/proc.js';
import { CAN_CHOWN, FIXTURES_DIR, prepareFixture, writeCmdline } from '../helpers/fixture.js';

// Every fixture host tree (declared before any test: ava wants them declared synchronously).
const scenarios = (await readdir(FIXTURES_DIR, { withFileTypes: true })).filter((d) => d.isDirectory()).map((d) => d.name).sort();

/** What the checks that bring their own evaluation judge on their subject. */
const CUSTOM_ASPECTS: Readonly<Record<string, string>> = {
  // Files: the mode of a private key (its owner in the PKI directory is cis-1.1.19's).
  'cert-key-file': 'file mode',
  // Certificates: each a different property of the same file.
  'cert-expiry': 'certificate notAfter',
  'cert-not-yet-valid': 'certificate notBefore',
  'cert-chain': 'certificate issuer',
  'cert-san': 'certificate subject alternative names',
  'cert-eku': 'certificate extended key usage',
  'cert-weak-key': 'certificate key strength',
  'cert-weak-signature': 'certificate signature digest',
  'cert-key-match': 'key pair',
  // The API server's authorizers: each asks for a different one.
  'cis-1.2.6': 'authorizers without AlwaysAllow',
  'cis-1.2.7': 'authorizers with Node',
  'cis-1.2.8': 'authorizers with RBAC',
  // Encryption at rest: the first provider's strength, keys, KMS version, the file itself.
  'cis-1.2.27': 'encryption configured',
  'cis-1.2.28': 'encryption provider strength',
  'encryption-key-strength': 'encryption key length',
  'encryption-kms-v1': 'encryption KMS version',
  'encryption-config-file': 'file mode and owner',
};

function aspectOf(spec: CheckSpec): string | undefined {
  const file = fileJudgementOf(spec);
  if (file !== undefined) return `file ${file.property}`;
  switch (spec.kind) {
    case 'kubelet-setting':
    case 'component-setting':
      return `setting ${JSON.stringify(spec.test)}`;
    default:
      return CUSTOM_ASPECTS[spec.id];
  }
}

test('each benchmark control is decided by one check, and every reference is <benchmark>:<control>', (t) => {
  const owner = new Map<string, string>();
  for (const c of CATALOG) {
    for (const ref of c.references) {
      t.regex(ref, BENCHMARK_REF, c.id);
      t.is(owner.get(ref), undefined, `${ref} is decided by ${owner.get(ref)} and ${c.id}: one problem, two checks`);
      owner.set(ref, c.id);
    }
  }
  t.true(owner.size > 90, `${owner.size} controls`);
  t.is(new Set(CATALOG.map((c) => c.id)).size, CATALOG.length, 'ids are unique');
});

test('a file two checks ask the same of is judged by one: both sides of sharedWith agree, and the collector knows the pair', (t) => {
  let pairs = 0;
  for (const c of CATALOG) {
    if (c.kind !== 'control-plane-file' || c.sharedWith === undefined) continue;
    pairs++;
    const other = byId.get(c.sharedWith.check);
    if (other === undefined) return t.fail(`${c.id} shares with ${c.sharedWith.check}, which is no check`);
    t.deepEqual(fileJudgementOf(other), fileJudgementOf(c), `${other.id} asks what ${c.id} asks`);
    t.deepEqual(c.sharedWith.references, other.references);
    t.true(ABSORBED_CHECKS.some((a) => a.id === other.id && a.into === c.id), `the collector folds ${other.id} into ${c.id}`);
  }
  t.is(pairs, ABSORBED_CHECKS.length);
});

test('kubeadm: the kubelet\'s client CA is the PKI\'s ca.crt, one result each for its mode and owner with both references; a worker\'s stands alone', async (t) => {
  for (const [scenario, controlPlane] of [['kubeadm-cp', true], ['kubeadm-worker-defaults', false]] as const) {
    const fx = await prepareFixture(scenario);
    t.teardown(fx.cleanup);
    await chmod(join(fx.root, 'etc/kubernetes/pki/ca.crt'), 0o666);
    const now = new Date();
    const results = evaluate(await collectFacts({ hostRoot: fx.root, procRoot: fx.procRoot, now: () => now }), CATALOG, now);
    const on = (id: string) => results.find((r) => r.id === id && r.subject === '/etc/kubernetes/pki/ca.crt');
    if (controlPlane) {
      t.like(on('cis-1.1.20'), { status: 'warn', references: ['cis-1.12:1.1.20', 'cis-1.12:4.1.7'], cis: '1.1.20' });
      t.regex(on('cis-1.1.20')!.reason, /it is also the kubelet's client CA \(cis-4\.1\.7: one problem, one result\)/);
      if (CAN_CHOWN) t.like(on('cis-1.1.19'), { status: 'pass', references: ['cis-1.12:1.1.19', 'cis-1.12:4.1.8'] });
      for (const id of ['cis-4.1.7', 'cis-4.1.8']) t.like(on(id), { status: 'skip' }, id);
      t.regex(on('cis-4.1.7')!.reason, /is judged by cis-1\.1\.20, as a file of the control plane's pki set: its result there carries cis-1\.12:4\.1\.7/);
    } else {
      t.like(on('cis-4.1.7'), { status: 'warn', references: ['cis-1.12:4.1.7'] });
      t.is(on('cis-1.1.20'), undefined);
    }
  }
});

/** Loosens a fixture copy: every file world-writable, and (as root) owned by uid 1000. */
async function loosen(root: string): Promise<void> {
  const walk = async (dir: string): Promise<void> => {
    for (const e of await readdir(dir, { withFileTypes: true })) {
      const p = join(dir, e.name);
      if (e.isSymbolicLink()) continue;
      if (p === join(root, 'proc')) continue;
      if (e.isDirectory()) {
        await chmod(p, 0o777);
        await walk(p);
      } else if (e.isFile()) {
        await chmod(p, 0o666);
      }
      if (CAN_CHOWN) await lchown(p, 1000, 1000);
    }
  };
  await walk(root);
}

/** etcd and the kubelet of a fixture started with what the benchmark warns against. */
async function insecureFlags(procRoot: string): Promise<void> {
  const extra: Record<string, string[]> = {
    etcd: ['--auto-tls=true', '--peer-auto-tls=true', '--client-cert-auth=false'],
    kubelet: ['--anonymous-auth=true', '--read-only-port=10255', '--authorization-mode=AlwaysAllow'],
  };
  for (const pid of await readdir(procRoot)) {
    if (!/^\d+$/.test(pid)) continue;
    let argv: string[];
    try {
      argv = parseCmdline(await readFile(join(procRoot, pid, 'cmdline')));
    } catch {
      continue;
    }
    const name = (argv[0] ?? '').split('/').pop() ?? '';
    if (extra[name]) await writeCmdline(procRoot, Number(pid), [...argv, ...extra[name]]);
  }
}

const byId = new Map(CATALOG.map((c) => [c.id, c]));

/** Subjects that fail two checks judging the same aspect of them, or an aspect nobody named. */
function duplicates(results: readonly Result[]): string[] {
  const bySubject = new Map<string, Result[]>();
  for (const r of results.filter((x) => isFindingStatus(x.status))) bySubject.set(r.subject, [...(bySubject.get(r.subject) ?? []), r]);
  const out: string[] = [];
  for (const [subject, rs] of bySubject) {
    const checks = [...new Set(rs.map((r) => r.id))];
    if (checks.length < 2) continue;
    const seen = new Map<string, string>();
    for (const id of checks) {
      const aspect = aspectOf(byId.get(id)!);
      if (aspect === undefined) {
        out.push(`${subject}: ${id} fails beside ${checks.filter((c) => c !== id).join(', ')} and names no aspect of its own`);
        continue;
      }
      const other = seen.get(aspect);
      if (other !== undefined) out.push(`${subject}: ${other} and ${id} both judge its ${aspect}`);
      seen.set(aspect, id);
    }
  }
  return out;
}

for (const scenario of scenarios) {
  for (const variant of ['as shipped', 'loosened'] as const) {
    test(`${scenario} ${variant}: no subject fails two checks for one problem`, async (t) => {
      const fx = await prepareFixture(scenario);
      t.teardown(fx.cleanup);
      if (variant === 'loosened') {
        await loosen(fx.root);
        await insecureFlags(fx.procRoot);
      }
      const now = new Date();
      const results = evaluate(await collectFacts({ hostRoot: fx.root, procRoot: fx.procRoot, now: () => now }), CATALOG, now);
      t.true(results.length > 0);
      t.deepEqual(duplicates(results), []);
      // Every subject is judged at most once per check.
      const keys = results.map((r) => `${r.id}\u0000${r.subject}`);
      t.is(new Set(keys).size, keys.length, 'one result per check and subject');
    });
  }
}

test('the guard catches the duplicate of issue 17: a second check judging the key files\' mode', async (t) => {
  const fx = await prepareFixture('kubeadm-cp');
  t.teardown(fx.cleanup);
  await chmod(join(fx.root, 'etc/kubernetes/pki/apiserver.key'), 0o644);
  t.is((await stat(join(fx.root, 'etc/kubernetes/pki/apiserver.key'))).mode & 0o777, 0o644);
  // The check that cis-1.1.21 was, brought back beside cert-key-file.
  const again: CheckSpec = {
    kind: 'control-plane-file', id: 'cis-1.1.21', references: [], title: 'Kubernetes PKI key files are mode 0600 or stricter', category: 'certificate',
    severity: 'high', scored: false, fileSet: 'pki', nameSuffix: '.key', property: 'mode', test: { op: 'bitmask-mode-at-most', value: '600' }, remediation: 'chmod 600',
  };
  byId.set(again.id, again);
  t.teardown(() => byId.delete(again.id));
  const now = new Date();
  const results = evaluate(await collectFacts({ hostRoot: fx.root, procRoot: fx.procRoot, now: () => now }), [...CATALOG, again], now);
  t.deepEqual(duplicates(results), ['/etc/kubernetes/pki/apiserver.key: cert-key-file and cis-1.1.21 both judge its file mode']);
});

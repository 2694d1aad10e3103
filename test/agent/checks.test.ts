// The five first CIS checks, each in its pass, fail and skip/error states, on real fixture
// trees. Expectations come from the benchmark: 4.2.1 anonymous auth must be false; 4.2.2 the
// authorization mode must not be AlwaysAllow; 4.2.4 the read-only port must be 0 (a Manual
// check, so a failure is a warning); 4.1.5 / 4.1.9 the kubeconfig and the config file may
// have no permission bit beyond 0600.
import test from 'ava';
import { chmod, rm, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Result, Source, Status } from '../../proto/domain.js';
import { CATALOG, evaluate } from '../../agent/checks/index.js';
import type { CheckSpec } from '../../agent/checks/index.js';
import { collectFacts } from '../../agent/facts/index.js';
import { prepareFixture, writeCmdline } from '../helpers/fixture.js';

const NOW = new Date('2026-03-01T12:00:00Z');

interface Expect {
  readonly status: Status;
  readonly actual?: string;
  readonly source?: Source;
  readonly sourceFile?: string;
  readonly subject?: string;
  readonly reason?: RegExp;
}

interface Scenario {
  readonly name: string;
  readonly fixture: 'insecure-worker' | 'defaults-worker';
  readonly prepare?: (root: string, procRoot: string) => Promise<void>;
  readonly procRoot?: (root: string) => string;
  readonly expect: Readonly<Record<string, Expect>>;
}

const INSECURE_ARGV = ['/usr/bin/kubelet', '--authorization-mode', 'AlwaysAllow', '--config', 'config.yaml', '--kubeconfig=/etc/kubernetes/kubelet.conf'];

const scenarios: Scenario[] = [
  {
    name: 'insecure-worker as shipped',
    fixture: 'insecure-worker',
    expect: {
      'cis-4.1.5': { status: 'fail', actual: '0644', source: 'file', subject: '/etc/kubernetes/kubelet.conf', sourceFile: '/etc/kubernetes/real/kubelet.conf', reason: /link target of \/etc\/kubernetes\/kubelet\.conf/ },
      'cis-4.1.9': { status: 'fail', actual: '0644', source: 'file', subject: '/var/lib/kubelet/config.yaml', sourceFile: '/var/lib/kubelet/config.yaml' },
      'cis-4.2.1': { status: 'fail', actual: 'true', source: 'config', subject: 'kubelet/--anonymous-auth', sourceFile: '/var/lib/kubelet/config.yaml' },
      // The config file says Webhook; the command line (space form) overrides it.
      'cis-4.2.2': { status: 'fail', actual: 'AlwaysAllow', source: 'flag', subject: 'kubelet/--authorization-mode', sourceFile: '' },
      'cis-4.2.4': { status: 'warn', actual: '10255', source: 'config', sourceFile: '/var/lib/kubelet/config.yaml' },
    },
  },
  {
    name: 'defaults-worker as shipped',
    fixture: 'defaults-worker',
    expect: {
      'cis-4.1.5': { status: 'pass', actual: '0600', source: 'file', subject: '/etc/kubernetes/kubelet.conf' },
      'cis-4.1.9': { status: 'pass', actual: '0600', source: 'file', subject: '/var/lib/kubelet/config.yaml' },
      'cis-4.2.1': { status: 'pass', actual: 'false', source: 'default', sourceFile: '' },
      'cis-4.2.2': { status: 'pass', actual: 'Webhook', source: 'dropin', sourceFile: '/etc/kubernetes/kubelet.conf.d/20-authz.conf' },
      // 99-ignored.yaml sets 10255 but is not a .conf drop-in.
      'cis-4.2.4': { status: 'pass', actual: '0', source: 'default' },
    },
  },
  {
    name: 'stricter modes pass: 0600 and 0400 on the link target (the link itself stays 0777)',
    fixture: 'insecure-worker',
    prepare: async (root) => {
      await chmod(join(root, 'etc/kubernetes/real/kubelet.conf'), 0o600);
      await chmod(join(root, 'var/lib/kubelet/config.yaml'), 0o400);
    },
    expect: {
      'cis-4.1.5': { status: 'pass', actual: '0600', sourceFile: '/etc/kubernetes/real/kubelet.conf' },
      'cis-4.1.9': { status: 'pass', actual: '0400' },
    },
  },
  {
    name: 'a group-read bit or an exec bit beyond 0600 fails',
    fixture: 'defaults-worker',
    prepare: async (root) => {
      await chmod(join(root, 'etc/kubernetes/kubelet.conf'), 0o640);
      await chmod(join(root, 'var/lib/kubelet/config.yaml'), 0o700);
    },
    expect: {
      'cis-4.1.5': { status: 'fail', actual: '0640', reason: /bits 0040/ },
      'cis-4.1.9': { status: 'fail', actual: '0700', reason: /bits 0100/ },
    },
  },
  {
    name: 'flags win: explicit secure flags on the insecure worker',
    fixture: 'insecure-worker',
    prepare: async (_root, procRoot) => {
      await writeCmdline(procRoot, 4242, ['/usr/bin/kubelet', '--config', 'config.yaml', '--anonymous-auth=false', '--authorization-mode=Webhook', '--read-only-port', '0']);
    },
    expect: {
      'cis-4.2.1': { status: 'pass', actual: 'false', source: 'flag' },
      'cis-4.2.2': { status: 'pass', actual: 'Webhook', source: 'flag' },
      'cis-4.2.4': { status: 'pass', actual: '0', source: 'flag' },
    },
  },
  {
    name: 'a bare --anonymous-auth on the command line overrides the config-file default',
    fixture: 'defaults-worker',
    prepare: async (_root, procRoot) => {
      await writeCmdline(procRoot, 777, ['/usr/local/bin/kubelet', '--anonymous-auth', '--config=/var/lib/kubelet/config.yaml']);
    },
    expect: {
      'cis-4.2.1': { status: 'fail', actual: 'true', source: 'flag' },
      'cis-4.2.2': { status: 'pass', actual: 'Webhook', source: 'default' },
    },
  },
  {
    name: 'no --kubeconfig and no --config: file checks skip, settings fall back to the flag defaults',
    fixture: 'insecure-worker',
    prepare: async (_root, procRoot) => {
      await writeCmdline(procRoot, 4242, ['/usr/bin/kubelet', '--authorization-mode=Webhook']);
    },
    expect: {
      'cis-4.1.5': { status: 'skip', subject: 'kubelet/--kubeconfig', reason: /without --kubeconfig/ },
      'cis-4.1.9': { status: 'skip', subject: 'kubelet/--config', reason: /without --config/ },
      'cis-4.2.1': { status: 'fail', actual: 'true', source: 'default', reason: /without --config/ },
      'cis-4.2.2': { status: 'pass', actual: 'Webhook', source: 'flag' },
      'cis-4.2.4': { status: 'warn', actual: '10255', source: 'default' },
    },
  },
  {
    name: 'no kubelet process: every check skips and says why',
    fixture: 'insecure-worker',
    prepare: async (_root, procRoot) => rm(join(procRoot, '4242'), { recursive: true }),
    expect: Object.fromEntries(['cis-4.1.5', 'cis-4.1.9', 'cis-4.2.1', 'cis-4.2.2', 'cis-4.2.4'].map((id) => [id, { status: 'skip', reason: /no kubelet process/ }])),
  },
  {
    name: 'unreadable process table: every check is an error, never a skip',
    fixture: 'insecure-worker',
    procRoot: (root) => join(root, 'missing-proc'),
    expect: Object.fromEntries(['cis-4.1.5', 'cis-4.1.9', 'cis-4.2.1', 'cis-4.2.2', 'cis-4.2.4'].map((id) => [id, { status: 'error', reason: /cannot list processes/ }])),
  },
  {
    name: 'the kubeconfig target is missing',
    fixture: 'insecure-worker',
    prepare: async (root) => rm(join(root, 'etc/kubernetes/real/kubelet.conf')),
    expect: {
      'cis-4.1.5': { status: 'error', subject: '/etc/kubernetes/kubelet.conf', reason: /does not exist/ },
    },
  },
  {
    name: 'a kubeconfig link that tries to escape the host root is judged inside it (missing there)',
    fixture: 'insecure-worker',
    prepare: async (root) => {
      await writeFile(join(root, '..', 'outside-kubelet.conf'), 'outside');
      await chmod(join(root, '..', 'outside-kubelet.conf'), 0o600);
      await rm(join(root, 'etc/kubernetes/kubelet.conf'));
      await symlink('../../../../../../../outside-kubelet.conf', join(root, 'etc/kubernetes/kubelet.conf'));
    },
    expect: {
      'cis-4.1.5': { status: 'error', reason: /does not exist/ },
    },
  },
  {
    name: 'an unparseable config file: settings read from it are errors, the flag-set one is not',
    fixture: 'insecure-worker',
    prepare: async (root) => writeFile(join(root, 'var/lib/kubelet/config.yaml'), 'authentication: [unclosed\n'),
    expect: {
      'cis-4.1.9': { status: 'fail', actual: '0644' },
      'cis-4.2.1': { status: 'error', sourceFile: '/var/lib/kubelet/config.yaml', reason: /not valid YAML/ },
      'cis-4.2.2': { status: 'fail', actual: 'AlwaysAllow', source: 'flag' },
      'cis-4.2.4': { status: 'error', reason: /not valid YAML/ },
    },
  },
  {
    name: 'a relative --config with an unknown cwd is an error, not a guess',
    fixture: 'insecure-worker',
    prepare: async (_root, procRoot) => {
      await rm(join(procRoot, '4242/cwd'));
      await writeCmdline(procRoot, 4242, INSECURE_ARGV);
    },
    expect: {
      'cis-4.1.9': { status: 'error', subject: 'kubelet/--config', reason: /working directory is unknown/ },
      'cis-4.2.1': { status: 'error', reason: /working directory is unknown/ },
      'cis-4.1.5': { status: 'fail', actual: '0644' },
    },
  },
  {
    name: 'a drop-in directory that cannot be listed is an error for settings it could override',
    fixture: 'defaults-worker',
    prepare: async (root) => {
      await rm(join(root, 'etc/kubernetes/kubelet.conf.d'), { recursive: true });
      await writeFile(join(root, 'etc/kubernetes/kubelet.conf.d'), 'not a directory');
    },
    expect: {
      'cis-4.2.1': { status: 'error', reason: /drop-in directory/ },
      'cis-4.1.9': { status: 'pass' },
    },
  },
];

for (const sc of scenarios) {
  test(`checks: ${sc.name}`, async (t) => {
    const fx = await prepareFixture(sc.fixture);
    t.teardown(fx.cleanup);
    await sc.prepare?.(fx.root, fx.procRoot);
    const facts = await collectFacts({ hostRoot: fx.root, procRoot: sc.procRoot?.(fx.root) ?? fx.procRoot });
    const results = evaluate(facts, CATALOG, NOW);
    // One result per subject: every check answers at least once (some judge several files).
    t.deepEqual([...new Set(results.map((r) => r.id))].sort(), CATALOG.map((c) => c.id).sort());
    for (const [id, e] of Object.entries(sc.expect)) {
      const r = results.find((x) => x.id === id);
      if (r === undefined) return t.fail(`no result for ${id}`);
      const got: Record<string, unknown> = { status: r.status };
      const want: Record<string, unknown> = { status: e.status };
      for (const k of ['actual', 'source', 'sourceFile', 'subject'] as const) {
        if (e[k] !== undefined) {
          got[k] = r[k];
          want[k] = e[k];
        }
      }
      t.deepEqual(got, want, `${id}: ${r.reason}`);
      if (e.reason) t.regex(r.reason, e.reason, id);
      t.not(r.reason, '', `${id} must say why`);
    }
  });
}

test('result metadata follows the catalogue: ids, CIS numbers, severities, scored', async (t) => {
  const fx = await prepareFixture('insecure-worker');
  t.teardown(fx.cleanup);
  const FIRST = ['cis-4.1.5', 'cis-4.1.9', 'cis-4.2.1', 'cis-4.2.2', 'cis-4.2.4'];
  const results = evaluate(await collectFacts({ hostRoot: fx.root, procRoot: fx.procRoot }), CATALOG, NOW).filter((r) => FIRST.includes(r.id));
  const meta = Object.fromEntries(results.map((r) => [r.id, [r.cis, r.severity, r.scored, r.category]]));
  t.deepEqual(meta, {
    'cis-4.1.5': ['4.1.5', 'medium', true, 'kubelet'],
    'cis-4.1.9': ['4.1.9', 'medium', true, 'kubelet'],
    'cis-4.2.1': ['4.2.1', 'high', true, 'kubelet'],
    'cis-4.2.2': ['4.2.2', 'critical', true, 'kubelet'],
    'cis-4.2.4': ['4.2.4', 'medium', false, 'kubelet'],
  });
  const byId = new Map(results.map((r) => [r.id, r] as const));
  t.is(byId.get('cis-4.2.1')?.expected, 'false');
  t.is(byId.get('cis-4.2.2')?.expected, 'does not include AlwaysAllow');
  t.is(byId.get('cis-4.1.5')?.expected, '0600 or stricter');
  for (const r of results) t.true(r.remediation.length > 20, `${r.id} has remediation text`);
});

test('evaluate is pure: the same facts give the same results, and the facts are not mutated', async (t) => {
  const fx = await prepareFixture('defaults-worker');
  t.teardown(fx.cleanup);
  const facts = await collectFacts({ hostRoot: fx.root, procRoot: fx.procRoot });
  const before = JSON.stringify(facts);
  const a = evaluate(facts, CATALOG, NOW);
  await fx.cleanup(); // the host is gone: evaluation must not need it
  const b = evaluate(facts, CATALOG, new Date('2030-01-01T00:00:00Z'));
  t.deepEqual(a, b);
  t.is(JSON.stringify(facts), before);
});

test('a check that throws becomes an error result and the others still run', async (t) => {
  const fx = await prepareFixture('defaults-worker');
  t.teardown(fx.cleanup);
  const facts = await collectFacts({ hostRoot: fx.root, procRoot: fx.procRoot });
  const broken: CheckSpec = {
    kind: 'custom',
    id: 'broken-check',
    references: [],
    title: 'Always throws',
    reads: 'nothing',
    category: 'agent',
    severity: 'low',
    scored: true,
    remediation: 'none',
    evaluate: (): Result[] => {
      throw new Error('boom');
    },
  };
  const results = evaluate(facts, [broken, ...CATALOG], NOW);
  t.is(results[0]?.status, 'error');
  t.regex(results[0]?.reason ?? '', /internal error while evaluating broken-check: boom/);
  t.deepEqual(results.slice(1), evaluate(facts, CATALOG, NOW));
});

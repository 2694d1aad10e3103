// The NUL character (U+0000) at ingest (issue 23: no PostgreSQL text or jsonb holds one, so the
// collector stores none on either backend). Property tests over the wire validators, starting
// from one valid message of each kind that fills every string field, with NULs put anywhere in
// any one of its strings:
//  1. a NUL in a name, path, key, check id, subject or enumerated field is refused with an
//     InvalidMessage that names the field; one in free text (FREE_TEXT below) is accepted and
//     written as `\x00`; nothing else is ever thrown;
//  2. whatever is accepted holds no NUL, and its detail document no `\u0000` escape (jsonb
//     would decode it): a NUL in any string or property name of a detail_json, at any depth,
//     is accepted and written as `\x00`.
// The end-to-end check through a real collector is wire-nul-collector.test.ts.
import test from 'ava';
import {
  baselineReportFromWire, batchFromWire, helloFromWire, InvalidMessage, scanFromWire, statsFromWire,
} from '../../collector/ingest/validate.js';
import type { BaselineReport__Output, FindingBatch__Output, Hello__Output, ScanReport__Output } from '../../proto/load.js';
import { escapeNulJson } from '../../proto/support/escape.js';
import { checkProperty, fc } from '../helpers/property.js';

const NOW = Date.now();
const HOUR = 3600_000;

const stats = {
  spoolEntries: 1, execCoverage: 'event', execSource: 'netlink', execSourceReason: 'ebpf: NO_CAPABILITY: CAP_BPF is missing',
  hostDocumentsRefused: 1, hostDocumentRefusedPath: '/etc/kubernetes/kubelet.conf', hostDocumentRefusedReason: 'bytes',
  execIdentityFailed: 1, execIdentityFailedReason: 'too-large',
};

const hello = {
  agentVersion: '0.2.0', epoch: 'epoch-1', baselineVersion: 0, hostBaselineKey: 'host/worker', stats,
  host: {
    os: 'Debian GNU/Linux 12', kernel: '6.1.0-18-amd64', arch: 'x64', cpus: 2, memoryBytes: 1024, uptimeSeconds: 5, kubeletVersion: 'v1.31.0',
    certificates: [{ path: '/etc/kubernetes/pki/apiserver.crt', notAfterMs: NOW + 1000 * HOUR }],
  },
};

const scan = {
  sequence: 1, scannedAtMs: NOW, benchmark: 'cis-1.12', scope: ['cis-4.2.1'], trigger: 'periodic',
  results: [{
    checkId: 'cis-4.2.1', cis: '4.2.1', references: ['cis-1.12:4.2.1'], title: 'Anonymous auth is disabled', category: 'kubelet',
    subject: '--anonymous-auth', status: 'STATUS_FAIL', severity: 'SEVERITY_HIGH', scored: true, actual: 'true', expected: 'false',
    source: 'config', sourceFile: '/var/lib/kubelet/config.yaml', reason: 'set in the config file', remediation: 'Set authentication.anonymous.enabled to false', occurrences: 1,
  }],
  exposure: {
    listeners: [{
      protocol: 'tcp', address: '0.0.0.0', port: 10250, addressClass: 'public', wildcard: true, pid: 1, exe: '/usr/bin/kubelet',
      baseline: 'shop/Deployment/web/nginx', namespace: 'shop', pod: 'web-1', container: 'nginx', workload: 'Deployment/web', uid: 0,
    }],
    nodeAddresses: [{ address: '10.0.0.1', addressClass: 'private', source: 'interface' }],
    listenersDropped: 0, unowned: 0, walkCut: 'process limit', rowsRefused: 0,
  },
};

const DETAIL = { actual: 'true', file: '/var/lib/kubelet/config.yaml', nested: { list: ['a', { deeper: 'b' }] } };

const batch = {
  sequence: 1,
  findings: [
    {
      checkId: 'cis-4.2.1', subject: '--anonymous-auth', title: 'Anonymous auth is disabled', category: 'kubelet', severity: 'SEVERITY_HIGH',
      status: 'STATUS_FAIL', observedAtMs: NOW, occurrences: 1, seen: 'scan', remediation: 'Set it to false', detailJson: JSON.stringify(DETAIL), process: null,
    },
    {
      checkId: 'proc-unexpected', subject: 'shop/Deployment/web/nginx:/usr/bin/nc', title: 'Unexpected process', category: 'process', severity: 'SEVERITY_HIGH',
      status: 'STATUS_FAIL', observedAtMs: NOW, occurrences: 1, seen: 'event', remediation: 'Find out why it ran', detailJson: '',
      process: {
        baseline: 'shop/Deployment/web/nginx', exe: '/usr/bin/nc', exeDeleted: false, pid: 42, ppid: 1, parents: ['/bin/bash'], uid: 0, user: 'root',
        cmdline: 'nc -l 4444', container: { id: 'c'.repeat(64), name: 'nginx', runtime: 'containerd' }, pod: 'web-1', podUid: 'uid-1', namespace: 'shop',
        workload: { kind: 'Deployment', name: 'web', source: 'pod-name' }, startedAtMs: NOW, partial: false, missing: ['status'],
        kernel: { filename: '/usr/bin/nc', ino: 1, dev: 1, nlink: 1, fsKind: 'ext4', cgroupId: 1, mntNs: 1, pidNs: 1, uid: 0, gid: 0, egid: 0, comm: 'nc' },
        fakeContainer: { cgroupPath: '/kubepods/besteffort/pod1/abc', id: 'abc', reason: 'a cgroup that looks like a container' },
        identity: { sha256: '', size: 0, error: 'unreadable', errorDetail: 'permission denied', baselineSha256: ['a'.repeat(64)], vouchedBy: '', notVouched: '' },
        effective: { uid: 0, user: 'root' },
        context: { stdio: [{ kind: 'socket', family: 'inet' }, { kind: 'pipe', family: '' }, { kind: 'file', family: '' }], interpreter: 'bash', inlineFlag: '-c', loader: '/lib64/ld-linux-x86-64.so.2', loadedProgram: '/usr/bin/nc' },
      },
    },
  ],
};

const baselineReport = {
  baselineVersion: 1,
  baselines: [{
    key: 'shop/Deployment/web/nginx', state: 'BASELINE_STATE_LEARNING', version: 1, learnUntilMs: NOW + HOUR, lockedBy: '', listens: ['tcp/0.0.0.0:8080'],
    items: [{ path: '/usr/bin/nc', source: 'ITEM_SOURCE_LEARNED', firstSeenMs: NOW, anyContent: false, inlineCode: false,
      digests: [{ sha256: 'b'.repeat(64), source: 'image', image: 'registry.example/shop/web:1.27', firstSeenMs: NOW }] }],
    removed: ['/usr/bin/old'],
  }],
};

type Kind = 'hello' | 'scan' | 'batch' | 'baselineReport';
const BASES: Record<Kind, unknown> = { hello, scan, batch, baselineReport };

/** The validators as the agent service calls them (the hello's counters with it). */
function validate(kind: Kind, body: unknown): unknown {
  switch (kind) {
    case 'hello': return { hello: helloFromWire(body as Hello__Output, 'node-a', NOW), stats: statsFromWire((body as Hello__Output).stats).stats };
    case 'scan': return scanFromWire(body as ScanReport__Output, 'node-a', 'epoch-1', NOW);
    case 'batch': return batchFromWire(body as FindingBatch__Output, 'node-a', 'epoch-1', NOW);
    case 'baselineReport': return baselineReportFromWire(body as BaselineReport__Output, NOW);
  }
}

/**
 * The free text of each message (paths with `[]` for any index): a NUL there is written as
 * `\x00`. Every other string field (names, paths, keys, ids, subjects, versions, enumerations,
 * digests, the raw detail_json) refuses it.
 */
const FREE_TEXT: Record<Kind, readonly string[]> = {
  hello: ['host.os', 'host.kernel', 'host.kubeletVersion', 'stats.execSourceReason'],
  scan: ['results[].title', 'results[].actual', 'results[].expected', 'results[].reason', 'results[].remediation', 'exposure.walkCut'],
  batch: ['findings[].title', 'findings[].remediation', 'findings[].process.cmdline', 'findings[].process.fakeContainer.reason', 'findings[].process.identity.errorDetail'],
  baselineReport: [],
};

type Path = ReadonlyArray<string | number>;

/** Every string in a value, by its path. */
function stringPaths(v: unknown, at: Path = []): Path[] {
  if (typeof v === 'string') return [at];
  if (Array.isArray(v)) return v.flatMap((x, i) => stringPaths(x, [...at, i]));
  if (typeof v === 'object' && v !== null) return Object.entries(v).flatMap(([k, x]) => stringPaths(x, [...at, k]));
  return [];
}

/** `findings[1].process.cmdline` (as the validators name fields), and the same with `[]` for every index. */
const named = (p: Path): string => p.map((s, i) => (typeof s === 'number' ? `[${s}]` : i === 0 ? s : `.${s}`)).join('');
const pattern = (p: Path): string => named(p).replace(/\[\d+\]/g, '[]');

/** A copy of `v` with the string at `p` replaced by `f(it)`. */
function replaced(v: unknown, p: Path, f: (s: string) => string): unknown {
  if (p.length === 0) return f(v as string);
  const [head, ...rest] = p;
  if (Array.isArray(v)) return v.map((x, i) => (i === head ? replaced(x, rest, f) : x));
  return { ...(v as Record<string, unknown>), [head!]: replaced((v as Record<string, unknown>)[head!], rest, f) };
}

/** Where NULs go in a string: at chosen places, with other text around them. */
const withNuls = fc.record({
  at: fc.array(fc.nat(), { minLength: 1, maxLength: 3 }),
  around: fc.oneof(fc.constant(''), fc.string({ maxLength: 4 }), fc.constantFrom('\\', '\\u0000', '\u0001', '\ud800')),
}).map(({ at, around }) => (s: string): string => {
  let out = s;
  for (const i of at) {
    const k = i % (out.length + 1);
    out = `${out.slice(0, k)}${around}\u0000${out.slice(k)}`;
  }
  return out;
});

/** Every NUL in what was accepted: in its strings, and in its detail documents' strings and property names. */
function nulsIn(v: unknown, at = ''): string[] {
  if (typeof v === 'string') return v.includes('\u0000') ? [at] : [];
  if (Array.isArray(v)) return v.flatMap((x, i) => nulsIn(x, `${at}[${i}]`));
  if (typeof v !== 'object' || v === null) return [];
  return Object.entries(v).flatMap(([k, x]) => [
    ...(k.includes('\u0000') ? [`${at}.${k}(name)`] : []),
    ...(k === 'detail' && typeof x === 'string' ? nulsIn(JSON.parse(x), `${at}.detail(json)`) : nulsIn(x, `${at}.${k}`)),
  ]);
}

test('every base message is accepted as it is, and fills many string fields', (t) => {
  for (const [kind, body] of Object.entries(BASES) as Array<[Kind, unknown]>) {
    t.notThrows(() => validate(kind, body), kind);
    t.true(stringPaths(body).length >= 8, `${kind}: ${stringPaths(body).length} strings`);
    for (const free of FREE_TEXT[kind]) t.true(stringPaths(body).some((p) => pattern(p) === free), `${kind} fills ${free}`);
  }
});

test('property: a NUL in any string field is refused with an InvalidMessage naming the field, or, in free text, accepted as \\x00; nothing else is thrown', async (t) => {
  const seen = { refused: 0, escaped: 0 };
  const kinds = Object.keys(BASES) as Kind[];
  const cases = fc.constantFrom(...kinds).chain((kind) => fc.tuple(fc.constant(kind), fc.constantFrom(...stringPaths(BASES[kind])), withNuls));
  await checkProperty(t, fc.property(cases, ([kind, path, put]) => {
    const body = replaced(BASES[kind], path, put);
    const free = FREE_TEXT[kind].includes(pattern(path));
    let out: unknown;
    try {
      out = validate(kind, body);
    } catch (err) {
      if (!(err instanceof InvalidMessage)) throw new Error(`${kind} ${named(path)}: ${(err as Error).constructor.name}: ${(err as Error).message}`);
      if (free) throw new Error(`${kind} ${named(path)} is free text, refused: ${err.message}`);
      // Named as the validators name it, or (for the counters of a hello) under stats.
      if (!err.message.includes(named(path).replace(/^stats\./, '')) || err.code !== 'INVALID_ARGUMENT') throw new Error(`${kind} ${named(path)}: the refusal does not name it: ${err.message}`);
      seen.refused++;
      return true;
    }
    if (!free) throw new Error(`${kind} ${named(path)} is not free text, accepted with a NUL`);
    const left = nulsIn(out);
    if (left.length > 0) throw new Error(`${kind} ${named(path)}: NUL left in ${left.join(', ')}`);
    if (!JSON.stringify(out).includes('\\\\x00')) throw new Error(`${kind} ${named(path)}: the NUL is not written as \\x00`);
    seen.escaped++;
    return true;
  }), 2000);
  t.log(seen);
  t.true(seen.refused > 500 && seen.escaped > 200, JSON.stringify(seen));
});

/** Every string and property name in a JSON value, by its path (a name as `{name}`). */
function jsonPlaces(v: unknown, at: Path = []): Path[] {
  if (typeof v === 'string') return [at];
  if (Array.isArray(v)) return v.flatMap((x, i) => jsonPlaces(x, [...at, i]));
  if (typeof v === 'object' && v !== null) return Object.entries(v).flatMap(([k, x]) => [[...at, `{${k}}`], ...jsonPlaces(x, [...at, k])]);
  return [];
}

/** A copy of a JSON value with the string or property name at `p` replaced by `f(it)`. */
function replacedInJson(v: unknown, p: Path, f: (s: string) => string): unknown {
  if (p.length === 0) return f(v as string);
  const [head, ...rest] = p;
  if (typeof head === 'string' && head.startsWith('{') && rest.length === 0) {
    const name = head.slice(1, -1);
    return Object.fromEntries(Object.entries(v as Record<string, unknown>).map(([k, x]) => [k === name ? f(k) : k, x]));
  }
  return replaced(v, [head!], (x) => replacedInJson(x, rest, f) as string) as unknown;
}

test('property: a NUL in any string or property name of a detail_json, at any depth, is stored as \\x00: the stored JSON holds no \\u0000 escape', async (t) => {
  // The detail as an agent writes it (JSON.stringify: a NUL becomes the escape \u0000), sometimes deeper than redaction walks.
  const deep = (d: number): unknown => (d === 0 ? { leaf: 'x' } : [deep(d - 1)]);
  // exe and baseline are the subject's fields, which redaction leaves as sent, at any depth.
  const details = [DETAIL, { exe: '/usr/bin/nc', baseline: 'host/worker', cmdline: 'nc -l' }, { exe: deep(40) }];
  const cases = fc.constantFrom(...details).chain((d) => fc.tuple(fc.constant(d), fc.constantFrom(...jsonPlaces(d)), withNuls));
  let stored = 0;
  await checkProperty(t, fc.property(cases, ([d, place, put]) => {
    const detailJson = JSON.stringify(replacedInJson(d, place, put));
    if (!detailJson.includes('\\u0000')) throw new Error('the generated detail carries a NUL escape');
    const body = { ...batch, findings: [{ ...batch.findings[0]!, detailJson }] };
    const detail = batchFromWire(body as unknown as FindingBatch__Output, 'node-a', 'epoch-1', NOW).findings[0]!.detail;
    const left = nulsIn({ detail });
    if (left.length > 0 || escapeNulJson(detail) !== detail) throw new Error(`a NUL survived in ${detail}`);
    if (!detail.includes('\\\\x00')) throw new Error(`the NUL is not written as \\x00: ${detail}`);
    stored++;
    return true;
  }), 1000);
  t.is(stored, 1000);
});

test('escapeNulJson rewrites only real \\u0000 escapes: not an escaped backslash followed by u0000', (t) => {
  const cases: Array<[unknown, string]> = [
    ['a\u0000b', 'a\\x00b'], ['\\u0000', '\\u0000'], ['\\\u0000', '\\\\x00'], ['\\\\\u0000', '\\\\\\x00'], [{ 'k\u0000': ['\u0000'] }, ''],
  ];
  for (const [value, text] of cases) {
    const out = JSON.parse(escapeNulJson(JSON.stringify(value))) as unknown;
    t.deepEqual(nulsIn({ out }), [], JSON.stringify(value));
    if (typeof value === 'string') t.is(out, text, JSON.stringify(value));
  }
  t.deepEqual(JSON.parse(escapeNulJson(JSON.stringify({ 'k\u0000': ['\u0000'] }))), { 'k\\x00': ['\\x00'] });
});

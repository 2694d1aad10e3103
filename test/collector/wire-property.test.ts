// Property tests of the wire validator (issue 12). Messages as the proto loader hands them
// over (longs as numbers, enums as names or numbers, every field present), with arbitrary
// values: huge, negative, fractional and non-finite numbers, long strings, odd unicode.
//  1. Each is accepted or refused with InvalidMessage, never another exception.
//  2. Nothing accepted breaks anything: fed through the real pipeline and central baselines
//     into a real store (SQLite and PostgreSQL, test/helpers/stores.ts), it commits, and every
//     read route of the Fastify app (app.inject) then answers 200.
//  3. A process finding's typed detail (Finding.process) that is accepted is stored exactly as
//     the same detail sent as an agent 0.1.0 did (detail_json) is.
import test, { type ExecutionContext } from 'ava';
import {
  baselineReportFromWire, batchFromWire, helloFromWire, InvalidMessage, PROCESS_DETAIL_LIMITS, scanFromWire, statsFromWire,
} from '../../collector/ingest/validate.js';
import { PROCESS_DETAIL_CHECK_IDS } from '../../proto/process-checks.js';
import { DIGEST_SOURCES, IDENTITY_ERRORS, STDIO_FAMILIES, STDIO_KINDS } from '../../proto/exec-identity.js';
import { CATEGORIES, SOURCES } from '../../proto/domain.js';
import type {
  AgentStats__Output, BaselineReport__Output, FindingBatch__Output, Hello__Output, ScanReport__Output, WireFinding,
} from '../../proto/load.js';
import { buildTestApi, type TestApi } from '../helpers/api-app.js';
import { asDetailJson } from '../helpers/process-finding.js';
import { checkProperty, fc } from '../helpers/property.js';
import { storeTest, type Backend } from '../helpers/stores.js';

const NOW = Date.now();
const HOUR = 3600_000;
const YEAR = 365 * 24 * HOUR;

// ---------------------------------------------------------------------------------------
// Arbitraries: each field valid most of the time (weight V against 1), so that a message
// of a dozen fields is often accepted whole, and anything at all otherwise.

const V = 15;

const EDGE_NUMBERS = [0, 1, -1, 0.5, -0, 2 ** 31 - 1, 2 ** 32 - 1, 2 ** 32, 2 ** 53 - 1, 2 ** 53, 2 ** 63, -(2 ** 63), 2 ** 64,
  8.64e15, 8.64e15 + 1, Date.parse('9999-12-31T23:59:59.999Z'), Date.parse('9999-12-31T23:59:59.999Z') + 1, Date.parse('2200-01-01T00:00:00Z'),
  1e21, 1e308, Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY, Number.MIN_VALUE, NOW, NOW + HOUR, NOW + HOUR + 1,
  NOW - 10 * YEAR, NOW - 10 * YEAR - 1];
const anyNumber = fc.oneof(
  fc.constantFrom(...EDGE_NUMBERS), fc.integer(), fc.maxSafeInteger(), fc.double(), fc.integer({ min: 0, max: 1_000_000 }),
);
const END_OF_9999 = Date.parse('9999-12-31T23:59:59.999Z');
/** Where times go wrong: a Date's end (8.64e15), 2^53, the year 2200, RFC 3339's last year, not integers. */
const EDGE_TIMES = [0, 1, -1, 0.5, NOW + 0.5, Date.parse('2200-01-01T00:00:00Z'), END_OF_9999, END_OF_9999 + 1, 8.64e15, 8.64e15 + 1,
  2 ** 53 - 1, 2 ** 53, 2 ** 63, -(2 ** 53 - 1), 1e21, Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY];
/**
 * A time: mostly inside the window of an observation, sometimes a millisecond either side of
 * its bounds, sometimes at an edge where times go wrong, sometimes any number.
 */
const anyTime = fc.oneof(
  { weight: V, arbitrary: fc.integer({ min: -10 * YEAR, max: HOUR }).map((d) => NOW + d) },
  { weight: 1, arbitrary: fc.tuple(fc.constantFrom(NOW + HOUR, NOW - 10 * YEAR), fc.integer({ min: -3, max: 3 })).map(([b, d]) => b + d) },
  { weight: 2, arbitrary: fc.constantFrom(...EDGE_TIMES) },
  { weight: 1, arbitrary: anyNumber },
);
const count = fc.oneof({ weight: V, arbitrary: fc.integer({ min: 0, max: 1000 }) }, { weight: 1, arbitrary: anyNumber });
const anyString = fc.oneof(
  { weight: 3, arbitrary: fc.string({ maxLength: 30 }) },
  { weight: 2, arbitrary: fc.string({ unit: 'binary', maxLength: 30 }) },
  { weight: 1, arbitrary: fc.string({ unit: 'grapheme', maxLength: 30 }) },
  { weight: 1, arbitrary: fc.constantFrom('', '\u0000', '\u202e', '\ud800', '\udfff', '🙂'.repeat(3), '<script>', "'; DROP TABLE findings; --", '%', '_') },
  { weight: 1, arbitrary: fc.string({ minLength: 200, maxLength: 5000 }) },
);
/** A string field: a valid value, or any string (the proto decoder gives a string field nothing else). */
const oneOfOr = <T>(valid: readonly T[]) => fc.oneof({ weight: V, arbitrary: fc.constantFrom(...valid) }, { weight: 1, arbitrary: anyString });
/** An enum field: its names, an unknown number (what the decoder gives for a value it does not know), or any string. */
const enumOr = <T>(valid: readonly T[], invalid: string) => fc.oneof({ weight: V, arbitrary: fc.constantFrom(...valid) },
  { weight: 1, arbitrary: fc.oneof(anyString, fc.integer({ min: -1, max: 9 }), fc.constant(invalid)) });

const checkId = oneOfOr(['cis-4.2.1', 'cis-4.2.6', 'proc-unexpected', 'cert-expiry', 'agent-stale']);
const category = oneOfOr(CATEGORIES);
const severity = enumOr(['SEVERITY_INFO', 'SEVERITY_LOW', 'SEVERITY_MEDIUM', 'SEVERITY_HIGH', 'SEVERITY_CRITICAL'], 'SEVERITY_UNSPECIFIED');
const resultStatus = enumOr(['STATUS_PASS', 'STATUS_FAIL', 'STATUS_WARN', 'STATUS_SKIP', 'STATUS_ERROR'], 'STATUS_UNSPECIFIED');
const findingStatus = enumOr(['STATUS_FAIL', 'STATUS_WARN'], 'STATUS_PASS');
// Subjects and free text are often arbitrary (most strings are valid there, within bounds).
const subject = fc.oneof({ weight: 2, arbitrary: fc.constantFrom('--anonymous-auth', 'host:/usr/bin/nc', '/etc/kubernetes/pki/ca.crt') }, { weight: 1, arbitrary: anyString });
const text = fc.oneof({ weight: 2, arbitrary: fc.constantFrom('', 'x', 'remediation') }, { weight: 1, arbitrary: anyString });
const key = oneOfOr(['host', 'host/worker', 'host/control-plane', 'shop/Deployment/web/nginx', `container:${'a'.repeat(64)}`]);
const path = fc.oneof({ weight: 6, arbitrary: fc.constantFrom('/bin/sh', '/usr/bin/nc', '/usr/sbin/nginx') }, { weight: 3, arbitrary: anyString.map((s) => `/${s}`) }, { weight: 1, arbitrary: anyString });
const detailJson = fc.oneof(
  { weight: V, arbitrary: fc.constantFrom('', '{}', '{"baseline":"host","exe":"/usr/bin/nc","pid":1}', '{"baseline":"host","exe":"/usr/bin/nc","cmdline":"\\u0000"}') },
  { weight: V, arbitrary: fc.object({ maxDepth: 2 }).map((o) => JSON.stringify(o)) },
  { weight: 1, arbitrary: fc.constantFrom('[]', 'null', '1', '{"a":') },
  { weight: 1, arbitrary: fc.json({ maxDepth: 3 }) },
);

const stats = fc.record({
  spoolEntries: count, spoolBytes: count, spoolDropped: count, rejected: count, execCoverage: oneOfOr(['', 'event', 'scan']),
  processEventsCapped: count, processEventsLost: count, execEventsLost: count, execRecordsPartial: count,
  baselineItemsDropped: count, baselineKeysEvicted: count, baselineReportDropped: count,
  execSource: oneOfOr(['', 'ebpf', 'netlink', 'scan']), execSourceReason: text, execRingLost: count, execUnjudged: count,
  execFakeContainer: count, execHostNamespace: count, execBatches: count, hostDocumentsRefused: count, hostDocumentRefusedPath: path,
  hostDocumentRefusedReason: oneOfOr(['', 'bytes', 'depth', 'alias-expansion']),
}) as fc.Arbitrary<unknown> as fc.Arbitrary<AgentStats__Output>;

const hello = fc.record({
  node: fc.constant('node-a'), agentVersion: text, epoch: oneOfOr(['epoch-1', 'e', 'x'.repeat(64)]),
  host: fc.option(fc.record({
    os: text, kernel: text, arch: text, cpus: count, memoryBytes: count, uptimeSeconds: count, kubeletVersion: text,
    certificates: fc.array(fc.record({ path: path, notAfterMs: fc.oneof(
      { weight: V, arbitrary: fc.integer({ min: 1, max: END_OF_9999 }) }, { weight: 2, arbitrary: fc.constantFrom(...EDGE_TIMES) },
      { weight: 1, arbitrary: anyNumber }) }), { maxLength: 3 }),
  })),
  baselineVersion: count, stats: fc.option(stats), hostBaselineKey: oneOfOr(['', 'host/worker', 'host/control-plane']),
}) as fc.Arbitrary<unknown> as fc.Arbitrary<Hello__Output>;

/** Benchmark references: none (an agent up to 0.2.x), valid ones, or anything, past the bound too. */
const validReference = fc.constantFrom('cis-1.12:4.2.1', 'cis-1.12:1.1.21', 'cis-eks-1.5:3.1.1', 'x:y');
const reference = fc.oneof({ weight: 8 * V, arbitrary: validReference }, { weight: 1, arbitrary: fc.constantFrom(':1', 'cis-1.12:', 'cis 1.12:1') }, { weight: 1, arbitrary: anyString });
const result = fc.record({
  checkId, cis: text, title: text, category, subject, status: resultStatus, severity, scored: fc.boolean(), actual: text, expected: text,
  source: oneOfOr(['', ...SOURCES]), sourceFile: text, reason: text, remediation: text, occurrences: count,
  references: fc.oneof({ weight: 2 * V, arbitrary: fc.constant([]) }, { weight: 2 * V, arbitrary: fc.uniqueArray(reference, { maxLength: 3 }) },
    { weight: 1, arbitrary: fc.constant(['cis-1.12:4.2.1', 'cis-1.12:4.2.1']) },
    { weight: 1, arbitrary: fc.uniqueArray(fc.integer({ min: 0, max: 99 }).map((n) => `cis-1.12:4.2.${n}`), { minLength: 15, maxLength: 18 }) }),
});
const scan = fc.record({
  sequence: count, node: fc.constantFrom('', 'node-a'), scannedAtMs: anyTime,
  // Mostly a benchmark name (or none: an agent up to 0.2.x), sometimes anything.
  benchmark: fc.oneof({ weight: V, arbitrary: fc.constantFrom('', 'cis-1.12', 'cis-eks-1.7', 'k3s-cis-1.8') }, { weight: 1, arbitrary: text }),
  scope: fc.array(checkId, { maxLength: 4 }), results: fc.array(result, { maxLength: 5 }), trigger: text,
}) as fc.Arbitrary<unknown> as fc.Arbitrary<ScanReport__Output>;

/** A list field: mostly within its bound, sometimes past it. */
const list = <T>(item: fc.Arbitrary<T>, bound: number) => fc.oneof(
  { weight: V, arbitrary: fc.array(item, { maxLength: Math.min(bound, 4) }) }, { weight: 1, arbitrary: fc.array(item, { minLength: bound - 1, maxLength: bound + 1 }) });
/** A nested message: unset (null), or set. */
const nestedOr = <T>(set: fc.Arbitrary<T>) => fc.oneof(fc.constant(null), set);
/** Finding.process (agent.proto's ProcessDetail), as the decoder gives it. */
const processDetail = fc.record({
  baseline: key, exe: path, exeDeleted: fc.boolean(), pid: count, ppid: count, parents: list(path, PROCESS_DETAIL_LIMITS.parents), uid: count,
  user: text, cmdline: text,
  container: nestedOr(fc.record({ id: fc.oneof({ weight: V, arbitrary: fc.constant('c'.repeat(64)) }, { weight: 1, arbitrary: anyString }), name: text, runtime: oneOfOr(['containerd', 'docker', 'unknown']) })),
  pod: text, podUid: text, namespace: text,
  workload: nestedOr(fc.record({ kind: oneOfOr(['Deployment', 'DaemonSet', 'Pod']), name: oneOfOr(['web', 'db']), source: oneOfOr(['pod-name', 'collector']) })),
  startedAtMs: anyTime, partial: fc.boolean(), missing: list(oneOfOr(['cmdline', 'status', 'exe']), PROCESS_DETAIL_LIMITS.missing),
  kernel: nestedOr(fc.record({
    filename: path, ino: count, dev: count, nlink: count, fsKind: oneOfOr(['memfd', 'tmpfs', 'overlay', 'ext4']), cgroupId: count, mntNs: count, pidNs: count,
    uid: count, gid: count, egid: count, comm: text,
  })),
  fakeContainer: nestedOr(fc.record({ cgroupPath: path, id: text, reason: text })),
});
/** A SHA-256 as agents write it, or nearly (upper case, a character short or long, not hex), or any string. */
const sha256 = fc.oneof(
  { weight: V, arbitrary: fc.stringMatching(/^[0-9a-f]{64}$/) },
  { weight: 1, arbitrary: fc.constantFrom('A'.repeat(64), 'a'.repeat(63), 'a'.repeat(65), 'g'.repeat(64), ` ${'a'.repeat(63)}`) },
  { weight: 1, arbitrary: anyString },
);
/** ProcessDetail.identity: hashed, or why it could not be; now and then anything. */
const identity = fc.oneof(
  { weight: V, arbitrary: fc.oneof(
    fc.record({ sha256, size: count, error: fc.constant(''), errorDetail: fc.constant(''), baselineSha256: list(sha256, PROCESS_DETAIL_LIMITS.baselineSha256),
      vouchedBy: oneOfOr(['', 'dpkg:bash', 'dpkg:libc6:amd64', 'rpm:coreutils']), notVouched: oneOfOr(['', 'not-owned', 'digest-differs', 'no-database']) }),
    fc.record({ sha256: fc.constant(''), size: count, error: oneOfOr(IDENTITY_ERRORS), errorDetail: text, baselineSha256: list(sha256, PROCESS_DETAIL_LIMITS.baselineSha256),
      vouchedBy: fc.constant(''), notVouched: fc.constant('') }),
  ) },
  { weight: 1, arbitrary: fc.record({ sha256: oneOfOr(['', 'a'.repeat(64)]), size: count, error: oneOfOr(['', ...IDENTITY_ERRORS]), errorDetail: text,
    baselineSha256: fc.array(anyString, { maxLength: 3 }), vouchedBy: anyString, notVouched: anyString }) },
);
/** One standard descriptor: a socket with its family, something else without, or anything. */
const stdio = fc.oneof(
  { weight: V, arbitrary: fc.oneof(fc.record({ kind: fc.constant('socket'), family: oneOfOr(['', ...STDIO_FAMILIES]) }),
    fc.record({ kind: oneOfOr(STDIO_KINDS.filter((k) => k !== 'socket')), family: fc.constant('') })) },
  { weight: 1, arbitrary: fc.record({ kind: anyString, family: anyString }) },
);
const context = fc.record({
  stdio: fc.oneof({ weight: V, arbitrary: fc.array(stdio, { minLength: 3, maxLength: 3 }) }, { weight: 1, arbitrary: fc.array(stdio, { maxLength: 5 }) }),
  interpreter: oneOfOr(['', 'bash', 'python3']), inlineFlag: oneOfOr(['', '-c', '-e']), loader: oneOfOr(['', '/lib64/ld-linux-x86-64.so.2']), loadedProgram: path,
});
/** ProcessDetail.effective (unset, or a uid with its user's name). */
const effective = fc.oneof(
  { weight: V, arbitrary: fc.constant({ effective: null }) },
  { weight: V, arbitrary: fc.record({ effective: fc.record({ uid: count, user: oneOfOr(['', 'root', 'nobody']) }) }) },
  { weight: 1, arbitrary: fc.record({ effective: fc.record({ uid: count, user: text }) }) },
);
const processDetailNow = fc.tuple(processDetail, nestedOr(identity), nestedOr(context), effective)
  .map(([p, id, cx, eu]) => ({ ...p, identity: id, context: cx, ...eu }));

/** A finding as an agent 0.1.0 sends it (detail_json), or as a later one sends a process finding (the typed detail). */
const finding = fc.oneof(
  fc.record({
    checkId, subject, title: text, category, severity, status: findingStatus, observedAtMs: anyTime, occurrences: count,
    seen: oneOfOr(['', 'event', 'scan']), remediation: text, detailJson, process: fc.constant(null),
  }),
  fc.record({
    checkId: oneOfOr(PROCESS_DETAIL_CHECK_IDS), subject, title: text, category: oneOfOr(['process']), severity, status: findingStatus,
    observedAtMs: anyTime, occurrences: count, seen: oneOfOr(['', 'event', 'scan']), remediation: text,
    detailJson: fc.oneof({ weight: V, arbitrary: fc.constant('') }, { weight: 1, arbitrary: detailJson }), process: processDetailNow,
  }),
);
const batch = fc.record({
  sequence: count, node: fc.constantFrom('', 'node-a'), findings: fc.array(finding, { maxLength: 5 }),
}) as fc.Arbitrary<unknown> as fc.Arbitrary<FindingBatch__Output>;

/** BaselineItem.digests[i] (ItemDigest). */
const itemDigest = fc.oneof(
  { weight: V, arbitrary: fc.record({
    sha256, source: oneOfOr(DIGEST_SOURCES), image: oneOfOr(['', 'registry.example/shop/web:1.27', `r/${'x'.repeat(510)}`, `r/${'x'.repeat(511)}`]),
    firstSeenMs: fc.oneof(fc.constant(0), anyTime),
  }) },
  { weight: 1, arbitrary: fc.constantFrom(null, 'digest') },
);

const baselineReport = fc.record({
  baselineVersion: count,
  baselines: fc.array(fc.record({
    key, state: enumOr(['BASELINE_STATE_LEARNING', 'BASELINE_STATE_LOCKED'], 'BASELINE_STATE_UNSPECIFIED'),
    // Any time a window can end (shown only), sometimes one that is not a time.
    learnUntilMs: fc.oneof({ weight: V, arbitrary: fc.integer({ min: -10 * YEAR, max: 10 * YEAR }).map((d) => NOW + d) }, { weight: 1, arbitrary: anyTime }),
    version: count, lockedBy: oneOfOr(['', 'window', 'operator']),
    items: fc.array(fc.record({
      path, source: enumOr(['ITEM_SOURCE_LEARNED', 'ITEM_SOURCE_STARTUP', 'ITEM_SOURCE_OPERATOR'], 'ITEM_SOURCE_UNSPECIFIED'), firstSeenMs: fc.oneof(fc.constant(0), anyTime),
      digests: list(itemDigest, 8), anyContent: fc.oneof({ weight: V, arbitrary: fc.boolean() }, { weight: 1, arbitrary: fc.constantFrom('yes', 1, null) }),
    }), { maxLength: 4 }),
    removed: fc.array(path, { maxLength: 2 }),
  }), { maxLength: 3 }),
}) as fc.Arbitrary<unknown> as fc.Arbitrary<BaselineReport__Output>;

type Message =
  | { kind: 'hello'; body: Hello__Output } | { kind: 'heartbeat'; body: AgentStats__Output } | { kind: 'scan'; body: ScanReport__Output }
  | { kind: 'batch'; body: FindingBatch__Output } | { kind: 'baselineReport'; body: BaselineReport__Output };

const message: fc.Arbitrary<Message> = fc.oneof(
  { weight: 1, arbitrary: hello.map((body) => ({ kind: 'hello' as const, body })) },
  { weight: 1, arbitrary: stats.map((body) => ({ kind: 'heartbeat' as const, body })) },
  { weight: 3, arbitrary: scan.map((body) => ({ kind: 'scan' as const, body })) },
  { weight: 3, arbitrary: batch.map((body) => ({ kind: 'batch' as const, body })) },
  { weight: 2, arbitrary: baselineReport.map((body) => ({ kind: 'baselineReport' as const, body })) },
);

/** Validates as the agent service does; undefined when refused with InvalidMessage (anything else is thrown). */
function validate(m: Message, now: number) {
  try {
    switch (m.kind) {
      case 'hello': return { kind: m.kind, hello: helloFromWire(m.body, 'node-a', now), stats: statsFromWire(m.body.stats).stats } as const;
      case 'heartbeat': return { kind: m.kind, stats: statsFromWire(m.body).stats } as const;
      case 'scan': return { kind: m.kind, scan: scanFromWire(m.body, 'node-a', 'epoch-p', now) } as const;
      case 'batch': return { kind: m.kind, batch: batchFromWire(m.body, 'node-a', 'epoch-p', now) } as const;
      case 'baselineReport': return { kind: m.kind, report: baselineReportFromWire(m.body, now) } as const;
    }
  } catch (err) {
    if (err instanceof InvalidMessage) return undefined;
    throw new Error(`${m.kind}: ${(err as Error).constructor.name}: ${(err as Error).message}`);
  }
}

test('property: every generated message is accepted or refused with InvalidMessage, never another exception', async (t) => {
  let accepted = 0;
  await checkProperty(t, fc.property(message, fc.oneof(fc.constant(NOW), anyTime.filter((n) => Number.isSafeInteger(n) && n > 0 && n < 8e15)), (m, now) => {
    if (validate(m, now)) accepted++;
    return true;
  }), 3000);
  t.true(accepted > 300, `enough messages were accepted to mean something (${accepted})`);
});

test('property: an accepted typed process detail is stored as the same detail sent as detail_json', async (t) => {
  let typed = 0;
  const typedFinding = finding.filter((f) => (f as { process: unknown }).process !== null) as fc.Arbitrary<unknown> as fc.Arbitrary<FindingBatch__Output['findings'][number]>;
  await checkProperty(t, fc.property(typedFinding, (f) => {
    const one = (x: unknown) => ({ sequence: 1, node: '', findings: [x] }) as unknown as FindingBatch__Output;
    let stored: string;
    try {
      stored = batchFromWire(one(f), 'node-a', 'epoch-p', NOW).findings[0]!.detail;
    } catch (err) {
      if (err instanceof InvalidMessage) return true;
      throw err;
    }
    typed++;
    const legacy = asDetailJson({ ...f, seen: f.seen || 'scan' } as WireFinding);
    return batchFromWire(one({ ...legacy, process: null }), 'node-a', 'epoch-p', NOW).findings[0]!.detail === stored;
  }), 1000);
  t.true(typed > 100, `enough typed details were accepted to mean something (${typed})`);
});

test('property: the new fields (identity, effective uid, context; item digests) are accepted or refused with an InvalidMessage naming a field of theirs', async (t) => {
  const seen = { identity: 0, context: 0, euid: 0, digests: 0, refused: 0 };
  const one = (x: unknown) => ({ sequence: 1, node: '', findings: [x] }) as unknown as FindingBatch__Output;
  const typed = finding.filter((f) => (f as { process: unknown }).process !== null);
  const named = (err: unknown, re: RegExp): boolean => {
    if (!(err instanceof InvalidMessage)) throw err;
    seen.refused++;
    return err.code === 'INVALID_ARGUMENT' && err.message.length > 0 && (re.test(err.message) || !/\.(identity|context|effective|digests)/.test(err.message));
  };
  await checkProperty(t, fc.property(typed, (f) => {
    try {
      const d = JSON.parse(batchFromWire(one(f), 'node-a', 'epoch-p', NOW).findings[0]!.detail) as Record<string, any>;
      if (d.identity) seen.identity++;
      if (d.context) { seen.context++; if (d.context.stdio.length !== 3) return false; }
      if ('euid' in d) { seen.euid++; if (!Number.isSafeInteger(d.euid) || d.euid < 0 || d.euid > 2 ** 32 - 1) return false; }
      if (d.identity && !(d.identity.sha256 === '' ? d.identity.error !== '' : /^[0-9a-f]{64}$/.test(d.identity.sha256) && d.identity.error === '')) return false;
      return true;
    } catch (err) {
      return named(err, /process\.(identity|context|effective)/);
    }
  }), 2000);
  await checkProperty(t, fc.property(baselineReport, (r) => {
    try {
      for (const b of baselineReportFromWire(r, NOW).baselines) {
        // What the node says of its learning window (GET /nodes hostLearning): a time or unset, and how it locked.
        if (!['', 'window', 'operator'].includes(b.lockedBy) || !Number.isSafeInteger(b.learnUntil) || b.learnUntil < 0) return false;
        for (const i of b.items) {
          if ((i.digests?.length ?? 0) > 8) return false;
          for (const d of i.digests ?? []) {
            seen.digests++;
            if (!/^[0-9a-f]{64}$/.test(d.sha256) || !(DIGEST_SOURCES as readonly string[]).includes(d.source) || d.image.length > 512) return false;
            if (d.firstSeen !== 0 && (d.firstSeen < 1 || d.firstSeen > NOW + HOUR)) return false;
          }
        }
      }
      return true;
    } catch (err) {
      return named(err, /items\[\d+\]\.(digests|anyContent)|\.(learnUntilMs|lockedBy)/);
    }
  }), 2000);
  t.log(seen);
  for (const [k, n] of Object.entries(seen)) t.true(n > 50, `enough ${k} to mean something (${n})`);
});

// ---------------------------------------------------------------------------------------

/** The API over a new store of `backend`, closed when the test ends. */
async function apiOn(t: ExecutionContext, backend: Backend): Promise<TestApi> {
  const api = await buildTestApi({ now: () => NOW, store: await backend.open(t) });
  t.teardown(() => api.close());
  // The node exists from the start, so that GET /nodes/node-a is a read, not a 404.
  await api.pipeline.hello(helloFromWire({ node: 'node-a', agentVersion: 't', epoch: 'epoch-p', host: null, baselineVersion: 0, stats: null, hostBaselineKey: '' }, 'node-a', NOW), statsFromWire(null).stats);
  return api;
}

const READS = [
  '/api/v1/findings?limit=1000', '/api/v1/findings?state=resolved&limit=1000', '/api/v1/findings?since=1970-01-01T00:00:00Z&limit=5',
  '/api/v1/processes/unexpected?limit=1000', '/api/v1/processes/unexpected?state=resolved', '/api/v1/baselines?limit=100',
  '/api/v1/nodes', '/api/v1/nodes?sort=certExpiry', '/api/v1/nodes?stale=true', '/api/v1/nodes/node-a', '/api/v1/summary',
  '/api/v1/summary?state=resolved&top=100', '/api/v1/audit', '/api/v1/webhooks/deliveries',
];

storeTest('property: whatever is accepted commits through the real pipeline, and every read route still answers 200', async (t, backend) => {
  const api = await apiOn(t, backend);
  let sequence = 0;
  let committed = 0;
  // The runs share one database (a fresh one per run costs 50 ms), so a row that breaks reads
  // breaks every later run too, and shrinking would end at a run that merely came after it.
  // The first failure is kept with what was committed in its run, and later runs pass over.
  let broken: string | undefined;
  await checkProperty(t, fc.asyncProperty(fc.array(message, { minLength: 1, maxLength: 6 }), async (messages) => {
    if (broken) return true;
    const accepted: Message[] = [];
    try {
      for (const m of messages) {
        const v = validate(m, NOW);
        if (!v) continue;
        accepted.push(m);
        // Sequences are made unique so that each accepted message is a new commit, not a duplicate.
        if (v.kind === 'hello') await api.pipeline.hello(v.hello, v.stats);
        else if (v.kind === 'heartbeat') await api.pipeline.heartbeat('node-a', v.stats);
        else if (v.kind === 'scan') await api.pipeline.scan({ ...v.scan, sequence: ++sequence });
        else if (v.kind === 'batch') await api.pipeline.batch({ ...v.batch, sequence: ++sequence });
        else await api.baselines.report('node-a', v.report.baselines);
        committed++;
      }
      const ids = (JSON.parse((await api.get('/api/v1/findings?limit=1000')).body) as { items: Array<{ id: string }> }).items.map((f) => f.id);
      for (const url of [...READS, ...ids.slice(-3).map((id) => `/api/v1/findings/${id}`)]) {
        const res = await api.get(url);
        if (res.status !== 200) throw new Error(`GET ${url}: ${res.status} ${res.body.slice(0, 300)}`);
      }
    } catch (err) {
      broken = `${(err as Error).message}\nafter committing: ${JSON.stringify(accepted).slice(0, 4000)}`;
      return false;
    }
    return true;
    // 240 runs: results may carry benchmark references now, and a refused one refuses its report.
  }), 240);
  t.is(broken, undefined, 'the first read (or commit) that failed, and what its run committed');
  t.true(committed > 200, `enough accepted messages were committed to mean something (${committed})`);
});

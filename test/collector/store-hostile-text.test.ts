// An agent's text holding what PostgreSQL cannot store, on both backends (test/helpers/stores.ts).
//   - A finding's detail is JSON text, which may escape characters jsonb cannot hold (NUL, a
//     lone surrogate half): it commits with the other findings of its unit, and every read (the
//     finding, its detail, the list, the unexpected processes, the contents an allow takes)
//     gives the value the JSON text means, as SQLite does (pg/detail.ts).
//   - Plain text (a title, a subject, a node's stats) may hold NUL itself, which no PostgreSQL
//     text can: the message commits, NUL read back as U+FFFD there (pg/sql.ts), and the same
//     subject finds its finding again. A node's certificates, JSON a query walks, hold NUL and
//     lone surrogate halves as U+FFFD there (pg/jsonb.ts).
import { createCommitStage } from '../../collector/pipeline/commit.js';
import type { NodeStats } from '../../collector/store/store.js';
import { processSubject } from '../../proto/baseline-key.js';
import { fingerprint } from '../../proto/fingerprint.js';
import { storeTest } from '../helpers/stores.js';

const T = Date.parse('2026-06-01T00:00:00Z');
const SHA = 'c'.repeat(64);

// The texts as an agent sends them: `\u0000` and `\udfff` are escapes in the JSON text.
const DETAILS: Record<string, string> = {
  '/usr/bin/nc': String.raw`{"baseline":"host","exe":"/usr/bin/nc","cmdline":"nc -e \u0000","identity":{"sha256":"${SHA}"}}`,
  '/usr/bin/lone': String.raw`{"baseline":"host","exe":"/usr/bin/lone","cmdline":"\udfff","user":"\ud800x","\udc00":1}`,
  '/usr/bin/pair': String.raw`{"baseline":"host","exe":"/usr/bin/pair","cmdline":"\ud83d\ude42 \u00e9"}`,
  '/usr/bin/escaped': String.raw`{"baseline":"host","exe":"/usr/bin/escaped","cmdline":"\\u0000 is six characters"}`,
  '/usr/bin/plain': '{"baseline":"host","exe":"/usr/bin/plain","cmdline":"plain"}',
};
const EXES = Object.keys(DETAILS);
const idOf = (exe: string): string => fingerprint('node-a', 'proc-unexpected', processSubject('host', exe));

storeTest('a detail holding escapes jsonb refuses (NUL, a lone surrogate half) commits with its unit and reads back as the value its JSON text means', async (t, backend) => {
  const store = await backend.open(t);
  // One unit writes them all (as a report's batch would), the plain one last.
  await store.unit(async (u) => {
    for (const exe of EXES) {
      await u.findings.save(undefined, {
        id: idOf(exe), node: 'node-a', checkId: 'proc-unexpected', subject: processSubject('host', exe), state: 'open', severity: 'high',
        firstSeen: T, lastSeen: T, count: 1, resolvedAt: null, suppressedReason: null, suppressedUntil: null, suppressedBy: null, suppressedAt: null,
        fields: {
          cis: '', references: [], title: 'Unexpected process', category: 'process', severity: 'high', status: 'fail', scored: false, actual: '',
          expected: '', source: '', sourceFile: '', reason: '', remediation: '', detail: DETAILS[exe]!, seen: 'event',
        },
      }, T);
    }
  });

  for (const exe of EXES) {
    const want = JSON.parse(DETAILS[exe]!) as unknown;
    t.deepEqual((await store.findings.get(idOf(exe)))?.detail, want, `${exe}: get`);
    t.deepEqual((await store.findings.detail(idOf(exe)))?.detail, want, `${exe}: detail`);
  }
  const listed = new Map((await store.findings.list({}, 100)).items.map((f) => [f.id, f.detail]));
  t.deepEqual(EXES.map((exe) => listed.get(idOf(exe))), EXES.map((exe) => JSON.parse(DETAILS[exe]!) as unknown), 'the list');

  const processes = new Map((await store.processes.unexpected({ state: 'open' }, 100, 0)).items.map((p) => [p.executable, p]));
  t.deepEqual(EXES.map((exe) => processes.get(exe)?.cmdline), ['nc -e \u0000', '\udfff', '\u{1F642} \u00e9', '\\u0000 is six characters', 'plain']);
  t.is(processes.get('/usr/bin/lone')?.user, '\ud800x');
  t.deepEqual([...(await store.processes.contentsSeen('host', ['/usr/bin/nc', '/usr/bin/plain'])).entries()], [['/usr/bin/nc', [SHA]]], 'the content an allow takes');
});

const STATS: NodeStats = {
  spoolEntries: 0, spoolBytes: 0, spoolDropped: 0, rejected: 0, execCoverage: '', execSource: '', execSourceReason: '', processEventsCapped: 0,
  processEventsLost: 0, execEventsLost: 0, execRingLost: 0, execUnjudged: 0, execRecordsPartial: 0, execFakeContainer: 0, execHostNamespace: 0,
  execBatches: 0, baselineItemsDropped: 0, baselineKeysEvicted: 0, baselineReportDropped: 0, hostDocumentsRefused: 1,
  hostDocumentRefusedPath: '/etc/\u0000kubelet', hostDocumentRefusedReason: 'too-large', execIdentityFailed: 0, execIdentityFailedReason: '',
  execEvents: 0, lastScanDurationMs: 0, exposureWalkPidLimitHits: 0, exposureWalkTimeLimitHits: 0, exposureWalkFdLimitHits: 0,
  exposureWalkUnreadable: 0, exposureRowsRefused: 0, exposureListenersDropped: 0, exposureNativeReader: false,
};

storeTest('text holding NUL (a title, a subject, a node\'s stats and certificates) commits; NUL reads back as SQLite keeps it or as U+FFFD on PostgreSQL, and the same subject is the same finding', async (t, backend) => {
  const store = await backend.open(t);
  const commit = createCommitStage(store, { maxOpenFindingsPerNode: 100 });
  const nul = backend.name === 'sqlite' ? '\u0000' : '\uFFFD';
  await commit.hello({
    node: 'node-a', agentVersion: 't', epoch: 'e', os: 'Linux\u0000', kernel: '', arch: '', kubeletVersion: '', cpus: 1, memoryBytes: 1, uptimeSeconds: 1,
    certificates: [{ path: '/etc/\u0000.crt', notAfter: new Date(T + 86_400_000).toISOString() }, { path: '/etc/\udfff.crt', notAfter: new Date(T + 3_600_000).toISOString() }],
  }, STATS, T);
  const node = await store.nodes.get('node-a', T, 60_000);
  t.is(node?.os, `Linux${nul}`);
  t.is(node?.hostDocumentsRefused.lastPath, `/etc/${nul}kubelet`);
  // The certificates are JSON a query walks (their earliest expiry): on PostgreSQL a lone surrogate half is U+FFFD too.
  t.deepEqual(node?.certificates.map((c) => c.path), [backend.name === 'sqlite' ? '/etc/\udfff.crt' : '/etc/\uFFFD.crt', `/etc/${nul}.crt`], 'soonest first');
  t.like(node?.certificatesExpireFirst, { notAfter: new Date(T + 3_600_000).toISOString() });

  const subject = processSubject('host', '/bin/\u0000sh');
  const batch = (sequence: number) => commit.batch({
    node: 'node-a', epoch: 'e', sequence, findings: [{
      checkId: 'proc-unexpected', subject, title: 'a\u0000b', category: 'process', severity: 'high', status: 'fail', observedAt: T + sequence,
      occurrences: 1, seen: 'event', remediation: 'r\u0000', detail: '{}',
    }],
  }, T + sequence);
  await batch(1);
  await batch(2);
  const id = fingerprint('node-a', 'proc-unexpected', subject);
  t.like(await store.findings.get(id), { subject: subject.replace('\u0000', nul), title: `a${nul}b`, count: 2 });
  t.is((await store.findings.list({}, 10)).items.length, 1, 'the second report is an occurrence of the first finding');
});

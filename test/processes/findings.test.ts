// proc-unexpected findings: command lines as they may leave the node, subjects, and how
// repeats collapse and are rate-limited with every held-back occurrence counted.
import test from 'ava';
import { escapeBounded, formatCmdline, formatPath } from '../../agent/processes/cmdline.js';
import { createFindingSink, PROC_FAKE_CONTAINER_CGROUP, subjectFor, unexpectedFinding, MAX_SUBJECT_CHARS, type ProcessDetail } from '../../agent/processes/findings.js';
import { createTokenBuckets } from '../../agent/processes/rate-limit.js';
import type { WireFinding } from '../../proto/load.js';
import { findingDetail } from '../helpers/process-finding.js';

function detail(over: Partial<ProcessDetail> = {}): ProcessDetail {
  return {
    baseline: 'shop/Deployment/web/nginx', exe: '/usr/bin/curl', exeDeleted: false, pid: 4242, ppid: 4200, parents: ['/bin/dash', '/usr/sbin/nginx'],
    uid: 101, user: '101', cmdline: 'curl http://x', container: { id: 'a'.repeat(64), name: 'nginx', runtime: 'containerd' },
    pod: 'web-7d4b9c8f6d-x2kzq', podUid: 'u', namespace: 'shop', workload: { kind: 'Deployment', name: 'web', source: 'pod-name' },
    startedAtMs: 1, seen: 'scan', partial: false, missing: [], ...over,
  };
}

test('command lines: secrets redacted, control characters escaped, length bounded', (t) => {
  t.is(formatCmdline(['curl', '--password=hunter2', 'https://bob:pw@example.com/x']), 'curl --password=<redacted> https://bob:<redacted>@example.com/x');
  t.is(formatCmdline(['mysql', '--password', 'hunter2', '-h', 'db']), 'mysql --password <redacted> -h db');
  t.is(formatCmdline(['sh', '-c', 'echo hi\nrm -rf /\x1b[2J\u2028x\\y']), 'sh -c echo hi\\nrm -rf /\\x1b[2J\\u2028x\\\\y');
  const long = formatCmdline(['x', 'a'.repeat(5000)]);
  t.is(long.length, 2048);
  t.true(long.endsWith('...'));
  t.is(formatCmdline(['short'], { truncated: true }), 'short...', 'a cmdline read only in part says so');
});

test('a cut never splits an escape or a surrogate pair', (t) => {
  t.is(escapeBounded('ab\ncdef', 6), 'ab...');
  t.is(escapeBounded('ab\ncdef', 7), 'ab\\n...');
  t.is(escapeBounded('ab😀cdef', 6), 'ab...');
  t.is(escapeBounded('ab😀cdef', 7), 'ab😀...');
  t.is(escapeBounded('ab\ncd', 6), 'ab\\ncd', 'fits exactly: not cut');
  t.is(escapeBounded('abc', 3), 'abc');
  t.is(formatPath('/tmp/evil\nname'), '/tmp/evil\\nname');
});

test('the subject is <baseline key>:<executable>, and stays within the collector bound', (t) => {
  t.is(subjectFor('host/worker', '/usr/bin/nc'), 'host/worker:/usr/bin/nc');
  t.is(subjectFor('host/control-plane', '/usr/local/bin/etcd'), 'host/control-plane:/usr/local/bin/etcd');
  const long = subjectFor('host/worker', `/${'d'.repeat(2000)}`);
  t.is(long.length, MAX_SUBJECT_CHARS);
  t.not(long, subjectFor('host/worker', `/${'d'.repeat(1999)}e`), 'distinct long paths keep distinct subjects');
  const f = unexpectedFinding(detail(), 3, 1234);
  t.like(f, {
    checkId: 'proc-unexpected', subject: 'shop/Deployment/web/nginx:/usr/bin/curl', category: 'process', severity: 'SEVERITY_HIGH',
    status: 'STATUS_FAIL', occurrences: 3, observedAtMs: 1234, seen: 'scan',
  });
  const d = findingDetail(f);
  for (const field of ['pid', 'parents', 'user', 'cmdline', 'container', 'pod', 'namespace', 'workload', 'seen'] as const) t.true(field in d, field);
});

test('token buckets: a burst, then one per refill period; the least recently used key is forgotten when full', (t) => {
  const b = createTokenBuckets({ burst: 2, refillMs: 1000, maxKeys: 2 });
  t.true(b.take('a', 0));
  t.true(b.take('a', 0));
  t.false(b.take('a', 500));
  t.true(b.take('a', 1000));
  t.false(b.take('a', 1000));
  b.take('b', 1000);
  b.take('c', 1000);
  t.is(b.size, 2);
  t.is(b.evicted, 1);
  t.true(b.available('a', 1000), 'forgotten: starts full again');
});

test('repeats collapse into one finding with a count; capped occurrences are counted and delivered later', (t) => {
  const sent: WireFinding[][] = [];
  const sink = createFindingSink({ burst: 2, refillMs: 60_000, maxKeys: 100 }, { emit: (f) => sent.push(f) });
  for (let i = 0; i < 5; i++) sink.record(detail({ pid: 100 + i, seen: 'event' }), 0);
  t.is(sink.flush(0), 1);
  t.is(sent.flat().length, 1);
  t.like(sent[0]![0]!, { occurrences: 5, seen: 'event' });
  t.is(findingDetail(sent[0]![0]!).pid, 104, 'the detail is the latest process');
  sink.record(detail(), 1);
  t.is(sink.flush(1), 1, 'second token');
  // The bucket is empty now: occurrences wait, are counted, and go out with the next token.
  for (let i = 0; i < 7; i++) sink.record(detail(), 2);
  t.is(sink.flush(2), 0);
  t.like(sink.stats(), { observed: 13, emitted: 2, capped: 7, lost: 0, pending: 1 });
  t.is(sink.flush(60_002), 1);
  t.is(sent.flat().at(-1)!.occurrences, 7, 'the count stays exact');
  // Other executables have their own bucket.
  sink.record(detail({ exe: '/bin/nc' }), 3);
  t.is(sink.flush(3), 1);
});

test('an occurrence with a token is ready at once: flushReady sends the ready entries in one batch and leaves the capped ones to the periodic flush', (t) => {
  const sent: WireFinding[][] = [];
  const sink = createFindingSink({ burst: 1, refillMs: 60_000, maxKeys: 100 }, { emit: (f) => sent.push(f) });
  t.true(sink.record(detail({ pid: 1 }), 0), 'a token: ready');
  t.true(sink.record(detail({ pid: 2 }), 0), 'the same entry, still ready (the token is taken when it is sent)');
  t.true(sink.record(detail({ exe: '/bin/nc' }), 0));
  t.is(sink.flushReady(0), 2);
  t.is(sent.length, 1, 'one batch for everything judged in the turn');
  t.deepEqual(sent[0]!.map((f) => f.occurrences), [2, 1]);
  // The bucket of curl is empty now: the next occurrence is not ready, and only the periodic flush sends it, once a token is back.
  t.false(sink.record(detail({ pid: 3 }), 1));
  t.is(sink.flushReady(1), 0);
  t.like(sink.stats(), { capped: 1, pending: 1, emitted: 2 });
  t.is(sink.flush(60_001), 1);
  t.is(sent.flat().at(-1)!.occurrences, 1);
  t.is(sink.flushReady(60_001), 0, 'nothing is sent twice');
});

test('allowing an executable drops what is pending for it', (t) => {
  const sent: WireFinding[][] = [];
  const sink = createFindingSink({ burst: 1, refillMs: 60_000, maxKeys: 100 }, { emit: (f) => sent.push(f) });
  sink.record(detail(), 0);
  sink.flush(0);
  sink.record(detail(), 1);
  sink.allow('shop/Deployment/web/nginx', '/usr/bin/curl');
  t.is(sink.flush(120_000), 0);
  t.is(sent.flat().length, 1);
});

test('pending entries are bounded; occurrences lost to the bound are counted', (t) => {
  const sink = createFindingSink({ burst: 1, refillMs: 60_000, maxKeys: 2 }, { emit: () => undefined });
  sink.record(detail({ exe: '/a' }), 0);
  sink.record(detail({ exe: '/a' }), 0);
  sink.record(detail({ exe: '/b' }), 0);
  sink.record(detail({ exe: '/c' }), 0);
  t.like(sink.stats(), { lost: 2, pending: 2 });
});

test('a fake container cgroup is its own finding: one per cgroup with a count, beside the process\'s proc-unexpected; allowing the executable leaves it', (t) => {
  const out: WireFinding[] = [];
  const sink = createFindingSink({ burst: 10, refillMs: 1000, maxKeys: 16 }, { emit: (f) => out.push(...f) });
  const path = `/kubepods/besteffort/pod0f0f0f0f-1111-2222-3333-444444444444/${'fe'.repeat(32)}`;
  const fake = (pid: number, exe: string) => detail({ baseline: 'host/worker', container: null, namespace: '', pod: '', podUid: '', workload: null, pid, exe,
    fakeContainer: { cgroupPath: path, id: 'fe'.repeat(32), reason: 'no runtime bundle for this container id' } });
  sink.record(fake(1, '/tmp/a'), 0, PROC_FAKE_CONTAINER_CGROUP);
  sink.record(fake(2, '/tmp/b'), 0, PROC_FAKE_CONTAINER_CGROUP);
  sink.record(fake(2, '/tmp/b'), 0);
  sink.allow('host/worker', '/tmp/b');
  t.is(sink.flush(0), 1);
  t.is(out.length, 1);
  t.like(out[0], { checkId: 'proc-fake-container-cgroup', subject: `cgroup:${path}`, category: 'process', severity: 'SEVERITY_HIGH', occurrences: 2 });
  t.like(findingDetail(out[0]!), { exe: '/tmp/b', fakeContainer: { cgroupPath: path } });
  // A path past the subject bound is cut with a digest, as every subject is.
  sink.record({ ...fake(3, '/tmp/c'), fakeContainer: { cgroupPath: `/kubepods/${'x'.repeat(2000)}/${'fe'.repeat(32)}`, id: 'fe'.repeat(32), reason: 'r' } }, 0, PROC_FAKE_CONTAINER_CGROUP);
  sink.flush(0);
  t.true(out[1]!.subject!.length <= MAX_SUBJECT_CHARS);
});

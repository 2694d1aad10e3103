// A process finding's typed detail (Finding.process, agent.proto's ProcessDetail) over the real
// wire: the agent's own findings (agent/processes/findings.ts) sent typed by one node and as an
// agent 0.1.0's detail_json by another, stored and read back through the API as one detail;
// every field checked at ingest, a refusal naming the field.
import test from 'ava';
import * as grpc from '@grpc/grpc-js';
import { processFinding, PROC_FAKE_CONTAINER_CGROUP, PROC_UNEXPECTED, type ProcessCheck, type ProcessDetail } from '../../agent/processes/findings.js';
import { batchFromWire, InvalidMessage, PROCESS_DETAIL_LIMITS } from '../../collector/ingest/validate.js';
import { hostKeyOf, workloadKeyOf } from '../../proto/baseline-key.js';
import { PROC_MODIFIED_BINARY_CHECK } from '../../proto/process-checks.js';
import type { FindingBatch__Output, WireFinding } from '../../proto/load.js';
import { connect, fp, ok, withCollector } from '../helpers/agent-session.js';
import { asDetailJson, processDetail } from '../helpers/process-finding.js';

const WEB = workloadKeyOf({ namespace: 'shop', kind: 'Deployment', name: 'web', container: 'nginx' });
const HOST = hostKeyOf('worker');
const FAKE_PATH = `/kubepods/besteffort/pod0f0f0f0f-1111-2222-3333-444444444444/${'fe'.repeat(32)}`;
const KERNEL: NonNullable<ProcessDetail['kernel']> = {
  filename: '/proc/self/fd/5', ino: 912_345, dev: 2049, nlink: 0, fsKind: 'memfd', cgroupId: 7_340_032, mntNs: 4_026_531_841,
  pidNs: 4_026_531_836, uid: 0, gid: 0, egid: 0, comm: 'xmrig',
};

/** The processes of every kind a detail holds: in a pod with kernel facts, on the host, in a fake container cgroup. */
function findings(at: number): WireFinding[] {
  return [
    // A command line the agent did not redact (an old or hostile agent): the collector redacts it.
    processFinding(PROC_UNEXPECTED, processDetail(WEB, '/tmp/xmrig', { kernel: KERNEL, cmdline: '/tmp/xmrig --api-token=s3cr3t-value -o pool:443', seen: 'event' }), 3, at),
    // An executable whose path looks like a secret: identity, never redacted.
    processFinding(PROC_UNEXPECTED, processDetail(HOST, '/tmp/--password=hunter2', { pid: 777, ppid: 1, seen: 'scan', partial: true, missing: ['cmdline', 'status'] }), 1, at),
    processFinding(PROC_FAKE_CONTAINER_CGROUP, processDetail(HOST, '/tmp/b', {
      fakeContainer: { cgroupPath: FAKE_PATH, id: 'fe'.repeat(32), reason: 'no runtime bundle for this container id' },
    }), 2, at),
  ];
}

test('a typed process detail is stored and read back through the API as the same detail an agent 0.1.0 sent as detail_json', (t) => withCollector(async (tc) => {
  const at = Date.now() - 1000;
  const typed = findings(at);
  for (const f of typed) {
    t.truthy(f.process, 'the agent sends the typed detail');
    t.is(f.detailJson, undefined, 'and not detail_json as well');
  }
  const a = await connect(tc, 'node-a');
  const b = await connect(tc, 'node-b');
  await a.batch(typed);
  await b.batch(typed.map(asDetailJson));
  for (const f of typed) {
    const viaTyped = await ok(tc, `/api/v1/findings/${fp('node-a', f.checkId!, f.subject!)}`);
    const viaJson = await ok(tc, `/api/v1/findings/${fp('node-b', f.checkId!, f.subject!)}`);
    t.deepEqual(viaTyped.detail, viaJson.detail, f.subject!);
    t.deepEqual(Object.keys(viaTyped.detail), Object.keys(viaJson.detail), 'the same keys in the same order');
    t.is(viaTyped.count, f.occurrences);
  }
  const xmrig = await ok(tc, `/api/v1/findings/${fp('node-a', 'proc-unexpected', typed[0]!.subject!)}`);
  t.is(xmrig.detail.cmdline, '/tmp/xmrig --api-token=<redacted> -o pool:443', 'the command line redacted at ingest');
  t.deepEqual(xmrig.detail.kernel, KERNEL);
  t.like(xmrig.detail, { seen: 'event', container: { id: 'c'.repeat(64), runtime: 'containerd' }, workload: { kind: 'Deployment', name: 'web', source: 'collector' } });
  const host = await ok(tc, `/api/v1/findings/${fp('node-a', 'proc-unexpected', typed[1]!.subject!)}`);
  t.like(host.detail, { exe: '/tmp/--password=hunter2', baseline: HOST, container: null, workload: null, seen: 'scan', partial: true, pid: 777 });
  t.false('kernel' in host.detail, 'no kernel facts: no kernel field, as before');
  t.false('fakeContainer' in host.detail);
  const fake = await ok(tc, `/api/v1/findings/${fp('node-a', 'proc-fake-container-cgroup', typed[2]!.subject!)}`);
  t.like(fake.detail, { exe: '/tmp/b', fakeContainer: { cgroupPath: FAKE_PATH, id: 'fe'.repeat(32) } });
  // The process view reads the typed detail as it read detail_json.
  const rows = (await ok<{ items: any[] }>(tc, '/api/v1/processes/unexpected')).items;
  const row = (node: string) => rows.find((r) => r.node === node && r.executable === '/tmp/xmrig');
  t.like(row('node-a'), { baseline: WEB, pid: 4242, namespace: 'shop', cmdline: '/tmp/xmrig --api-token=<redacted> -o pool:443' });
  t.deepEqual({ ...row('node-a'), node: '', id: '' }, { ...row('node-b'), node: '', id: '' });
  a.close();
  b.close();
}));

test('a typed detail that breaks a bound is refused over the wire with INVALID_ARGUMENT naming the field, and nothing is stored', (t) => withCollector(async (tc) => {
  const a = await connect(tc, 'node-a');
  const bad = processFinding(PROC_UNEXPECTED, processDetail(WEB, '/tmp/x', { parents: Array.from({ length: 17 }, (_, i) => `/p${i}`) }), 1, Date.now());
  a.stream.send({ findingBatch: { sequence: 1, findings: [bad] } });
  const [reply] = await a.stream.receive(1);
  t.is(reply?.ack?.code, grpc.status.INVALID_ARGUMENT);
  t.regex(reply?.ack?.message ?? '', /findingBatch\.findings\[0\]\.process\.parents has 17 entries; at most 16/);
  const res = await ok<{ items: any[] }>(tc, '/api/v1/findings?check=proc-unexpected');
  t.deepEqual(res.items, []);
  a.close();
}));

const NOW = Date.now();
const batchOf = (f: WireFinding) => ({ sequence: 1, node: '', findings: [{ detailJson: '', process: null, ...f }] }) as unknown as FindingBatch__Output;
const typedWith = (over: Record<string, unknown>, check: ProcessCheck = PROC_UNEXPECTED): WireFinding => {
  const f = processFinding(check, processDetail(WEB, '/tmp/x', { kernel: KERNEL }), 1, NOW);
  return { ...f, process: { ...f.process, ...over } };
};
const kernelWith = (over: Record<string, unknown>) => typedWith({ kernel: { ...KERNEL, ...over } });
const SHA = 'c0ffee'.repeat(10) + 'c0fe';
/** ProcessDetail.identity of a file that was hashed (agent.proto's ExecutableIdentity, every field present as decoded). */
const IDENTITY = { sha256: SHA, size: 1_234_567, error: '', errorDetail: '', baselineSha256: ['ab'.repeat(32)], vouchedBy: '', notVouched: 'not-owned' };
const identityWith = (over: Record<string, unknown>) => typedWith({ identity: { ...IDENTITY, ...over } });
const SOCKET_STDIO = [{ kind: 'socket', family: 'inet' }, { kind: 'socket', family: 'inet' }, { kind: 'pipe', family: '' }];
const CONTEXT = { stdio: SOCKET_STDIO, interpreter: 'bash', inlineFlag: '-c', loader: '', loadedProgram: '' };
const contextWith = (over: Record<string, unknown>) => typedWith({ context: { ...CONTEXT, ...over } });
const P = 'findingBatch.findings[0].process';

const REFUSALS: Array<[string, WireFinding, RegExp]> = [
  ['a baseline that is no baseline key', typedWith({ baseline: 'shop/web' }), new RegExp(`^${P.replace(/[[\].]/g, '\\$&')}\\.baseline "shop/web" is not a baseline key`)],
  ['no executable', typedWith({ exe: '' }), /process\.exe is required/],
  ['an executable past its bound', typedWith({ exe: `/${'a'.repeat(1024)}` }), /process\.exe is longer than 1024 characters/],
  ['a negative pid', typedWith({ pid: -1 }), /process\.pid must be a non-negative integer/],
  ['a fractional uid', typedWith({ uid: 0.5 }), /process\.uid must be a non-negative integer/],
  ['a start time that is no integer', typedWith({ startedAtMs: Number.NaN }), /process\.startedAtMs must be a non-negative integer/],
  ['too many parents', typedWith({ parents: Array.from({ length: PROCESS_DETAIL_LIMITS.parents + 1 }, () => '/bin/sh') }), /process\.parents has 17 entries/],
  ['a parent that is not a string', typedWith({ parents: ['/bin/sh', 42] }), /process\.parents\[1\] must be a string/],
  ['too many missing files', typedWith({ missing: Array.from({ length: PROCESS_DETAIL_LIMITS.missing + 1 }, () => 'cmdline') }), /process\.missing has 17 entries/],
  ['a command line past its bound', typedWith({ cmdline: 'x'.repeat(4097) }), /process\.cmdline is longer than 4096 characters/],
  ['a user past its bound', typedWith({ user: 'u'.repeat(257) }), /process\.user is longer than 256 characters/],
  ['a container without an id', typedWith({ container: { id: '', name: 'nginx', runtime: 'containerd' } }), /process\.container\.id is required/],
  ['a workload of an unknown source', typedWith({ workload: { kind: 'Deployment', name: 'web', source: 'guess' } }), /process\.workload\.source must be one of pod-name, collector/],
  ['a kernel inode past 2^53', kernelWith({ ino: 2 ** 64 }), /process\.kernel\.ino must be a non-negative integer/],
  ['a kernel comm past its bound', kernelWith({ comm: 'c'.repeat(65) }), /process\.kernel\.comm is longer than 64 characters/],
  ['a flag that is not a boolean', typedWith({ partial: 'yes' }), /process\.partial must be a boolean/],
  ['a nested field that is not a message', typedWith({ kernel: 'memfd' }), /process\.kernel must be a message/],
  ['a fake container finding without its cgroup', typedWith({ fakeContainer: null }, PROC_FAKE_CONTAINER_CGROUP), /process\.fakeContainer is required for proc-fake-container-cgroup/],
  ['a process detail on a check that is not a process check', { ...typedWith({}), checkId: 'cis-4.2.1', category: 'kubelet' }, /findings\[0\]\.process is only for the process checks \(proc-unexpected, proc-fake-container-cgroup, [a-z, -]+\), not cis-4\.2\.1/],
  ['an identity digest that is not 64 lowercase hex', identityWith({ sha256: SHA.toUpperCase() }), /process\.identity\.sha256 must be 64 lowercase hex characters or empty/],
  ['an identity digest one character short', identityWith({ sha256: SHA.slice(1) }), /process\.identity\.sha256 must be 64 lowercase hex/],
  ['an identity with neither a digest nor an error', identityWith({ sha256: '' }), /process\.identity has neither sha256 nor error/],
  ['an identity with both a digest and an error', identityWith({ error: 'gone' }), /process\.identity has both sha256 and error \(gone\)/],
  ['an identity error that is not a known code', identityWith({ sha256: '', error: 'deleted?' }), /process\.identity\.error "deleted\?" is not one of gone, too-large, not-regular, changed, unreadable, busy/],
  ['more baseline contents than an item holds', identityWith({ baselineSha256: Array.from({ length: 9 }, () => SHA) }), /process\.identity\.baselineSha256 has 9 entries; at most 8/],
  ['a baseline content that is no digest', identityWith({ baselineSha256: [SHA, 'nope'] }), /process\.identity\.baselineSha256\[1\] must be 64 lowercase hex characters$/],
  ['a package vouch without its manager', identityWith({ vouchedBy: 'bash' }), /process\.identity\.vouchedBy must be <package manager>:<package>/],
  ['a reason it was not vouched that is no code', identityWith({ notVouched: 'Not Owned' }), /process\.identity\.notVouched must be a reason code/],
  ['an error detail past its bound', identityWith({ sha256: '', error: 'unreadable', errorDetail: 'e'.repeat(1025) }), /process\.identity\.errorDetail is longer than 1024 characters/],
  ['an identity that is not a message', typedWith({ identity: SHA }), /process\.identity must be a message/],
  ['an effective uid past 32 bits', typedWith({ effective: { uid: 2 ** 32, user: '' } }), /process\.effective\.uid is larger than 4294967295/],
  ['a negative effective uid', typedWith({ effective: { uid: -1, user: '' } }), /process\.effective\.uid must be a non-negative integer/],
  ['an effective user that is not a message', typedWith({ effective: 'root' }), /process\.effective must be a message/],
  ['an effective user past its bound', typedWith({ effective: { uid: 0, user: 'r'.repeat(257) } }), /process\.effective\.user is longer than 256 characters/],
  ['a context with two standard descriptors', contextWith({ stdio: SOCKET_STDIO.slice(0, 2) }), /process\.context\.stdio has 2 entries; exactly 3 \(stdin, stdout, stderr\)/],
  ['a context with four standard descriptors', contextWith({ stdio: [...SOCKET_STDIO, { kind: 'file', family: '' }] }), /process\.context\.stdio has 4 entries; exactly 3/],
  ['a descriptor of an unknown kind', contextWith({ stdio: [{ kind: 'tty', family: '' }, ...SOCKET_STDIO.slice(1)] }), /process\.context\.stdio\[0\]\.kind "tty" is not one of none, socket, pipe, file, chardev, other, unknown/],
  ['a socket of an unknown family', contextWith({ stdio: [{ kind: 'socket', family: 'netlink' }, ...SOCKET_STDIO.slice(1)] }), /process\.context\.stdio\[0\]\.family "netlink" is not one of unix, inet, inet6, other/],
  ['a family on a descriptor that is no socket', contextWith({ stdio: [{ kind: 'pipe', family: 'inet' }, ...SOCKET_STDIO.slice(1)] }), /process\.context\.stdio\[0\]\.family is only for a socket, not pipe/],
  ['a descriptor that is not a message', contextWith({ stdio: [null, ...SOCKET_STDIO.slice(1)] }), /process\.context\.stdio\[0\] is required/],
  ['a loaded program past its bound', contextWith({ loader: '/lib64/ld-linux-x86-64.so.2', loadedProgram: `/${'p'.repeat(1024)}` }), /process\.context\.loadedProgram is longer than 1024 characters/],
  ['an inline flag past its bound', contextWith({ inlineFlag: '-'.repeat(33) }), /process\.context\.inlineFlag is longer than 32 characters/],
  ['both detail_json and process', { ...typedWith({}), detailJson: '{}' }, /findings\[0\] has both detailJson and process/],
  ['a detail past the bound of detail_json', typedWith({ parents: Array.from({ length: 16 }, () => `/${'p'.repeat(1020)}`) }),
    /findings\[0\]\.process is longer than 16384 characters as JSON/],
  ['a command line that redaction grows past the detail bound',
    typedWith({ cmdline: Array.from({ length: 370 }, () => 'PASSWORD=1').join(' '), parents: Array.from({ length: 16 }, () => `/${'p'.repeat(700)}`) }),
    /process is longer than 16384 characters once its secrets are redacted/],
];

for (const [name, finding, message] of REFUSALS) {
  test(`refused at ingest: ${name}`, (t) => {
    const err = t.throws(() => batchFromWire(batchOf(finding), 'node-a', 'e', NOW), { instanceOf: InvalidMessage });
    t.regex(err!.message, message);
  });
}

test('the agent\'s own typed details are accepted as they are: host, pod with kernel facts, fake container; an old agent\'s detail_json too', (t) => {
  for (const f of findings(NOW)) {
    const [typed] = batchFromWire(batchOf(f), 'node-a', 'e', NOW).findings;
    const [legacy] = batchFromWire(batchOf(asDetailJson(f)), 'node-a', 'e', NOW).findings;
    t.is(typed!.detail, legacy!.detail, f.subject!);
  }
});

test('identity, effective uid and start context are stored with the detail, after the fields of before, only when the agent set them', (t) => {
  const stored = (f: WireFinding) => JSON.parse(batchFromWire(batchOf(f), 'node-a', 'e', NOW).findings[0]!.detail) as Record<string, unknown>;
  const full = stored(typedWith({ identity: IDENTITY, effective: { uid: 0, user: 'root' }, context: CONTEXT }));
  t.deepEqual(full.identity, IDENTITY);
  t.deepEqual(full.context, CONTEXT);
  t.like(full, { euid: 0, effectiveUser: 'root', uid: 101 });
  t.deepEqual(Object.keys(full).slice(-5), ['kernel', 'identity', 'euid', 'effectiveUser', 'context'], 'new fields follow the fields agents 0.1 sent');
  const unhashed = { ...IDENTITY, sha256: '', error: 'too-large', errorDetail: '104857601 bytes', notVouched: '' };
  t.deepEqual(stored(identityWith(unhashed)).identity, unhashed, 'a file that could not be hashed says why');
  const none = stored(typedWith({ identity: null, effective: null, context: null }));
  for (const k of ['identity', 'euid', 'effectiveUser', 'context']) t.false(k in none, `${k} is left out when unset`);
  t.deepEqual(stored(contextWith({ stdio: [{ kind: 'none', family: '' }, { kind: 'socket', family: 'unix' }, { kind: 'socket', family: '' }] })).context,
    { ...CONTEXT, stdio: [{ kind: 'none', family: '' }, { kind: 'socket', family: 'unix' }, { kind: 'socket', family: '' }] });
  const modified = { ...typedWith({ identity: IDENTITY }), checkId: PROC_MODIFIED_BINARY_CHECK.id, severity: 'SEVERITY_CRITICAL' as const };
  t.like(stored(modified), { exe: '/tmp/x', identity: { sha256: SHA } }, 'proc-modified-binary carries a process detail');
});

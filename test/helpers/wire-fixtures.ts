// Frozen wire: the messages an agent of this version sends, as binary protobuf under
// test/fixtures/wire/<agent version>-<date>/, so every later change to the contract is tested
// for version skew against what agents in the field still send.
//
// The messages come from the agent's own builders: the scan report is the real checks'
// verdict on a fixture host tree (collectFacts -> evaluate -> scanToWire), the process finding
// is unexpectedFinding over an eBPF exec's detail, the baseline report is buildReports, and the
// AgentStats of the hello and the heartbeat are processStatsToWire over the monitor's counters
// (a node on netlink, with the reason eBPF did not load). Encoded with the stream's own codec.
//
// Produce a new set with `npm run build && node dist/scripts/freeze-wire.js` (it writes a new
// directory; a frozen one is never rewritten). Times in a set are relative to its
// manifest's capturedAtMs: whoever replays them shifts them to now (shiftTimes), because the
// collector judges agent times against the time it receives them.
import { mkdir, readFile, writeFile, readdir } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { agentMessageCodec, type AgentMessage, type AgentMessage__Output } from '../../proto/load.js';
import { collectFacts } from '../../agent/facts/index.js';
import { evaluate } from '../../agent/checks/evaluate.js';
import { CATALOG } from '../../agent/checks/index.js';
import { scanToWire } from '../../agent/report/wire.js';
import { CIS_BENCHMARK as BENCHMARK } from '../../proto/benchmark-refs.js';
import { processFinding, PROC_MODIFIED_BINARY, PROC_REVERSE_SHELL, PROC_UNVERIFIED_BINARY, unexpectedFinding, type ProcessDetail } from '../../agent/processes/findings.js';
import { buildReports } from '../../agent/report/baseline-report.js';
import type { BaselineJson } from '../../agent/baseline/baselines.js';
import { processStatsToWire } from '../../agent/processes/wire-stats.js';
import type { ProcessMonitorStats } from '../../agent/processes/monitor.js';
import { prepareFixture } from './fixture.js';

/** test/fixtures/wire in the source tree (this file runs from dist/test/helpers/). */
export const WIRE_FIXTURES_DIR = fileURLToPath(new URL('../../../test/fixtures/wire/', import.meta.url));

/** The node the frozen messages are for: a name the test PKI has a certificate for. */
export const WIRE_NODE = 'node-a';

export interface WireManifest {
  readonly agentVersion: string;
  /** The time the messages' times are relative to (unix ms). */
  readonly capturedAtMs: number;
  readonly producedBy: string;
  /** In the order an agent sends them on one stream. */
  readonly messages: ReadonlyArray<{ readonly file: string; readonly body: string; readonly what: string }>;
}

const NETLINK_REASON = 'NO_CAPABILITY: the agent lacks CAP_BPF and CAP_PERFMON (or CAP_SYS_ADMIN) to load the eBPF program';

/** What the monitor's stats look like on a node whose eBPF program did not load. */
function monitorStats(): ProcessMonitorStats {
  return {
    coverage: 'event', execEventsReason: '', source: 'netlink', sourceReasons: { ebpf: NETLINK_REASON },
    fallbackReason: `ebpf: ${NETLINK_REASON}`, scans: 12, lastScanMs: 41, lastScanProcesses: 230, tableSize: 230, events: 5120,
    scanOnly: 3, unjudged: 17, unplaced: 2, fakeContainer: 0, hostNamespace: 0, hostMntNs: null,
    verdicts: { known: 5000, learned: 90, 'first-sight': 0, image: 0, startup: 4, probe: 10, graveyard: 0, overflow: 0, modified: 0, unverified: 0, unhashed: 0, unexpected: 16 },
    findings: { observed: 16, emitted: 2, capped: 14, lost: 0, pending: 0 },
    exec: { received: 5200, execs: 5120, delivered: 5120, partial: 6, dropped: 1, overruns: 2, errors: 0, running: true },
    baselines: { keys: 2, overflow: 0, evictedKeys: 0, evictedDigests: 0, version: 0 },
    attribution: { containers: 3, owners: 1, lookups: 40 },
    content: {
      reexec: 0, fromMemory: 0, deleted: 0, upgraded: 0, stdioSkipped: 0, identity: null, packages: null,
      stdio: { reads: 0, tablesRead: 0, tablesCut: 0, linesRefused: 0, familiesUnknown: 0, unreadable: 0 },
    },
  };
}

/** The messages of one agent stream, as this version of the agent builds them. */
export async function currentWireMessages(agentVersion: string, capturedAtMs: number): Promise<Array<{ name: string; what: string; msg: AgentMessage }>> {
  const stats = { spoolEntries: 2, spoolBytes: 9000, spoolDropped: 0, rejected: 0, ...processStatsToWire(monitorStats(), 0) };
  const fx = await prepareFixture('insecure-worker');
  let scan;
  try {
    const at = new Date(capturedAtMs);
    const facts = await collectFacts({ hostRoot: fx.root, procRoot: fx.procRoot, now: () => at });
    const results = evaluate(facts, CATALOG, at);
    scan = scanToWire({ node: WIRE_NODE, scannedAt: at, benchmark: BENCHMARK, scope: CATALOG.map((s) => s.id), results, trigger: 'startup' });
  } finally {
    await fx.cleanup();
  }
  const detail: ProcessDetail = {
    baseline: 'host/worker', exe: '/tmp/.x/miner', exeDeleted: false, pid: 4242, ppid: 4100, parents: ['/usr/bin/bash', '/usr/sbin/sshd'],
    uid: 0, user: 'root', cmdline: '/tmp/.x/miner --pool stratum+tcp://pool.example:3333', container: null, pod: '', podUid: '',
    namespace: '', workload: null, startedAtMs: capturedAtMs - 1500, seen: 'event', partial: false, missing: [],
    kernel: {
      filename: '/proc/self/fd/5', ino: 131_077, dev: 2049, nlink: 1, fsKind: 'tmpfs', cgroupId: 4711, mntNs: 4_026_531_841,
      pidNs: 4_026_531_836, uid: 0, gid: 0, egid: 0, comm: 'miner',
    },
  };
  const scanned: ProcessDetail = { ...detail, exe: '/usr/local/bin/kubectl-debug', cmdline: '/usr/local/bin/kubectl-debug', seen: 'scan', pid: 5000, kernel: undefined };
  delete (scanned as { kernel?: unknown }).kernel;
  // From 0.2: what ran (identity), how it started (context), who it ran as in effect.
  const sha = (c: string) => c.repeat(64);
  const modified: ProcessDetail = {
    ...detail, exe: '/usr/bin/sudo', cmdline: '/usr/bin/sudo -i', uid: 65534, user: 'nobody', euid: 0, effectiveUser: 'root',
    identity: { sha256: sha('d'), size: 232_416, baselineSha256: [sha('a')], notVouched: 'digest-differs' },
  };
  const reverse: ProcessDetail = {
    ...detail, exe: '/usr/bin/bash', cmdline: '/usr/bin/bash -i', identity: { sha256: sha('b'), size: 1_265_648, baselineSha256: [sha('b')] },
    context: { stdio: [{ kind: 'socket', family: 'inet' }, { kind: 'socket', family: 'inet' }, { kind: 'socket', family: 'inet' }], interpreter: 'bash', inlineFlag: '', loader: '', loadedProgram: '' },
  };
  const unverified: ProcessDetail = {
    ...detail, exe: '/usr/bin/containerd', identity: { sha256: '', size: 0, error: 'gone', errorDetail: 'the process exited before its file could be read', baselineSha256: [sha('c')] },
  };
  const baseline: BaselineJson = {
    key: 'host/worker', createdAtMs: capturedAtMs - 86_400_000, learnUntilMs: capturedAtMs - 3_600_000, lockedAtMs: null, lockedBy: null,
    version: 0, lastSeenMs: capturedAtMs - 1000,
    items: {
      '/usr/bin/containerd': { source: 'learned', addedAtMs: capturedAtMs - 80_000_000, digests: [{ sha256: 'c'.repeat(64), addedAtMs: capturedAtMs - 80_000_000, source: 'learned' }] },
      '/usr/bin/kubelet': {
        source: 'learned', addedAtMs: capturedAtMs - 80_000_000,
        digests: [{ sha256: 'e'.repeat(64), addedAtMs: capturedAtMs - 80_000_000, source: 'learned' }, { sha256: 'f'.repeat(64), addedAtMs: capturedAtMs - 3_000_000, source: 'package' }],
      },
      '/usr/bin/python3.11': { source: 'learned', addedAtMs: capturedAtMs - 80_000_000, inline: true },
      '/usr/sbin/sshd': { source: 'operator', addedAtMs: capturedAtMs - 7_200_000, anyContent: true },
    },
    removed: { '/usr/bin/nc': capturedAtMs - 7_000_000 },
  };
  const { reports } = buildReports([baseline], 0, capturedAtMs);
  return [
    {
      name: 'hello', what: 'Hello with host info, certificates and AgentStats (exec source netlink, with why eBPF did not load)',
      msg: {
        hello: {
          node: WIRE_NODE, agentVersion, epoch: 'frozen-epoch-1', baselineVersion: 0, hostBaselineKey: 'host/worker', stats,
          host: {
            os: 'Debian GNU/Linux 12 (bookworm)', kernel: '6.1.0-28-amd64', arch: 'x64', cpus: 4, memoryBytes: 8 * 2 ** 30,
            uptimeSeconds: 86_400, kubeletVersion: 'v1.31.2',
            certificates: [{ path: '/var/lib/kubelet/pki/kubelet.crt', notAfterMs: Date.UTC(2030, 0, 1) }],
          },
        },
      },
    },
    { name: 'baseline-report', what: 'BaselineReport of the host/worker baseline (learned and operator items, one removed)', msg: { baselineReport: reports[0]! } },
    { name: 'scan-report', what: 'ScanReport: the CIS checks on the insecure-worker fixture host', msg: { scanReport: { ...scan, sequence: 1 } } },
    {
      name: 'finding-batch',
      what: 'FindingBatch: proc-unexpected from an eBPF exec (kernel detail) and from a scan; proc-modified-binary of a setuid program, proc-reverse-shell, proc-unverified-binary',
      msg: {
        findingBatch: {
          sequence: 2, node: WIRE_NODE,
          findings: [
            unexpectedFinding(detail, 3, capturedAtMs - 1000), unexpectedFinding(scanned, 1, capturedAtMs - 500),
            processFinding(PROC_MODIFIED_BINARY, modified, 1, capturedAtMs - 400), processFinding(PROC_REVERSE_SHELL, reverse, 1, capturedAtMs - 300),
            processFinding(PROC_UNVERIFIED_BINARY, unverified, 2, capturedAtMs - 200),
          ],
        },
      },
    },
    { name: 'heartbeat', what: 'Heartbeat with AgentStats', msg: { heartbeat: { sentAtMs: capturedAtMs, stats } } },
  ];
}

/** Writes a new frozen set; refuses to overwrite one. */
export async function writeWireFixtures(dir: string, agentVersion: string, capturedAtMs: number): Promise<WireManifest> {
  if (existsSync(dir)) throw new Error(`${dir} exists: a frozen wire set is never rewritten`);
  await mkdir(dir, { recursive: true });
  const codec = agentMessageCodec();
  const messages = await currentWireMessages(agentVersion, capturedAtMs);
  for (const m of messages) await writeFile(join(dir, `${m.name}.bin`), codec.encode(m.msg));
  const manifest: WireManifest = {
    agentVersion, capturedAtMs, producedBy: 'test/helpers/wire-fixtures.ts (node dist/scripts/freeze-wire.js)',
    messages: messages.map((m) => ({ file: `${m.name}.bin`, body: Object.keys(m.msg)[0]!, what: m.what })),
  };
  await writeFile(join(dir, 'manifest.json'), `${JSON.stringify(manifest, null, 2)}\n`);
  return manifest;
}

/** Every frozen set, oldest first. */
export async function frozenWireSets(): Promise<string[]> {
  return (await readdir(WIRE_FIXTURES_DIR, { withFileTypes: true })).filter((d) => d.isDirectory()).map((d) => d.name).sort();
}

export async function readWireSet(name: string): Promise<{ manifest: WireManifest; messages: Array<{ file: string; body: string; bytes: Buffer }> }> {
  const dir = join(WIRE_FIXTURES_DIR, name);
  const manifest = JSON.parse(await readFile(join(dir, 'manifest.json'), 'utf8')) as WireManifest;
  const messages = await Promise.all(manifest.messages.map(async (m) => ({ file: m.file, body: m.body, bytes: await readFile(join(dir, m.file)) })));
  return { manifest, messages };
}

/**
 * The message with its agent times moved by `deltaMs` (capture time -> now), so that the
 * collector, which judges them against the time it receives them, sees them as fresh as when
 * they were captured. Certificate expiries are absolute and stay.
 */
export function shiftTimes(msg: AgentMessage__Output, deltaMs: number): AgentMessage__Output {
  const at = (v: number): number => (v === 0 ? 0 : v + deltaMs);
  if (msg.scanReport) return { ...msg, scanReport: { ...msg.scanReport, scannedAtMs: at(msg.scanReport.scannedAtMs) } };
  if (msg.findingBatch) {
    return { ...msg, findingBatch: { ...msg.findingBatch, findings: msg.findingBatch.findings.map((f) => ({ ...f, observedAtMs: at(f.observedAtMs) })) } };
  }
  if (msg.baselineReport) {
    return {
      ...msg,
      baselineReport: {
        ...msg.baselineReport,
        baselines: msg.baselineReport.baselines.map((b) => ({
          ...b, learnUntilMs: at(b.learnUntilMs), items: b.items.map((i) => ({ ...i, firstSeenMs: at(i.firstSeenMs) })),
        })),
      },
    };
  }
  if (msg.heartbeat) return { ...msg, heartbeat: { ...msg.heartbeat, sentAtMs: at(msg.heartbeat.sentAtMs) } };
  return msg;
}

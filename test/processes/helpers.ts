// Shared by the process tests: fixture scenarios, a spool in a temp dir, findings out of it,
// and fresh copies of system binaries (a new executable path the baselines have never seen).
import { chmod, copyFile, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { openSpool, type Spool } from '../../agent/report/spool.js';
import type { FindingBatch, WireFinding } from '../../proto/load.js';
import type { ProcessDetail } from '../../agent/processes/findings.js';
import type { ProcessMonitorConfig } from '../../agent/processes/monitor.js';
import { findingDetail } from '../helpers/process-finding.js';
import { executable } from '../helpers/requirements.js';
import { startBpfExecEvents } from '../../agent/processes/exec-events.js';

/** test/fixtures/processes in the source tree (this file runs from dist/test/processes/). */
export const PROCESS_FIXTURES = fileURLToPath(new URL('../../../test/fixtures/processes/', import.meta.url));

export function scenario(name: string): { procRoot: string; hostRoot: string } {
  return { procRoot: join(PROCESS_FIXTURES, name, 'proc'), hostRoot: join(PROCESS_FIXTURES, name, 'host') };
}

/**
 * This machine's processes are judged as a worker's: other tests run etcd here now and then, and
 * the role the agent would detect must not change under a test (detection: host-role.test.ts).
 */
export const THIS_MACHINE = { hostRole: 'worker' } as const;
export const HOST_WORKER = 'host/worker';
export const HOST_CONTROL_PLANE = 'host/control-plane';

export interface TempDir {
  readonly path: string;
  cleanup(): Promise<void>;
}

export async function tempDir(prefix: string): Promise<TempDir> {
  const path = await mkdtemp(join(tmpdir(), `nodeward-${prefix}-`));
  return { path, cleanup: () => rm(path, { recursive: true, force: true }) };
}

export function testSpool(dir: string): Spool {
  return openSpool({ dir, maxItems: 100_000, maxBytes: 256 * 1024 * 1024 });
}

export interface SpooledFinding {
  readonly finding: WireFinding;
  readonly detail: ProcessDetail;
}

/** Every finding in the spool, oldest first. */
export function spooledFindings(spool: Spool): SpooledFinding[] {
  const out: SpooledFinding[] = [];
  for (const e of spool.next(0, 1_000_000)) {
    if (e.kind !== 'batch') continue;
    for (const f of (e.payload as FindingBatch).findings ?? []) out.push({ finding: f, detail: findingDetail(f) });
  }
  return out;
}

/** A copy of a system binary at a fresh path, executable by everyone (its directory too). */
export async function freshBinary(dir: string, source: string, name: string): Promise<string> {
  const path = join(dir, name);
  await copyFile(source, path);
  await chmod(path, 0o755);
  await chmod(dir, 0o755);
  return path;
}

export function monitorConfig(over: Partial<ProcessMonitorConfig> & Pick<ProcessMonitorConfig, 'procRoot' | 'hostRoot' | 'stateDir'>): ProcessMonitorConfig {
  return {
    node: 'node-a', scanIntervalMs: 0, execEvents: false, learnMs: 3_600_000, hostLearnMs: 86_400_000, startupMs: 60_000,
    rateBurst: 10, rateRefillMs: 180_000, maxBaselines: 2048, maxItemsPerBaseline: 1024, flushMs: 50, hostRole: 'auto', ...over,
  };
}

export async function waitFor<T>(what: string, check: () => T | undefined | false | Promise<T | undefined | false>, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await check();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** The Debian packages the eBPF exec program is built with (npm run build:native). */
export const EBPF_PACKAGES = ['clang', 'llvm', 'libbpf-dev'] as const;

/**
 * Whether the eBPF exec source starts here (root in the host's namespaces, the addon and
 * program built), and every one of `executables` is there: true, or why not.
 */
export function ebpfAvailable(...executables: string[]): true | string {
  for (const bin of executables) {
    const ok = executable(bin);
    if (ok !== true) return ok;
  }
  const r = startBpfExecEvents({ queue: 64 }, () => undefined);
  if (!r.ok) return `the eBPF exec source does not start: ${r.code}: ${r.reason}`;
  r.source.stop();
  return true;
}

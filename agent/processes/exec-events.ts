// Exec events from the kernel's process connector, through the optional native addon in
// native/ (built by `npm run build:native`). Loading or starting can fail for reasons that are
// facts about the node, not bugs: the addon was not built, the agent is not in the host's
// network namespace (EPROTONOSUPPORT), lacks CAP_NET_ADMIN (EPERM), or is not in the host's
// PID and user namespaces (the kernel never acknowledges: ETIMEDOUT). Each comes back as a
// reason, never a throw, and the agent falls back to scanning.
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

/** native/build/Release/ in the package (this file runs as dist/agent/processes/exec-events.js). */
export const ADDON_PATH = fileURLToPath(new URL('../../../native/build/Release/nodeward_proc.node', import.meta.url));

/** One exec as the addon read it, on its own thread, right after the kernel's event. */
export interface ExecRecord {
  readonly pid: number;
  readonly tid: number;
  readonly ppid: number;
  /** Effective uid, or -1 when status could not be read. */
  readonly uid: number;
  /** stat's starttime (clock ticks after boot), or -1. */
  readonly startTicks: number;
  readonly exe: string | null;
  readonly parentExe: string | null;
  /** Raw NUL-separated argv (bounded), or null. */
  readonly cmdline: Buffer | null;
  readonly cmdlineTruncated: boolean;
  readonly cgroup: string | null;
  /** Some files could not be read: the process was already gone. */
  readonly partial: boolean;
  readonly missing: readonly string[];
  /** CLOCK_MONOTONIC ms (process.hrtime's clock): the kernel's event, the exe read, the last read. */
  readonly eventMonoMs: number;
  readonly exeMonoMs: number;
  readonly readMonoMs: number;
}

export interface ExecEventStats {
  readonly received: number;
  readonly execs: number;
  readonly delivered: number;
  readonly partial: number;
  /** Records dropped because JavaScript was behind (the queue was full). */
  readonly dropped: number;
  /** Times the kernel reported it dropped events (socket buffer overrun). */
  readonly overruns: number;
  readonly errors: number;
  readonly running: boolean;
}

export interface ExecEventSource {
  stop(): void;
  stats(): ExecEventStats;
}

interface Addon {
  start(opts: { procRoot: string; maxCmdline?: number; queue?: number }, onExec: (r: ExecRecord) => void): ExecEventSource;
}

export type StartResult =
  | { readonly ok: true; readonly source: ExecEventSource }
  | { readonly ok: false; readonly code: string; readonly reason: string };

let cached: { addon: Addon } | { error: { code: string; reason: string } } | undefined;

export function loadAddon(path = ADDON_PATH): { addon: Addon } | { error: { code: string; reason: string } } {
  if (path === ADDON_PATH && cached) return cached;
  let result: { addon: Addon } | { error: { code: string; reason: string } };
  if (process.platform !== 'linux') {
    result = { error: { code: 'UNSUPPORTED', reason: `the process connector exists only on Linux (this is ${process.platform})` } };
  } else if (!existsSync(path)) {
    result = { error: { code: 'NOT_BUILT', reason: `the exec-event addon is not built (${path}); run \`npm run build:native\`` } };
  } else {
    try {
      const addon = createRequire(import.meta.url)(path) as Partial<Addon>;
      result = typeof addon.start === 'function'
        ? { addon: addon as Addon }
        : { error: { code: 'BAD_ADDON', reason: `${path} has no start()` } };
    } catch (err) {
      result = { error: { code: 'LOAD_FAILED', reason: `cannot load ${path}: ${(err as Error).message}` } };
    }
  }
  if (path === ADDON_PATH) cached = result;
  return result;
}

const HINTS: Record<string, string> = {
  EPROTONOSUPPORT: 'not in the host network namespace (the DaemonSet needs hostNetwork: true)',
  EPERM: 'CAP_NET_ADMIN is missing',
  EACCES: 'CAP_NET_ADMIN is missing',
  ETIMEDOUT: 'the kernel did not acknowledge the subscription (the agent must run in the host PID and user namespaces)',
};

export function startExecEvents(opts: { procRoot: string; maxCmdline: number; queue: number; addonPath?: string }, onExec: (r: ExecRecord) => void): StartResult {
  const loaded = loadAddon(opts.addonPath);
  if ('error' in loaded) return { ok: false, ...loaded.error };
  try {
    const source = loaded.addon.start({ procRoot: opts.procRoot, maxCmdline: opts.maxCmdline, queue: opts.queue }, onExec);
    return { ok: true, source };
  } catch (err) {
    const code = String((err as NodeJS.ErrnoException).code ?? 'EIO');
    const hint = HINTS[code];
    return { ok: false, code, reason: `${(err as Error).message}${hint ? `: ${hint}` : ''}` };
  }
}

// Loading the optional native addons of native/build/Release/ (built by `npm run build:native`).
// An addon that is not built, does not load or lacks the export a caller needs is a fact about
// the node, not a bug: it comes back as a reason with a stable code, never a throw, and the
// caller falls back (the exec sources to the next source, the fd walk to reading links one
// path at a time) and says why.
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

/** native/build/Release/ in the package (this file runs as dist/agent/processes/native-addon.js). */
const release = (name: string): string => fileURLToPath(new URL(`../../../native/build/Release/${name}`, import.meta.url));
/** The process connector and the fd walk (native/src/proc_events.cc, fd_sockets.cc). */
export const ADDON_PATH = release('nodeward_proc.node');
/** The eBPF exec source's loader and its program. */
export const BPF_ADDON_PATH = release('nodeward_bpf.node');
export const BPF_OBJECT_PATH = release('nodeward_exec.bpf.o');

export type AddonLoad<A> = { readonly addon: A } | { readonly error: { readonly code: string; readonly reason: string } };

/** Modules loaded, by path (a failure is not kept: it is tried again next time). */
const modules = new Map<string, Record<string, unknown>>();

/**
 * The addon at `path` when it exports a function named `needs`; `what` names it in reasons.
 * `A` is the caller's word for the addon's shape: only `needs` is checked.
 */
export function loadAddon<A>(path: string, what: string, needs: string): AddonLoad<A> {
  let mod = modules.get(path);
  if (!mod) {
    if (process.platform !== 'linux') return { error: { code: 'UNSUPPORTED', reason: `${what} exists only on Linux (this is ${process.platform})` } };
    if (!existsSync(path)) return { error: { code: 'NOT_BUILT', reason: `the ${what} addon is not built (${path}); run \`npm run build:native\`` } };
    try {
      mod = createRequire(import.meta.url)(path) as Record<string, unknown>;
    } catch (err) {
      return { error: { code: 'LOAD_FAILED', reason: `cannot load ${path}: ${(err as Error).message}` } };
    }
    modules.set(path, mod);
  }
  return typeof mod[needs] === 'function' ? { addon: mod as A } : { error: { code: 'BAD_ADDON', reason: `${path} has no ${needs}()` } };
}

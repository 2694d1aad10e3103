// Exec liveness/readiness/startup probes (pure). The collector reads them from the pod spec
// and sends them per baseline key; a process whose argv is a probe command is allowed
// without being learned, and so are the processes it starts.
import { posix } from 'node:path';

/**
 * True when argv runs the probe command. The probe's first word is matched as the kubelet
 * would run it: an absolute path must equal the executable or argv[0]; a bare name is looked
 * up on the container's PATH, so its basename is compared. The remaining words must be equal.
 */
export function matchesProbe(argv: readonly string[], exe: string, probe: readonly string[]): boolean {
  const [cmd, ...args] = probe;
  if (cmd === undefined || argv.length !== probe.length) return false;
  const first = argv[0] ?? '';
  const ok = cmd.startsWith('/')
    ? first === cmd || exe === cmd
    : posix.basename(first) === cmd || posix.basename(exe) === cmd;
  if (!ok) return false;
  for (let i = 0; i < args.length; i++) if (argv[i + 1] !== args[i]) return false;
  return true;
}

export function matchesAnyProbe(argv: readonly string[], exe: string, probes: readonly (readonly string[])[]): boolean {
  return probes.some((p) => matchesProbe(argv, exe, p));
}

// Where the kubelet opens a path-valued setting (--client-ca-file, authentication.x509.clientCAFile):
// a command-line value is relative to the kubelet's working directory; a value in the
// --config file is relative to that file's directory (the kubelet resolves them on load); a
// value from a --config-dir drop-in is merged in as written, after that resolution, so it is
// relative to the working directory again. Pure: used by the facts (to stat the candidates)
// and by the checks (to find the one in effect).
import { posix } from 'node:path';

export type PathOrigin = 'flag' | 'dropin' | 'config' | 'default' | 'none';

export type KubeletPath = { readonly ok: true; readonly path: string } | { readonly ok: false; readonly reason: string };

export function kubeletSettingPath(value: string, origin: PathOrigin, sourceFile: string, cwd: string | null): KubeletPath {
  if (value.startsWith('/')) return { ok: true, path: posix.normalize(value) };
  if (origin === 'config') {
    if (!sourceFile.startsWith('/')) return { ok: false, reason: `${value} is relative and the config file's directory is unknown` };
    return { ok: true, path: posix.join(posix.dirname(sourceFile), value) };
  }
  if (cwd === null || !cwd.startsWith('/')) return { ok: false, reason: `${value} is relative and the kubelet's working directory is unknown` };
  return { ok: true, path: posix.join(cwd, value) };
}

// The Kubernetes version the collector runs against, checked once at start (GET /version,
// which every authenticated caller may read). Older than the minimum docs/install.md states,
// the manifests are not supported there (the agent DaemonSet's recursiveReadOnly is a 1.30
// field): a warning names the version found and the minimum. Never fatal: the collector works
// the same, and an API server that cannot be asked is only logged.
import type { Logger } from '../../proto/support/logger.js';
import { kubeRequest, readJson, statusError, type KubeConnection } from './connection.js';

/** The oldest Kubernetes the manifests support (docs/install.md, "Supported versions"). */
export const MIN_KUBERNETES = { major: 1, minor: 30 } as const;

export interface KubernetesVersion {
  /** gitVersion as the API server reports it, e.g. v1.31.2-eks-7f9249a. */
  readonly gitVersion: string;
  readonly major: number;
  readonly minor: number;
}

export type VersionCheck =
  | { readonly kind: 'supported'; readonly version: KubernetesVersion }
  | { readonly kind: 'too-old'; readonly version: KubernetesVersion }
  | { readonly kind: 'unknown'; readonly reason: string };

/** major.minor from /version's answer (gitVersion first; major and minor as a fallback, "29+" as GKE writes it). */
export function parseVersion(json: unknown): KubernetesVersion | undefined {
  const v = (typeof json === 'object' && json !== null ? json : {}) as { gitVersion?: unknown; major?: unknown; minor?: unknown };
  const git = typeof v.gitVersion === 'string' ? v.gitVersion.slice(0, 100) : '';
  const m = /^v?(\d{1,4})\.(\d{1,4})(?:\.|$|-|\+)/.exec(git);
  if (m) return { gitVersion: git, major: Number(m[1]), minor: Number(m[2]) };
  const major = typeof v.major === 'string' ? /^(\d{1,4})\+?$/.exec(v.major)?.[1] : undefined;
  const minor = typeof v.minor === 'string' ? /^(\d{1,4})\+?$/.exec(v.minor)?.[1] : undefined;
  if (major === undefined || minor === undefined) return undefined;
  return { gitVersion: git || `v${major}.${minor}`, major: Number(major), minor: Number(minor) };
}

export function judgeVersion(v: KubernetesVersion): VersionCheck {
  const old = v.major < MIN_KUBERNETES.major || (v.major === MIN_KUBERNETES.major && v.minor < MIN_KUBERNETES.minor);
  return { kind: old ? 'too-old' : 'supported', version: v };
}

/** Asks the API server its version and logs what it means; never throws. */
export async function checkKubernetesVersion(conn: KubeConnection, log: Logger, signal?: AbortSignal): Promise<VersionCheck> {
  const minimum = `${MIN_KUBERNETES.major}.${MIN_KUBERNETES.minor}`;
  let out: VersionCheck;
  try {
    const res = await kubeRequest(conn, 'GET', '/version', signal ? { signal } : {});
    const json = await readJson(res, 64 * 1024, 'get /version');
    if (res.status !== 200) throw statusError('get /version', res.status, json);
    const v = parseVersion(json);
    out = v ? judgeVersion(v) : { kind: 'unknown', reason: 'the answer of /version names no version' };
  } catch (err) {
    out = { kind: 'unknown', reason: (err as Error).message };
  }
  if (out.kind === 'too-old') {
    log.warn({ found: out.version.gitVersion, minimum },
      `Kubernetes ${out.version.major}.${out.version.minor} (${out.version.gitVersion}) is older than ${minimum}, the oldest nodeward supports: the agent DaemonSet's manifests need ${minimum} (docs/install.md, "Supported versions"); the collector carries on`);
  } else if (out.kind === 'unknown') {
    log.warn({ minimum, err: out.reason }, `cannot tell the Kubernetes version (nodeward needs ${minimum} or newer); the collector carries on`);
  } else {
    log.info({ found: out.version.gitVersion, minimum }, 'Kubernetes version supported');
  }
  return out;
}

// Baseline keys and the subject of a proc-unexpected finding: part of the wire contract
// (documented in proto/nodeward/v1/agent.proto), so the agent and the collector compute
// them with this one module.
//
//   host/control-plane                           processes outside any container, on a node
//   host/worker                                  that runs control-plane components / on any other
//   <namespace>/<Kind>/<workload>/<container>    e.g. shop/Deployment/web/nginx (Jobs: their CronJob)
//   container:<64-hex id>                        a container whose runtime bundle names no pod
//   host                                         (legacy) host processes of agents older than node
//                                                roles: one key for every node of the cluster
//
// Namespaces, workload and container names are DNS labels or subdomains, so `/` never occurs
// inside a part and `:` never occurs in any key. A host key has two parts and a workload key
// four, so neither can be taken for the other (and `host` is a valid namespace name).
// Control-plane nodes and workers run different host binaries (etcd, kube-apiserver, ...):
// keyed apart, a worker's baseline, learned or adopted, never allows what only a
// control-plane node runs.
import { createHash } from 'node:crypto';

/** The host key of agents that predate node roles; still accepted, never sent to newer agents. */
export const LEGACY_HOST_KEY = 'host';

export const HOST_ROLES = ['control-plane', 'worker'] as const;
export type HostRole = (typeof HOST_ROLES)[number];

/** The baseline key of a node's host processes. */
export function hostKeyOf(role: HostRole): string {
  return `host/${role}`;
}

/** `host/control-plane`, `host/worker` or the legacy `host`: the keys that learn for `hostLearnMs`. */
export function isHostKey(key: string): boolean {
  return key === LEGACY_HOST_KEY || HOST_ROLES.some((r) => key === hostKeyOf(r));
}

/**
 * Whether an agent whose host processes use `agentHostKey` is sent the baseline `key`: every
 * baseline except the host baselines of other roles (and the legacy one, unless it is its own).
 */
export function receivesBaseline(agentHostKey: string, key: string): boolean {
  return !isHostKey(key) || key === agentHostKey;
}

/** The collector's bound on a finding subject. */
export const MAX_SUBJECT_CHARS = 1024;

export interface WorkloadKeyParts {
  readonly namespace: string;
  readonly kind: string;
  readonly name: string;
  readonly container: string;
}

const PART = /^[A-Za-z0-9][A-Za-z0-9._-]{0,252}$/;

export function workloadKeyOf(p: WorkloadKeyParts): string {
  return `${p.namespace}/${p.kind}/${p.name}/${p.container}`;
}

/** The parts of a workload key, or null for host keys, unattributed and malformed keys. */
export function parseWorkloadKey(key: string): WorkloadKeyParts | null {
  const parts = key.split('/');
  if (parts.length !== 4 || parts.some((p) => p === '')) return null;
  const [namespace, kind, name, container] = parts as [string, string, string, string];
  return { namespace, kind, name, container };
}

/** Accepts exactly what a host key, a workload key or an unattributed container key can be. */
export function isValidBaselineKey(key: string): boolean {
  if (isHostKey(key)) return true;
  if (/^container:[0-9a-f]{64}$/.test(key)) return true;
  const p = parseWorkloadKey(key);
  return p !== null && [p.namespace, p.kind, p.name, p.container].every((s) => PART.test(s));
}

/** `<baseline key>:<executable>`, stable for the fingerprint; hashed when too long. */
export function processSubject(key: string, exe: string): string {
  return boundedSubject(`${key}:${exe}`);
}

/** A subject as it is, or cut with a digest of the whole when longer than MAX_SUBJECT_CHARS. */
export function boundedSubject(s: string): string {
  if (s.length <= MAX_SUBJECT_CHARS) return s;
  const digest = createHash('sha256').update(s).digest('hex').slice(0, 16);
  return `${s.slice(0, MAX_SUBJECT_CHARS - 17)}#${digest}`;
}

/**
 * The fields of a proc-unexpected finding's detail that its subject is made of. Redaction
 * leaves them as the agent wrote them: the collector matches them against the subject
 * (collector/store/processes.ts) and an operator allows the executable by this path, so a
 * secret inside an executable's path is part of the finding's identity, not redacted.
 */
export const PROCESS_IDENTITY_FIELDS = ['baseline', 'exe'] as const;

/** The longest executable path a baseline carries on the wire. */
export const MAX_EXECUTABLE_CHARS = 1024;

/** A baseline item: an absolute path, bounded, without control characters (the agent escapes them). */
export function isValidExecutable(path: string): boolean {
  return path.startsWith('/') && path.length <= MAX_EXECUTABLE_CHARS && !/[\u0000-\u001f\u007f]/.test(path);
}

/** How an executable joined a baseline, and its name in the wire's ItemSource enum. */
export const ITEM_SOURCE_WIRE = {
  learned: 'ITEM_SOURCE_LEARNED', startup: 'ITEM_SOURCE_STARTUP', operator: 'ITEM_SOURCE_OPERATOR',
} as const;
export type ItemSourceName = keyof typeof ITEM_SOURCE_WIRE;

/** The wire's ItemSource (as the proto loader gives it: the enum's name) -> ours; undefined for anything else. */
export function itemSourceFromWire(v: unknown): ItemSourceName | undefined {
  return (Object.keys(ITEM_SOURCE_WIRE) as ItemSourceName[]).find((k) => ITEM_SOURCE_WIRE[k] === v);
}

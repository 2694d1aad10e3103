// Baseline keys: which whitelist a process is judged against.
//
//   host/control-plane | host/worker             processes outside any container, by node role
//                                                (agent/processes/host-role.ts decides the role)
//   <namespace>/<Kind>/<workload>/<container>    e.g. shop/Deployment/web/nginx (Jobs: their CronJob)
//   container:<64-hex id>                        a container whose runtime bundle names no pod
//
// Namespaces, workload and container names are DNS labels or subdomains, so `/` never occurs
// inside a part and `:` never occurs in a Kubernetes key. The collector uses the same strings
// in BaselineUpdate.key; the syntax is part of the wire contract (proto/baseline-key.ts),
// which also knows the legacy `host` key of older agents (migrated on load, baselines.ts).
import { isValidBaselineKey } from '../../proto/baseline-key.js';
import type { Workload } from './workload.js';

export { hostKeyOf, isHostKey, LEGACY_HOST_KEY, receivesBaseline, type HostRole } from '../../proto/baseline-key.js';

export interface KeyParts {
  readonly namespace: string;
  readonly workload: Workload;
  readonly container: string;
}

export function workloadKey(p: KeyParts): string {
  return `${p.namespace}/${p.workload.kind}/${p.workload.name}/${p.container}`;
}

export function unattributedKey(containerId: string): string {
  return `container:${containerId}`;
}

/** The parts of a workload key, or null for host and unattributed keys. */
export function parseWorkloadKey(key: string): KeyParts | null {
  const parts = key.split('/');
  if (parts.length !== 4 || parts.some((p) => p === '')) return null;
  const [namespace, kind, name, container] = parts as [string, string, string, string];
  return { namespace, workload: { kind, name }, container };
}

/** Accepts what workloadKey, unattributedKey or hostKeyOf can produce (and the legacy `host`). */
export const isValidKey = isValidBaselineKey;

// The agent DaemonSet, read by name: where its pods may run (placement.ts). The collector
// asks the API server for the live object rather than taking a copy of its spec from its own
// configuration: an overlay that adds a toleration or a nodeSelector (GPU nodes, dedicated
// pools) then changes what the collector expects with no second place to keep in step, and
// `kubectl edit` does too. It needs `get` on that one DaemonSet (manifests/collector/rbac.yaml).
import { kubeRequest, readJson, statusError, KubeApiError, type KubeConnection } from './connection.js';
import { placementSpecOf, type PlacementSpec } from './placement.js';

export interface DaemonSetRef {
  readonly namespace: string;
  readonly name: string;
}

export interface AgentDaemonSet {
  readonly ref: DaemonSetRef;
  readonly resourceVersion: string;
  readonly placement: PlacementSpec;
}

const MAX_RESPONSE_BYTES = 4 * 1024 * 1024;

export const describeDaemonSet = (ref: DaemonSetRef): string => `DaemonSet ${ref.namespace}/${ref.name}`;

/** Reads the DaemonSet; a KubeApiError (status 403, 404, ...) says why it could not. */
export async function readDaemonSet(conn: KubeConnection, ref: DaemonSetRef, signal?: AbortSignal): Promise<AgentDaemonSet> {
  const what = describeDaemonSet(ref);
  const res = await kubeRequest(conn, 'GET', `/apis/apps/v1/namespaces/${encodeURIComponent(ref.namespace)}/daemonsets/${encodeURIComponent(ref.name)}`, signal ? { signal } : {});
  const json = await readJson(res, MAX_RESPONSE_BYTES, `get ${what}`);
  if (res.status === 403) {
    throw new KubeApiError(`the collector's ServiceAccount may not get ${what} (HTTP 403); grant "get" on daemonsets "${ref.name}" in namespace "${ref.namespace}" (manifests/collector/rbac.yaml)`, false, 403);
  }
  if (res.status === 404) throw new KubeApiError(`${what} does not exist (nodes.agentDaemonSet names it, in enroll.agentNamespace)`, false, 404);
  if (res.status !== 200) throw statusError(`get ${what}`, res.status, json);
  const ds = json as { metadata?: { resourceVersion?: unknown }; spec?: { template?: { spec?: unknown } } } | undefined;
  const rv = ds?.metadata?.resourceVersion;
  if (typeof rv !== 'string' || rv === '') throw new KubeApiError(`get ${what}: the answer is not a DaemonSet`, true);
  const spec = placementSpecOf(ds?.spec?.template?.spec);
  if (spec.kind === 'invalid') throw new KubeApiError(`${what}: its pod template cannot be read: ${spec.reason}`, false);
  return { ref, resourceVersion: rv, placement: spec.spec };
}

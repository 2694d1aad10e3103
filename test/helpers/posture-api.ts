// Posture object sets served by the local Kubernetes API (test/collector/fake-pod-api.ts), and
// a judge for the watch's own tests: one finding per object it holds, so what the watch hands
// the judges (lists, events, relists, taps) shows in the units it commits.
import type { ObjectRead } from '../../collector/kube/informer.js';
import type { ClusterFinding, JudgeDelta, PostureJudge, PostureKind } from '../../collector/posture/judge.js';
import { RESOURCES, type FakePodApi, type PodObject, type WatchedResource } from '../collector/fake-pod-api.js';
import { loadPostureFixture } from './posture.js';

const RESOURCE_OF: Record<string, WatchedResource> = {
  ClusterRole: 'clusterroles', Role: 'roles', ClusterRoleBinding: 'clusterrolebindings', RoleBinding: 'rolebindings',
};

/** Serves every object of test/fixtures/posture/<name>.json (an RBAC fixture). */
export function serveFixture(api: FakePodApi, name: string): void {
  for (const o of loadPostureFixture(name)) api.applyObject(RESOURCE_OF[o.kind]!, o.object as PodObject);
}

/** Serves kubectl-style API objects (apiVersion, kind), each in the collection its group and kind name. */
export function serveItems(api: FakePodApi, items: readonly { readonly apiVersion?: string; readonly kind?: string }[]): void {
  for (const item of items) {
    const group = item.apiVersion?.includes('/') ? item.apiVersion : undefined;
    const resource = (Object.keys(RESOURCES) as WatchedResource[]).find((r) => {
      const spec = RESOURCES[r] as { kind: string; path: string; group?: string };
      return spec.kind === item.kind && (spec.group === undefined ? !spec.path.startsWith('/apis/') || spec.path.startsWith(`/apis/${group}/`) : spec.group === group);
    });
    if (!resource) throw new Error(`the fake API serves no collection of ${item.apiVersion ?? ''} ${item.kind ?? ''}`);
    api.applyObject(resource, item as PodObject);
  }
}

/** A kind read as the object's name (namespace/name): anything with metadata.name is an object. */
export function namedKind(kind: string, path: string, optional?: { group: string; version: string }): PostureKind<string> {
  return {
    kind, name: path.split('/').pop()!, path, ...(optional ? { optional } : {}),
    read(raw: unknown): ObjectRead<string> {
      const m = (raw as { metadata?: { name?: unknown; namespace?: unknown } } | null)?.metadata;
      if (typeof m?.name !== 'string') return { kind: 'invalid', reason: 'no metadata.name' };
      const key = typeof m.namespace === 'string' ? `${m.namespace}/${m.name}` : m.name;
      return { kind: 'object', key, value: key };
    },
  };
}

const findingOf = (kind: string, key: string): ClusterFinding => ({
  checkId: `test-${kind.toLowerCase()}`, title: `a ${kind} exists`, severity: 'low', references: [], cis: '', category: 'general',
  key: `test-${kind.toLowerCase()}|${key}`, subject: `${kind} ${key}`, object: `${kind}/${key}`, actual: `${kind} ${key} exists`,
  expected: 'nothing', reason: 'it exists', remediation: 'none', detail: {},
});

type Held = ReadonlyMap<string, ClusterFinding>;

/** `test-<kind>` findings, one per object held of each kind. */
export function objectJudge(id: string, kinds: readonly PostureKind[]): PostureJudge<Held> {
  return {
    id, kinds,
    full(objects) {
      const out = new Map<string, ClusterFinding>();
      for (const [kind, m] of objects) for (const key of m.keys()) out.set(`${kind}/${key}`, findingOf(kind, key));
      return out;
    },
    apply(state, change): JudgeDelta<Held> {
      const k = `${change.kind}/${change.key}`;
      const next = new Map(state);
      if (change.type === 'delete') {
        const f = state.get(k);
        next.delete(k);
        return { state: next, opened: [], changed: [], resolved: f ? [f] : [] };
      }
      const f = findingOf(change.kind, change.key);
      next.set(k, f);
      return { state: next, opened: state.has(k) ? [] : [f], changed: [], resolved: [] };
    },
    findings: (state) => ({ findings: [...state.values()], expected: [] }),
  };
}

// Object sets for the workload posture tests and bench: test/fixtures/posture/<name>.json (a
// kubectl-style list whose items carry apiVersion and kind), read through the judge's own
// readers into what the watches would hand the judge (kind -> key -> value). nodeward's own
// objects are made from manifests/ itself, so that the allowlist is judged against what we ship:
// the DaemonSet's pod template becomes one pod per node, the StatefulSet's one pod.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseAllDocuments } from 'yaml';
import { WORKLOAD_KINDS } from '../../collector/posture/workload-judge.js';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
export const NODES = ['cp1', 'w1', 'w2'];

type Raw = { apiVersion?: string; kind?: string; metadata?: Record<string, unknown>; spec?: Record<string, unknown> };

/** The judge's kind for an API object: Calico's and Cilium's NetworkPolicy are told apart by group. */
export function judgeKind(o: Raw): string {
  const group = (o.apiVersion ?? '').split('/').length === 2 ? (o.apiVersion as string).split('/')[0] : '';
  if (group === 'crd.projectcalico.org' || group === 'projectcalico.org') return o.kind === 'GlobalNetworkPolicy' ? 'CalicoGlobalNetworkPolicy' : `Calico${o.kind ?? ''}`;
  return o.kind ?? '';
}

export type ObjectSet = Map<string, Map<string, unknown>>;

/** Reads each object through the judge's reader for its kind; a refusal fails loudly (fixtures are valid). */
export function readObjects(items: readonly Raw[]): ObjectSet {
  const out: ObjectSet = new Map(WORKLOAD_KINDS.map((k) => [k.kind, new Map()]));
  for (const item of items) {
    const kind = judgeKind(item);
    const spec = WORKLOAD_KINDS.find((k) => k.kind === kind);
    if (!spec) continue;
    const r = spec.read(item);
    if (r.kind === 'invalid') throw new Error(`fixture ${kind} refused: ${r.reason}`);
    if (r.kind === 'object') out.get(kind)?.set(r.key, r.value);
  }
  return out;
}

export function fixtureItems(name: string): Raw[] {
  return (JSON.parse(readFileSync(`${ROOT}test/fixtures/posture/${name}.json`, 'utf8')) as { items: Raw[] }).items;
}

const manifest = (path: string): Raw[] =>
  parseAllDocuments(readFileSync(`${ROOT}manifests/${path}`, 'utf8')).map((d) => d.toJS() as Raw).filter((o) => o !== null);

function podsOf(workload: Raw, names: readonly [string, string][]): Raw[] {
  const template = (workload.spec?.template ?? {}) as { metadata?: { labels?: Record<string, string> }; spec?: Record<string, unknown> };
  const meta = workload.metadata as { name: string; namespace: string };
  return names.map(([name, node]) => ({
    apiVersion: 'v1', kind: 'Pod',
    metadata: {
      name, namespace: meta.namespace, uid: `uid-${name}`, labels: { ...(template.metadata?.labels ?? {}) },
      ownerReferences: [{ apiVersion: 'apps/v1', kind: workload.kind, name: meta.name, uid: `uid-${meta.name}`, controller: true }],
    },
    spec: { ...(template.spec ?? {}), nodeName: node },
    status: { phase: 'Running' },
  }));
}

/** nodeward's namespaces, ServiceAccounts, network policy and pods, from manifests/. */
export function nodewardItems(): Raw[] {
  const agent = manifest('agent/daemonset.yaml')[0] as Raw;
  const collector = manifest('collector/statefulset.yaml')[0] as Raw;
  return [
    ...manifest('namespaces.yaml'),
    ...manifest('agent/service-account.yaml'),
    ...manifest('collector/service-account.yaml'),
    ...manifest('collector/network-policy.yaml'),
    { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'default', namespace: 'nodeward-agent' } },
    { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'default', namespace: 'nodeward-collector' } },
    ...podsOf(agent, NODES.map((n, i) => [`nodeward-agent-${'abcde'.slice(i, i + 1)}x7k2`, n])),
    ...podsOf(collector, [['nodeward-collector-0', 'w1']]),
  ];
}

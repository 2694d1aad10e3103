// Which nodes the agent DaemonSet runs on, decided the way the scheduler and the DaemonSet
// controller decide it (pure): from the pod template's nodeSelector, its required node
// affinity, and its tolerations against the node's taints. A node that fails one of them
// gets no agent pod, so it is not a node whose agent is missing.
//
// Before those rules, nodes the agent cannot run on whatever the DaemonSet says (NODE
// EXCLUSIONS, data): Windows nodes (the agent is a Linux program), virtual-kubelet nodes
// (Azure virtual nodes, ACI, and other providers: no kernel, no host to read) and serverless
// nodes (EKS Fargate: one pod per micro-VM, no DaemonSet pods). GKE Autopilot is a kind of
// cluster, not of node: it refuses the agent's host access outright, and is not supported
// (docs/install.md).
//
// The rules, as Kubernetes applies them (k8s.io/component-helpers scheduling/corev1):
// - nodeSelector: every key is a label of the node with exactly that value.
// - requiredDuringSchedulingIgnoredDuringExecution: the node matches at least one term; a
//   term matches when all its matchExpressions (labels) and matchFields (metadata.name) do;
//   a term with neither matches nothing; a term with a requirement that is not valid
//   (In/NotIn without values, Exists/DoesNotExist with values, Gt/Lt without exactly one
//   integer, an unknown operator or field) matches nothing. In: the label is one of the
//   values; NotIn: absent or none of them; Exists/DoesNotExist; Gt/Lt: the label and the
//   value are integers and compare so.
// - Every NoSchedule and NoExecute taint is tolerated by some toleration (PreferNoSchedule is
//   a preference). A toleration matches a taint when its effect is empty or the taint's, its
//   key is empty or the taint's, and its operator is Exists, or Equal (or empty) with the
//   taint's value. The DaemonSet controller adds tolerations to every DaemonSet pod
//   (DAEMONSET_TOLERATIONS): a node that is not ready, unreachable, under memory, disk or PID
//   pressure, or cordoned still runs its DaemonSet pods.

import type { NodeInfo, Taint } from './node-info.js';

export interface Toleration {
  readonly key: string;
  /** Equal (or empty) or Exists. */
  readonly operator: string;
  readonly value: string;
  /** Empty: every effect. */
  readonly effect: string;
}

export interface Requirement {
  readonly key: string;
  readonly operator: string;
  readonly values: readonly string[];
}

export interface SelectorTerm {
  readonly matchExpressions: readonly Requirement[];
  readonly matchFields: readonly Requirement[];
}

/** What of a DaemonSet's pod template decides where its pods run. */
export interface PlacementSpec {
  readonly nodeSelector: Readonly<Record<string, string>>;
  /** requiredDuringSchedulingIgnoredDuringExecution's terms; null when the template has none. */
  readonly requiredTerms: readonly SelectorTerm[] | null;
  readonly tolerations: readonly Toleration[];
  readonly hostNetwork: boolean;
}

export type PlacementCode = 'not-linux' | 'virtual-kubelet' | 'serverless' | 'node-selector' | 'node-affinity' | 'taint';

export type Placement =
  | { readonly runs: true }
  | { readonly runs: false; readonly code: PlacementCode; readonly reason: string };

/** Nodes no agent can run on, whatever the DaemonSet says: a label or a taint (key, and value when given). */
export const NODE_EXCLUSIONS: ReadonlyArray<{
  readonly code: 'not-linux' | 'virtual-kubelet' | 'serverless';
  readonly label?: { readonly key: string; readonly value?: string; readonly not?: string };
  readonly taint?: { readonly key: string };
  readonly reason: string;
}> = [
  { code: 'not-linux', label: { key: 'kubernetes.io/os', not: 'linux' }, reason: 'not a Linux node: the agent runs on Linux only' },
  { code: 'not-linux', label: { key: 'beta.kubernetes.io/os', not: 'linux' }, reason: 'not a Linux node: the agent runs on Linux only' },
  { code: 'virtual-kubelet', label: { key: 'type', value: 'virtual-kubelet' }, reason: 'a virtual-kubelet node (a virtual node backed by a serverless service): no host for an agent' },
  { code: 'virtual-kubelet', taint: { key: 'virtual-kubelet.io/provider' }, reason: 'a virtual-kubelet node (a virtual node backed by a serverless service): no host for an agent' },
  { code: 'serverless', label: { key: 'eks.amazonaws.com/compute-type', value: 'fargate' }, reason: 'an EKS Fargate node: Fargate runs no DaemonSet pods' },
];

/** The tolerations the DaemonSet controller adds to every DaemonSet pod (and the network one with hostNetwork). */
export const DAEMONSET_TOLERATIONS: readonly Toleration[] = [
  { key: 'node.kubernetes.io/not-ready', operator: 'Exists', value: '', effect: 'NoExecute' },
  { key: 'node.kubernetes.io/unreachable', operator: 'Exists', value: '', effect: 'NoExecute' },
  { key: 'node.kubernetes.io/disk-pressure', operator: 'Exists', value: '', effect: 'NoSchedule' },
  { key: 'node.kubernetes.io/memory-pressure', operator: 'Exists', value: '', effect: 'NoSchedule' },
  { key: 'node.kubernetes.io/pid-pressure', operator: 'Exists', value: '', effect: 'NoSchedule' },
  { key: 'node.kubernetes.io/unschedulable', operator: 'Exists', value: '', effect: 'NoSchedule' },
];
const HOST_NETWORK_TOLERATION: Toleration = { key: 'node.kubernetes.io/network-unavailable', operator: 'Exists', value: '', effect: 'NoSchedule' };

export function toleratesTaint(t: Toleration, taint: Taint): boolean {
  if (t.effect !== '' && t.effect !== taint.effect) return false;
  if (t.key !== '' && t.key !== taint.key) return false;
  if (t.operator === '' || t.operator === 'Equal') return t.value === taint.value;
  return t.operator === 'Exists';
}

/** A base-10 int64, as Kubernetes parses Gt/Lt operands; undefined otherwise. */
function int64(s: string): bigint | undefined {
  if (!/^[+-]?\d{1,19}$/.test(s)) return undefined;
  const v = BigInt(s);
  return v >= -(2n ** 63n) && v < 2n ** 63n ? v : undefined;
}

/** One requirement against a value (undefined: absent); undefined when the requirement is not valid. */
function requirementMatches(r: Requirement, value: string | undefined, fields: boolean): boolean | undefined {
  switch (r.operator) {
    case 'In':
    case 'NotIn': {
      if (r.values.length === 0) return undefined;
      const inSet = value !== undefined && r.values.includes(value);
      return r.operator === 'In' ? inSet : !inSet;
    }
    case 'Exists':
    case 'DoesNotExist':
      if (fields || r.values.length > 0) return undefined;
      return r.operator === 'Exists' ? value !== undefined : value === undefined;
    case 'Gt':
    case 'Lt': {
      if (fields || r.values.length !== 1) return undefined;
      const want = int64(r.values[0] as string);
      if (want === undefined) return undefined;
      const have = value === undefined ? undefined : int64(value);
      if (have === undefined) return false;
      return r.operator === 'Gt' ? have > want : have < want;
    }
    default:
      return undefined;
  }
}

function termMatches(term: SelectorTerm, node: NodeInfo): boolean {
  if (term.matchExpressions.length === 0 && term.matchFields.length === 0) return false;
  for (const r of term.matchExpressions) {
    if (requirementMatches(r, Object.hasOwn(node.labels, r.key) ? node.labels[r.key] : undefined, false) !== true) return false;
  }
  for (const r of term.matchFields) {
    if (r.key !== 'metadata.name') return false;
    if (requirementMatches(r, node.name, true) !== true) return false;
  }
  return true;
}

function describeTaint(t: Taint): string {
  return `${t.key}${t.value ? `=${t.value}` : ''}:${t.effect}`;
}

/** Whether the DaemonSet described by `spec` runs a pod on `node`, and why not. */
export function placement(spec: PlacementSpec, node: NodeInfo): Placement {
  for (const x of NODE_EXCLUSIONS) {
    if (x.label) {
      const v = Object.hasOwn(node.labels, x.label.key) ? node.labels[x.label.key] : undefined;
      const hit = v !== undefined && (x.label.not !== undefined ? v !== x.label.not : x.label.value === undefined || v === x.label.value);
      if (hit) return { runs: false, code: x.code, reason: `${x.reason} (label ${x.label.key}=${v})` };
    }
    if (x.taint) {
      const t = node.taints.find((taint) => taint.key === x.taint!.key);
      if (t) return { runs: false, code: x.code, reason: `${x.reason} (taint ${describeTaint(t)})` };
    }
  }
  for (const [k, v] of Object.entries(spec.nodeSelector)) {
    const have = Object.hasOwn(node.labels, k) ? node.labels[k] : undefined;
    if (have !== v) {
      return { runs: false, code: 'node-selector', reason: `the agent DaemonSet's nodeSelector asks for ${k}=${v}; the node has ${have === undefined ? 'no such label' : `${k}=${have}`}` };
    }
  }
  if (spec.requiredTerms !== null && !spec.requiredTerms.some((term) => termMatches(term, node))) {
    return { runs: false, code: 'node-affinity', reason: "the node matches none of the agent DaemonSet's required node affinity terms" };
  }
  const tolerations = [...spec.tolerations, ...DAEMONSET_TOLERATIONS, ...(spec.hostNetwork ? [HOST_NETWORK_TOLERATION] : [])];
  for (const taint of node.taints) {
    if (taint.effect !== 'NoSchedule' && taint.effect !== 'NoExecute') continue;
    if (!tolerations.some((t) => toleratesTaint(t, taint))) {
      return { runs: false, code: 'taint', reason: `the node's taint ${describeTaint(taint)} is not tolerated by the agent DaemonSet` };
    }
  }
  return { runs: true };
}

// --- the DaemonSet's pod template ------------------------------------------------------------

/** Bounds on what is read of a pod template: far beyond a real DaemonSet. */
const SPEC_LIMITS = { maxSelector: 256, maxTerms: 64, maxRequirements: 64, maxValues: 1024, maxTolerations: 256, maxString: 317 } as const;

type Obj = Record<string, unknown>;
const obj = (v: unknown): Obj | undefined => (typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Obj) : undefined);
const str = (v: unknown): string | undefined => (v === undefined || v === null ? '' : typeof v === 'string' && v.length <= SPEC_LIMITS.maxString ? v : undefined);

class SpecError extends Error {}

function list(v: unknown, max: number, what: string): unknown[] {
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v)) throw new SpecError(`${what} is not a list`);
  if (v.length > max) throw new SpecError(`${what} has more than ${max} entries`);
  return v;
}

function requirement(v: unknown, what: string): Requirement {
  const r = obj(v);
  const key = str(r?.key);
  const operator = str(r?.operator);
  if (!r || !key || !operator) throw new SpecError(`${what}: a requirement without a key or an operator`);
  const values = list(r.values, SPEC_LIMITS.maxValues, `${what}.values`).map((x) => {
    const s = str(x);
    if (s === undefined || typeof x !== 'string') throw new SpecError(`${what}.values: not a string`);
    return s;
  });
  return { key, operator, values };
}

/** The placement rules of a pod spec (a DaemonSet's spec.template.spec), or why they cannot be read. */
export function placementSpecOf(podSpec: unknown): { readonly kind: 'spec'; readonly spec: PlacementSpec } | { readonly kind: 'invalid'; readonly reason: string } {
  try {
    const spec = obj(podSpec);
    if (!spec) throw new SpecError('no pod template spec');
    const nodeSelector: Record<string, string> = {};
    if (spec.nodeSelector !== undefined && spec.nodeSelector !== null) {
      const sel = obj(spec.nodeSelector);
      if (!sel) throw new SpecError('nodeSelector is not a map');
      const entries = Object.entries(sel);
      if (entries.length > SPEC_LIMITS.maxSelector) throw new SpecError(`nodeSelector has more than ${SPEC_LIMITS.maxSelector} entries`);
      for (const [k, v] of entries) {
        const value = str(v);
        if (value === undefined || typeof v !== 'string' || k === '') throw new SpecError('nodeSelector holds a value that is not a string');
        nodeSelector[k] = value;
      }
    }
    let requiredTerms: SelectorTerm[] | null = null;
    const required = obj(obj(obj(spec.affinity)?.nodeAffinity)?.requiredDuringSchedulingIgnoredDuringExecution);
    if (required) {
      requiredTerms = list(required.nodeSelectorTerms, SPEC_LIMITS.maxTerms, 'nodeSelectorTerms').map((t, i) => {
        const term = obj(t);
        if (!term) throw new SpecError(`nodeSelectorTerms[${i}] is not a term`);
        return {
          matchExpressions: list(term.matchExpressions, SPEC_LIMITS.maxRequirements, `nodeSelectorTerms[${i}].matchExpressions`).map((r) => requirement(r, `nodeSelectorTerms[${i}].matchExpressions`)),
          matchFields: list(term.matchFields, SPEC_LIMITS.maxRequirements, `nodeSelectorTerms[${i}].matchFields`).map((r) => requirement(r, `nodeSelectorTerms[${i}].matchFields`)),
        };
      });
    }
    const tolerations = list(spec.tolerations, SPEC_LIMITS.maxTolerations, 'tolerations').map((t, i) => {
      const tol = obj(t);
      const key = str(tol?.key);
      const operator = str(tol?.operator);
      const value = str(tol?.value);
      const effect = str(tol?.effect);
      if (!tol || key === undefined || operator === undefined || value === undefined || effect === undefined) throw new SpecError(`tolerations[${i}] is not a toleration`);
      return { key, operator, value, effect };
    });
    return { kind: 'spec', spec: { nodeSelector, requiredTerms, tolerations, hostNetwork: spec.hostNetwork === true } };
  } catch (err) {
    if (err instanceof SpecError) return { kind: 'invalid', reason: err.message };
    throw err;
  }
}

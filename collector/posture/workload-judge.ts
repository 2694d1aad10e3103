// The workload and namespace posture judge (pure): the checks of workload-checks.ts over the
// objects of cluster-objects.ts, in full and per watch event, as a PostureJudge (judge.ts)
// with id `workloads`.
//
// Everything a finding depends on lives in one namespace (its pods, ServiceAccounts,
// policies, quotas, limit ranges and the Namespace itself), except the cluster-wide policies
// (Calico GlobalNetworkPolicy, CiliumClusterwideNetworkPolicy), which may select pods in any
// namespace. So the state keeps the objects by namespace and a verdict per namespace: an
// event in namespace N judges N again and nothing else; a cluster-wide policy event judges
// every namespace. One pod event in a 40-pod namespace re-judges 40 pods, not the cluster.
//
// Pods are judged per workload (ownerOf in collector/kube/pod-info.ts): a 3-replica
// Deployment is one finding naming its pods, keyed `<check>|Deployment/<ns>/<name>`.
// Violations are merged over the workload's pods in pod-name order, so a finding reads the
// same whichever order the pods arrived in. Namespace checks are judged once the Namespace is
// held and holds pods.
import type { ClusterFinding, ExpectedClusterFinding, JudgeDelta, ObjectChange, PostureJudge, PostureKind } from './judge.js';
import { controlIn, CIS_BENCHMARK } from '../../proto/benchmark-refs.js';
import {
  namespaceOfKey, readCalicoPolicy, readCiliumPolicy, readMarker, readNamespace, readNetworkPolicy, readPodFacts, readServiceAccount,
  type ClusterRead, type Direction, type NamespacedMarker, type NamespaceObj, type NetPolicy, type PodFacts, type PodSelect, type ServiceAccountObj,
} from './cluster-objects.js';
import { evaluateCalico, matchesLabelSelector, type Labels } from './selectors.js';
import { WORKLOAD_CHECKS, type ClusterCheck, type NamespaceCheck, type WorkloadCheck } from './workload-checks.js';
import { EXPECTED_POSTURE, type ExpectedPosture } from './workload-defaults.js';
import { describeViolation, podViolations, serviceAccountOf, type PodContext, type Violation } from './workload-tests.js';


/** Where a kind's objects go in the state. */
type Slot = 'namespace' | 'pods' | 'serviceAccounts' | 'policies' | 'quotas' | 'limitRanges' | 'globals';

interface KindSpec extends PostureKind {
  readonly slot: Slot;
}

const kind = (k: string, name: string, path: string, slot: Slot, read: (raw: unknown) => ClusterRead<unknown>, optional?: { group: string; version: string }): KindSpec =>
  (optional ? { kind: k, name, path, slot, read, optional } : { kind: k, name, path, slot, read });

const CALICO = { group: 'crd.projectcalico.org', version: 'v1' };
const CILIUM = { group: 'cilium.io', version: 'v2' };

/** The kinds this judge reads. Calico's and Cilium's are watched only where their CRDs are served. */
export const WORKLOAD_KINDS: readonly KindSpec[] = [
  kind('Namespace', 'namespaces', '/api/v1/namespaces', 'namespace', readNamespace),
  kind('Pod', 'pods', '/api/v1/pods', 'pods', readPodFacts),
  kind('ServiceAccount', 'serviceaccounts', '/api/v1/serviceaccounts', 'serviceAccounts', readServiceAccount),
  kind('NetworkPolicy', 'networkpolicies', '/apis/networking.k8s.io/v1/networkpolicies', 'policies', readNetworkPolicy),
  kind('ResourceQuota', 'resourcequotas', '/api/v1/resourcequotas', 'quotas', (raw) => readMarker('ResourceQuota', raw)),
  kind('LimitRange', 'limitranges', '/api/v1/limitranges', 'limitRanges', (raw) => readMarker('LimitRange', raw)),
  kind('CalicoNetworkPolicy', 'networkpolicies', '/apis/crd.projectcalico.org/v1/networkpolicies', 'policies', (raw) => readCalicoPolicy(false, raw), CALICO),
  kind('CalicoGlobalNetworkPolicy', 'globalnetworkpolicies', '/apis/crd.projectcalico.org/v1/globalnetworkpolicies', 'globals', (raw) => readCalicoPolicy(true, raw), CALICO),
  kind('CiliumNetworkPolicy', 'ciliumnetworkpolicies', '/apis/cilium.io/v2/ciliumnetworkpolicies', 'policies', (raw) => readCiliumPolicy(false, raw), CILIUM),
  kind('CiliumClusterwideNetworkPolicy', 'ciliumclusterwidenetworkpolicies', '/apis/cilium.io/v2/ciliumclusterwidenetworkpolicies', 'globals', (raw) => readCiliumPolicy(true, raw), CILIUM),
];
const SPEC_BY_KIND = new Map(WORKLOAD_KINDS.map((k) => [k.kind, k] as const));

/** One namespace's objects. Policies are keyed `<kind>/<key>` (a Calico and a Kubernetes policy may share a name). */
export interface NamespaceInputs {
  readonly namespace?: NamespaceObj;
  readonly pods: ReadonlyMap<string, PodFacts>;
  /** By name. */
  readonly serviceAccounts: ReadonlyMap<string, ServiceAccountObj>;
  readonly policies: ReadonlyMap<string, NetPolicy>;
  readonly quotas: ReadonlyMap<string, NamespacedMarker>;
  readonly limitRanges: ReadonlyMap<string, NamespacedMarker>;
}

export interface Verdict {
  readonly findings: readonly ClusterFinding[];
  readonly expected: readonly ExpectedClusterFinding[];
  /** Each workload's part, with the pods and ServiceAccounts it was judged from: reused while they are the same objects. */
  readonly workloads?: ReadonlyMap<string, WorkloadVerdict>;
}

export interface WorkloadVerdict {
  readonly pods: readonly PodFacts[];
  readonly serviceAccounts: readonly (ServiceAccountObj | undefined)[];
  readonly findings: readonly ClusterFinding[];
  readonly expected: readonly ExpectedClusterFinding[];
}

const sameItems = <T>(a: readonly T[], b: readonly T[]): boolean => a.length === b.length && a.every((x, i) => x === b[i]);

export interface WorkloadState {
  readonly namespaces: ReadonlyMap<string, NamespaceInputs>;
  /** Cluster-wide policies, keyed `<kind>/<name>`. */
  readonly globals: ReadonlyMap<string, NetPolicy>;
  /** By namespace; namespaces without findings or expected ones are absent. */
  readonly verdicts: ReadonlyMap<string, Verdict>;
}

export interface WorkloadJudgeOptions {
  readonly checks?: readonly ClusterCheck[];
  readonly expected?: readonly ExpectedPosture[];
}

const EMPTY_INPUTS: NamespaceInputs = { pods: new Map(), serviceAccounts: new Map(), policies: new Map(), quotas: new Map(), limitRanges: new Map() };
const EMPTY_VERDICT: Verdict = { findings: [], expected: [] };
/** At most this many pods and violations are listed in a finding's detail (the counts are whole). */
const MAX_LISTED = 50;

/** The name the allowlist knows a check by: its id, with the direction for coverage. */
const checkName = (c: ClusterCheck): string => (c.scope === 'namespace' && c.test.op === 'policy-coverage' ? `${c.id}:${c.test.direction}` : c.id);

interface Compiled {
  readonly workloadChecks: readonly WorkloadCheck[];
  readonly namespaceChecks: readonly NamespaceCheck[];
  /** `<namespace>|<object>` -> entries. */
  readonly expected: ReadonlyMap<string, readonly ExpectedPosture[]>;
}

function compile(o: WorkloadJudgeOptions): Compiled {
  const checks = o.checks ?? WORKLOAD_CHECKS;
  const expected = new Map<string, ExpectedPosture[]>();
  for (const e of o.expected ?? EXPECTED_POSTURE) {
    const k = `${e.namespace}|${e.object}`;
    expected.set(k, [...(expected.get(k) ?? []), e]);
  }
  return {
    workloadChecks: checks.filter((c): c is WorkloadCheck => c.scope === 'workload'),
    namespaceChecks: checks.filter((c): c is NamespaceCheck => c.scope === 'namespace'),
    expected,
  };
}

function expectedWhy(c: Compiled, check: ClusterCheck, namespace: string, object: string, allMirror: boolean, violations: readonly Violation[]): string | undefined {
  const name = checkName(check);
  for (const e of c.expected.get(`${namespace}|${object}`) ?? []) {
    if (e.mirror === true && !allMirror) continue;
    if (e.checks !== 'all' && !e.checks.includes(name)) continue;
    if (e.values !== undefined && !violations.every((v) => e.values?.includes(v.value))) continue;
    return e.why;
  }
  return undefined;
}

function base(check: ClusterCheck): Pick<ClusterFinding, 'checkId' | 'title' | 'severity' | 'references' | 'cis' | 'category' | 'remediation' | 'expected'> {
  return {
    checkId: check.id, title: check.title, severity: check.severity, references: check.references,
    cis: controlIn(check.references, CIS_BENCHMARK), category: check.category, remediation: check.remediation, expected: check.title,
  };
}

const dedupe = (vs: readonly Violation[]): Violation[] => {
  const seen = new Set<string>();
  return vs.filter((v) => {
    const k = `${v.container}\u0000${v.field}\u0000${v.value}`;
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  });
};

const byName = (a: PodFacts, b: PodFacts): number => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0);
const byKey = <T extends { readonly key: string }>(a: T, b: T): number => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0);

/** `<Kind>/<namespace>/<name>` of a pod's workload. */
export const workloadKey = (pod: PodFacts): string => `${pod.owner.kind}/${pod.namespace}/${pod.owner.name}`;

function selectsPod(select: PodSelect, pod: PodFacts, ns: NamespaceObj | undefined, labels: LabelViews): boolean {
  switch (select.lang) {
    case 'label': return matchesLabelSelector(select.selector, pod.labels);
    case 'calico': return evaluateCalico(select.expr, labels.calico(pod, ns));
    case 'cilium': return matchesLabelSelector(select.selector, labels.cilium(pod, ns));
  }
}

/** A pod's labels as Calico and Cilium see them (with their namespace and ServiceAccount labels), made once per pod per judging. */
interface LabelViews {
  calico(pod: PodFacts, ns: NamespaceObj | undefined): Labels;
  cilium(pod: PodFacts, ns: NamespaceObj | undefined): Labels;
}

function labelViews(): LabelViews {
  const calico = new Map<PodFacts, Labels>();
  const cilium = new Map<PodFacts, Labels>();
  return {
    calico(pod, ns) {
      let l = calico.get(pod);
      if (!l) {
        const out: Record<string, string> = {};
        for (const [k, v] of Object.entries(ns?.labels ?? {})) out[`pcns.${k}`] = v;
        Object.assign(out, pod.labels, { 'projectcalico.org/namespace': pod.namespace, 'projectcalico.org/orchestrator': 'k8s', 'projectcalico.org/serviceaccount': serviceAccountOf(pod) });
        calico.set(pod, (l = out));
      }
      return l;
    },
    cilium(pod, ns) {
      let l = cilium.get(pod);
      if (!l) {
        const out: Record<string, string> = {};
        for (const [k, v] of Object.entries(ns?.labels ?? {})) out[`io.cilium.k8s.namespace.labels.${k}`] = v;
        Object.assign(out, pod.labels, { 'io.kubernetes.pod.namespace': pod.namespace, 'io.cilium.k8s.policy.serviceaccount': serviceAccountOf(pod) });
        cilium.set(pod, (l = out));
      }
      return l;
    },
  };
}

/** Whether some policy selects the pod for this direction; the policies that apply to its namespace are given. */
function covered(pod: PodFacts, direction: Direction, policies: readonly NetPolicy[], ns: NamespaceObj | undefined, labels: LabelViews): boolean {
  for (const p of policies) {
    if (p.namespaceSelect !== undefined) {
      const nsLabels = { ...(ns?.labels ?? {}), 'projectcalico.org/name': pod.namespace };
      if (!evaluateCalico(p.namespaceSelect, nsLabels)) continue;
    }
    for (const r of p.rules) if (r[direction] && selectsPod(r.select, pod, ns, labels)) return true;
  }
  return false;
}

/**
 * Every check on one namespace's objects. With the namespace's previous verdict, a workload
 * whose pods and ServiceAccounts are the same objects (read values are immutable) keeps its
 * part: one pod event judges one workload again, plus the namespace checks.
 */
function judgeNamespace(name: string, inputs: NamespaceInputs, globals: ReadonlyMap<string, NetPolicy>, c: Compiled, previous?: Verdict): Verdict {
  let findings: ClusterFinding[] = [];
  let expected: ExpectedClusterFinding[] = [];
  const place = (f: ClusterFinding, why: string | undefined): void => {
    if (why !== undefined) expected.push({ finding: f, why });
    else findings.push(f);
  };
  const nsFindings = findings;
  const nsExpected = expected;
  const parts = new Map<string, WorkloadVerdict>();

  // Workloads: every replica's pod under one key.
  const workloads = new Map<string, PodFacts[]>();
  for (const pod of inputs.pods.values()) {
    const k = workloadKey(pod);
    const list = workloads.get(k);
    if (list) list.push(pod);
    else workloads.set(k, [pod]);
  }
  for (const pods of workloads.values()) pods.sort(byName);

  for (const [wKey, pods] of workloads) {
    const first = pods[0] as PodFacts;
    const object = `${first.owner.kind}/${first.owner.name}`;
    const allMirror = pods.every((p) => p.mirror);
    const subject = `${first.owner.kind} ${name}/${first.owner.name}`;
    const sas = pods.map((p) => inputs.serviceAccounts.get(serviceAccountOf(p)));
    const prev = previous?.workloads?.get(wKey);
    if (prev && sameItems(prev.pods, pods) && sameItems(prev.serviceAccounts, sas)) {
      parts.set(wKey, prev);
      continue;
    }
    findings = [];
    expected = [];
    const contexts: PodContext[] = sas.map((serviceAccount) => (serviceAccount ? { serviceAccount } : {}));
    for (const check of c.workloadChecks) {
      let offending = 0;
      const all: Violation[] = [];
      pods.forEach((p, i) => {
        const vs = podViolations(check.test, p, contexts[i] as PodContext);
        if (vs.length === 0) return;
        offending++;
        all.push(...vs);
      });
      if (offending === 0) continue;
      const violations = dedupe(all);
      const what = violations.map(describeViolation).join('; ');
      const podWord = `${pods.length} pod${pods.length === 1 ? '' : 's'}`;
      place({
        ...base(check),
        key: `${check.id}|${wKey}`,
        subject,
        object: wKey,
        actual: `${subject} (${podWord}): ${what}`,
        reason: `${check.pss ? `The Pod Security Standards' ${check.pss} level forbids this. ` : ''}Seen in ${offending} of the workload's ${podWord}.`,
        detail: {
          workload: wKey,
          namespace: name,
          pods: pods.slice(0, MAX_LISTED).map((p) => p.name),
          podCount: pods.length,
          violations: violations.slice(0, MAX_LISTED),
          violationCount: violations.length,
          ...(check.pss ? { pss: check.pss } : {}),
        },
      }, expectedWhy(c, check, name, object, allMirror, violations));
    }
    parts.set(wKey, { pods, serviceAccounts: sas, findings, expected });
  }

  findings = nsFindings;
  expected = nsExpected;
  for (const part of parts.values()) {
    findings.push(...part.findings);
    expected.push(...part.expected);
  }
  const ns = inputs.namespace;
  if (ns !== undefined && inputs.pods.size > 0) {
    const nsPolicies = [...inputs.policies.values(), ...globals.values()];
    const labels = labelViews();
    for (const check of c.namespaceChecks) {
      const test = check.test;
      let violations: Violation[] = [];
      let object = `Namespace/${name}`;
      let key = `${check.id}|${object}`;
      let subject = `Namespace ${name}`;
      let detail: Record<string, unknown> = { namespace: name };
      switch (test.op) {
        case 'psa-enforce': {
          const level = ns.psa.enforce.level;
          if (level === '') violations = [{ container: '', field: 'label pod-security.kubernetes.io/enforce', value: 'unset' }];
          else if (level === 'privileged') violations = [{ container: '', field: 'label pod-security.kubernetes.io/enforce', value: 'privileged' }];
          else if (level !== 'baseline' && level !== 'restricted') violations = [{ container: '', field: 'label pod-security.kubernetes.io/enforce', value: `not a level: ${level.slice(0, 64)}` }];
          detail = { ...detail, psa: ns.psa };
          break;
        }
        case 'has': {
          const held = test.what === 'ResourceQuota' ? inputs.quotas : inputs.limitRanges;
          if (held.size === 0) violations = [{ container: '', field: test.what, value: 'none' }];
          break;
        }
        case 'default-sa-automount': {
          const sa = inputs.serviceAccounts.get('default');
          if (sa !== undefined && sa.automountToken !== false) violations = [{ container: '', field: 'ServiceAccount default automountServiceAccountToken', value: sa.automountToken === true ? 'true' : 'unset' }];
          object = `ServiceAccount/${name}/default`;
          key = `${check.id}|${object}`;
          subject = `ServiceAccount ${name}/default`;
          break;
        }
        case 'policy-coverage': {
          // Host-network pods are outside every NetworkPolicy; the hostNetwork check names them.
          const open = new Map<string, number>();
          for (const pod of inputs.pods.values()) {
            if (pod.hostNetwork || covered(pod, test.direction, nsPolicies, ns, labels)) continue;
            const w = workloadKey(pod);
            open.set(w, (open.get(w) ?? 0) + 1);
          }
          const ws = [...open.keys()].sort();
          violations = ws.map((w) => ({ container: '', field: 'workload', value: w }));
          key = `${check.id}|${object}|${test.direction}`;
          detail = { ...detail, direction: test.direction, workloads: ws.slice(0, MAX_LISTED), workloadCount: ws.length, policies: nsPolicies.length };
          break;
        }
      }
      if (violations.length === 0) continue;
      const actual = test.op === 'policy-coverage'
        ? `${subject}: ${violations.length} workload${violations.length === 1 ? '' : 's'} that no policy selects for ${test.direction}: ${violations.slice(0, MAX_LISTED).map((v) => v.value).join(', ')}`
        : `${subject}: ${violations.map(describeViolation).join('; ')}`;
      place({
        ...base(check), key, subject, object, actual,
        reason: `The namespace holds ${inputs.pods.size} pod${inputs.pods.size === 1 ? '' : 's'}.`,
        detail: { ...detail, violations: violations.slice(0, MAX_LISTED) },
      }, expectedWhy(c, check, name, 'Namespace', false, violations));
    }
  }
  if (findings.length === 0 && expected.length === 0 && parts.size === 0) return EMPTY_VERDICT;
  return { findings: findings.sort(byKey), expected: expected.sort((a, b) => byKey(a.finding, b.finding)), workloads: parts };
}

function withObject(inputs: NamespaceInputs, slot: Exclude<Slot, 'globals'>, key: string, value: unknown | undefined): NamespaceInputs {
  if (slot === 'namespace') {
    if (value === undefined) {
      const { namespace: _gone, ...rest } = inputs;
      void _gone;
      return rest;
    }
    return { ...inputs, namespace: value as NamespaceObj };
  }
  // ServiceAccounts are held by name; everything else by the informer's key.
  const k = slot === 'serviceAccounts' ? key.slice(key.indexOf('/') + 1) : key;
  const next = new Map(inputs[slot] as ReadonlyMap<string, unknown>);
  if (value === undefined) next.delete(k);
  else next.set(k, value);
  return { ...inputs, [slot]: next };
}

const isEmpty = (i: NamespaceInputs): boolean =>
  i.namespace === undefined && i.pods.size === 0 && i.serviceAccounts.size === 0 && i.policies.size === 0 && i.quotas.size === 0 && i.limitRanges.size === 0;

/** Namespaced policies are held under `<kind>/<key>`, so the four kinds never collide. */
const storeKey = (spec: KindSpec, key: string): string => (spec.slot === 'policies' || spec.slot === 'globals' ? `${spec.kind}/${key}` : key);

function judgeAllNamespaces(namespaces: ReadonlyMap<string, NamespaceInputs>, globals: ReadonlyMap<string, NetPolicy>, c: Compiled): Map<string, Verdict> {
  const verdicts = new Map<string, Verdict>();
  for (const [name, inputs] of namespaces) {
    const v = judgeNamespace(name, inputs, globals, c);
    if (v !== EMPTY_VERDICT) verdicts.set(name, v);
  }
  return verdicts;
}

export function judgeAllWorkloads(objects: ReadonlyMap<string, ReadonlyMap<string, unknown>>, o: WorkloadJudgeOptions = {}): WorkloadState {
  return fullWith(objects, compile(o));
}

function fullWith(objects: ReadonlyMap<string, ReadonlyMap<string, unknown>>, c: Compiled): WorkloadState {
  const namespaces = new Map<string, NamespaceInputs>();
  const globals = new Map<string, NetPolicy>();
  for (const [kindName, byKey] of objects) {
    const spec = SPEC_BY_KIND.get(kindName);
    if (!spec) continue;
    for (const [key, value] of byKey) {
      if (spec.slot === 'globals') {
        globals.set(storeKey(spec, key), value as NetPolicy);
        continue;
      }
      const ns = spec.slot === 'namespace' ? key : namespaceOfKey(key);
      if (ns === '') continue;
      namespaces.set(ns, withObject(namespaces.get(ns) ?? EMPTY_INPUTS, spec.slot, storeKey(spec, key), value));
    }
  }
  return { namespaces, globals, verdicts: judgeAllNamespaces(namespaces, globals, c) };
}

export function workloadFindings(state: WorkloadState): { findings: ClusterFinding[]; expected: ExpectedClusterFinding[] } {
  const findings: ClusterFinding[] = [];
  const expected: ExpectedClusterFinding[] = [];
  for (const v of state.verdicts.values()) {
    findings.push(...v.findings);
    expected.push(...v.expected);
  }
  return { findings: findings.sort(byKey), expected: expected.sort((a, b) => byKey(a.finding, b.finding)) };
}

function applyWith(state: WorkloadState, change: ObjectChange, c: Compiled): JudgeDelta<WorkloadState> {
  const unchanged = { state, opened: [], changed: [], resolved: [] };
  const spec = SPEC_BY_KIND.get(change.kind);
  if (!spec) return unchanged;
  const value = change.type === 'upsert' ? change.value : undefined;
  if (change.type === 'upsert' && (typeof value !== 'object' || value === null)) return unchanged;
  let namespaces = state.namespaces;
  let globals = state.globals;
  let affected: readonly string[];
  if (spec.slot === 'globals') {
    const next = new Map(globals);
    if (value === undefined) next.delete(storeKey(spec, change.key));
    else next.set(storeKey(spec, change.key), value as NetPolicy);
    globals = next;
    affected = [...namespaces.keys()];
  } else {
    const ns = spec.slot === 'namespace' ? change.key : namespaceOfKey(change.key);
    if (ns === '') return unchanged;
    const inputs = withObject(namespaces.get(ns) ?? EMPTY_INPUTS, spec.slot, storeKey(spec, change.key), value);
    const next = new Map(namespaces);
    if (isEmpty(inputs)) next.delete(ns);
    else next.set(ns, inputs);
    namespaces = next;
    affected = [ns];
  }
  let verdicts = state.verdicts;
  const before: Verdict[] = [];
  const after: Verdict[] = [];
  for (const ns of affected) {
    const old = verdicts.get(ns);
    const inputs = namespaces.get(ns);
    const v = inputs ? judgeNamespace(ns, inputs, globals, c, old) : EMPTY_VERDICT;
    if (old === undefined && v === EMPTY_VERDICT) continue;
    if (verdicts === state.verdicts) verdicts = new Map(verdicts);
    if (old) before.push(old);
    if (v === EMPTY_VERDICT) (verdicts as Map<string, Verdict>).delete(ns);
    else {
      (verdicts as Map<string, Verdict>).set(ns, v);
      after.push(v);
    }
  }
  const was = new Map(before.flatMap((v) => v.findings.map((f) => [f.key, f] as const)));
  const is = new Map(after.flatMap((v) => v.findings.map((f) => [f.key, f] as const)));
  return {
    state: { namespaces, globals, verdicts },
    opened: [...is.values()].filter((f) => !was.has(f.key)).sort(byKey),
    changed: [...is.values()].filter((f) => {
      const p = was.get(f.key);
      return p !== undefined && (p.actual !== f.actual || p.severity !== f.severity);
    }).sort(byKey),
    resolved: [...was.values()].filter((f) => !is.has(f.key)).sort(byKey),
  };
}

/** The judge the posture watches register: `createWorkloadJudge()` (options for tests). */
export function createWorkloadJudge(o: WorkloadJudgeOptions = {}): PostureJudge<WorkloadState> {
  const c = compile(o);
  return {
    id: 'workloads',
    kinds: WORKLOAD_KINDS,
    full: (objects) => fullWith(objects, c),
    apply(state, change) {
      try {
        return applyWith(state, change, c);
      } catch {
        // A value that is not what this judge's readers produce: the event changes nothing.
        return { state, opened: [], changed: [], resolved: [] };
      }
    },
    findings: workloadFindings,
  };
}

export const workloadJudge: PostureJudge<WorkloadState> = createWorkloadJudge();

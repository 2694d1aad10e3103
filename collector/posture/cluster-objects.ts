// The namespaced objects the workload posture checks read (Namespaces, Pods, ServiceAccounts,
// NetworkPolicies and the policies of Calico and Cilium, ResourceQuotas, LimitRanges), each
// reduced to what the checks need (pure, never throws).
//
// The objects are untrusted JSON: anyone who may create a pod shapes one. Every list and
// string is bounded; an object that breaks a bound, or a rule the API server enforces itself,
// is refused whole with a stable code and a reason (the informer counts it and keeps going).
// A refused policy selects nothing: it can leave a finding open, never close one.
//
// A pod keeps only names and flags: the names of the Secrets and keys its environment reads,
// never a value (the API does not put Secret values in pods, and literal `env` values are not
// read at all). Its workload is its controller owner, resolved as the pod watch resolves it
// (ownerOf in collector/kube/pod-info.ts): `Deployment/shop/web` for every replica.
import { ownerOf } from '../kube/pod-info.js';
import type { PodOwner } from '../kube/types.js';
import { guardRead, MAX_NAME, nameOk, obj, refuser, type Obj } from './object-read.js';
import {
  parseCalicoSelector, readLabelSelector, DEFAULT_SELECTOR_LIMITS,
  type CalicoExpr, type Labels, type LabelSelector,
} from './selectors.js';

export const CLUSTER_REFUSAL_CODES = [
  'not-an-object',
  'bad-metadata',
  'bad-labels',
  'bad-spec',
  'too-many-containers',
  'bad-container',
  'too-many-entries',
  'bad-selector',
  'bad-policy-types',
] as const;
export type ClusterRefusalCode = (typeof CLUSTER_REFUSAL_CODES)[number];

/** What one object became: the informer's ObjectRead, with a code on refusals. */
export type ClusterRead<T> =
  | { readonly kind: 'object'; readonly key: string; readonly value: T }
  | { readonly kind: 'absent'; readonly key: string }
  | { readonly kind: 'invalid'; readonly code: ClusterRefusalCode; readonly reason: string };

export interface ClusterLimits {
  readonly maxLabels: number;
  readonly maxString: number;
  /** Regular, init and ephemeral containers of one pod. */
  readonly maxContainers: number;
  /** Volumes, env entries, envFrom entries, ports, capabilities: entries of one list. */
  readonly maxEntries: number;
}

/** Far above real objects: a pod has a handful of containers, label keys are at most 317 characters. */
export const DEFAULT_CLUSTER_LIMITS: ClusterLimits = { maxLabels: 256, maxString: 1024, maxContainers: 128, maxEntries: 1024 };

export const PSA_LEVELS = ['privileged', 'baseline', 'restricted'] as const;
export const PSA_MODES = ['enforce', 'audit', 'warn'] as const;
export type PsaMode = (typeof PSA_MODES)[number];

export interface NamespaceObj {
  readonly name: string;
  readonly labels: Labels;
  /** `pod-security.kubernetes.io/<mode>` and `<mode>-version`, as labelled ('' when absent). */
  readonly psa: Readonly<Record<PsaMode, { readonly level: string; readonly version: string }>>;
}

export interface ContainerFacts {
  readonly name: string;
  readonly type: 'container' | 'initContainer' | 'ephemeralContainer';
  /** Each as written; undefined when unset. */
  readonly privileged?: boolean;
  readonly allowPrivilegeEscalation?: boolean;
  readonly runAsUser?: number;
  readonly runAsNonRoot?: boolean;
  readonly seccomp?: string;
  readonly procMount?: string;
  readonly hostProcess?: boolean;
  readonly capAdd: readonly string[];
  readonly capDrop: readonly string[];
  readonly hostPorts: readonly number[];
  /** `VAR <- secret/key` for env valueFrom.secretKeyRef, `* <- secret` for envFrom.secretRef. Names only. */
  readonly secretEnv: readonly { readonly variable: string; readonly secret: string; readonly key: string }[];
}

export interface PodFacts {
  readonly namespace: string;
  readonly name: string;
  readonly labels: Labels;
  readonly owner: PodOwner;
  /** A static pod's mirror (controller owner is a Node): it has no ServiceAccount or token. */
  readonly mirror: boolean;
  /** '' when unset: the API server's admission fills in `default`. */
  readonly serviceAccount: string;
  readonly automountToken?: boolean;
  readonly hostNetwork: boolean;
  readonly hostPID: boolean;
  readonly hostIPC: boolean;
  readonly hostProcess?: boolean;
  readonly runAsUser?: number;
  readonly runAsNonRoot?: boolean;
  readonly seccomp?: string;
  /** `<volume>: <path>` of each hostPath volume. */
  readonly hostPaths: readonly { readonly volume: string; readonly path: string }[];
  readonly containers: readonly ContainerFacts[];
}

export interface ServiceAccountObj {
  readonly namespace: string;
  readonly name: string;
  readonly automountToken?: boolean;
}

export type Direction = 'ingress' | 'egress';

/** How a policy picks pods. */
export type PodSelect =
  | { readonly lang: 'label'; readonly selector: LabelSelector }
  | { readonly lang: 'calico'; readonly expr: CalicoExpr }
  /** Cilium: a LabelSelector over the pod's labels plus Cilium's namespace and ServiceAccount labels, `k8s:` prefixes read. */
  | { readonly lang: 'cilium'; readonly selector: LabelSelector };

export type PolicySource = 'NetworkPolicy' | 'CalicoNetworkPolicy' | 'CalicoGlobalNetworkPolicy' | 'CiliumNetworkPolicy' | 'CiliumClusterwideNetworkPolicy';

export interface NetPolicy {
  readonly source: PolicySource;
  /** '' for the cluster-wide ones. */
  readonly namespace: string;
  readonly name: string;
  /** One per rule (Cilium's `specs` hold several): the pods it selects and the directions it covers for them. */
  readonly rules: readonly PolicyRule[];
  /** Calico GlobalNetworkPolicy: which namespaces (over the namespace's labels). */
  readonly namespaceSelect?: CalicoExpr;
}

export interface PolicyRule {
  readonly select: PodSelect;
  readonly ingress: boolean;
  readonly egress: boolean;
}

/** A ResourceQuota or a LimitRange: only that it exists in its namespace. */
export interface NamespacedMarker {
  readonly namespace: string;
  readonly name: string;
}

const refuse = refuser<ClusterRefusalCode>();

function guarded<T>(what: string, key: () => string, read: () => T | 'absent'): ClusterRead<T> {
  const r = guardRead<{ value: T | 'absent'; key: string }, ClusterRefusalCode>(what, () => {
    const value = read();
    return { value, key: key() };
  });
  if ('code' in r) return { kind: 'invalid', code: r.code, reason: r.reason };
  return r.value.value === 'absent' ? { kind: 'absent', key: r.value.key } : { kind: 'object', key: r.value.key, value: r.value.value };
}

function readMeta(what: string, raw: unknown, namespaced: boolean): { o: Obj; meta: Obj; namespace: string; name: string } {
  const o = obj(raw) ?? refuse('not-an-object', 'not a JSON object');
  const meta = obj(o.metadata) ?? refuse('bad-metadata', 'no metadata');
  if (!nameOk(meta.name)) refuse('bad-metadata', `metadata.name must be 1 to ${MAX_NAME} characters`);
  const ns = meta.namespace;
  if (namespaced && !nameOk(ns)) refuse('bad-metadata', `a ${what} needs metadata.namespace`);
  if (!namespaced && ns !== undefined && ns !== '') refuse('bad-metadata', `a ${what} is cluster-scoped but names a namespace`);
  return { o, meta, namespace: namespaced ? (ns as string) : '', name: meta.name as string };
}

function readLabels(v: unknown, limits: ClusterLimits, at = 'metadata.labels'): Record<string, string> {
  if (v === undefined || v === null) return {};
  const labels = obj(v) ?? refuse('bad-labels', `${at} is not an object`);
  const entries = Object.entries(labels);
  if (entries.length > limits.maxLabels) refuse('bad-labels', `${entries.length} labels, more than ${limits.maxLabels}`);
  const out: Record<string, string> = {};
  for (const [k, val] of entries) {
    if (typeof val !== 'string' || k.length > limits.maxString || val.length > limits.maxString) refuse('bad-labels', `${at} holds an entry that is not a bounded string`);
    out[k] = val as string;
  }
  return out;
}

const optBool = (v: unknown, at: string): boolean | undefined => {
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'boolean') refuse('bad-spec', `${at} is not a boolean`);
  return v as boolean;
};
const optInt = (v: unknown, at: string): number | undefined => {
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'number' || !Number.isSafeInteger(v)) refuse('bad-spec', `${at} is not an integer`);
  return v as number;
};
const optString = (v: unknown, at: string, limits: ClusterLimits): string | undefined => {
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'string' || v.length > limits.maxString) refuse('bad-spec', `${at} is not a bounded string`);
  return v as string;
};
function list(v: unknown, at: string, max: number, code: ClusterRefusalCode = 'too-many-entries'): unknown[] {
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v)) refuse('bad-spec', `${at} is not a list`);
  if ((v as unknown[]).length > max) refuse(code, `${at} has ${(v as unknown[]).length} entries, more than ${max}`);
  return v as unknown[];
}

export const namespacedKey = (namespace: string, name: string): string => `${namespace}/${name}`;

/** The namespace of a namespaced object's key (`shop/web` -> `shop`). */
export const namespaceOfKey = (key: string): string => {
  const i = key.indexOf('/');
  return i < 0 ? '' : key.slice(0, i);
};

export function readNamespace(raw: unknown, limits: ClusterLimits = DEFAULT_CLUSTER_LIMITS): ClusterRead<NamespaceObj> {
  let key = '';
  return guarded('Namespace', () => key, () => {
    const { meta, name } = readMeta('Namespace', raw, false);
    key = name;
    const labels = readLabels(meta.labels, limits);
    const mode = (m: PsaMode) => ({ level: labels[`pod-security.kubernetes.io/${m}`] ?? '', version: labels[`pod-security.kubernetes.io/${m}-version`] ?? '' });
    return { name, labels, psa: { enforce: mode('enforce'), audit: mode('audit'), warn: mode('warn') } };
  });
}

export function readServiceAccount(raw: unknown): ClusterRead<ServiceAccountObj> {
  let key = '';
  return guarded('ServiceAccount', () => key, () => {
    const { o, namespace, name } = readMeta('ServiceAccount', raw, true);
    key = namespacedKey(namespace, name);
    const automountToken = optBool(o.automountServiceAccountToken, 'automountServiceAccountToken');
    return automountToken === undefined ? { namespace, name } : { namespace, name, automountToken };
  });
}

export function readMarker(kind: 'ResourceQuota' | 'LimitRange', raw: unknown): ClusterRead<NamespacedMarker> {
  let key = '';
  return guarded(kind, () => key, () => {
    const { namespace, name } = readMeta(kind, raw, true);
    key = namespacedKey(namespace, name);
    return { namespace, name };
  });
}

/** A pod, reduced; a finished pod (Succeeded, Failed) runs nothing and is `absent`. */
export function readPodFacts(raw: unknown, limits: ClusterLimits = DEFAULT_CLUSTER_LIMITS): ClusterRead<PodFacts> {
  let key = '';
  return guarded('Pod', () => key, () => {
    const { o, meta, namespace, name } = readMeta('Pod', raw, true);
    key = namespacedKey(namespace, name);
    const labels = readLabels(meta.labels, limits);
    const phase = obj(o.status)?.phase;
    if (phase === 'Succeeded' || phase === 'Failed') return 'absent';
    const spec = obj(o.spec) ?? refuse('bad-spec', 'no spec');
    const node = typeof spec.nodeName === 'string' && spec.nodeName.length <= MAX_NAME ? spec.nodeName : '';
    const owner = ownerOf(meta, name, node);
    const refs = Array.isArray(meta.ownerReferences) ? meta.ownerReferences.map(obj) : [];
    const mirror = refs.some((r) => r?.controller === true && r.kind === 'Node');
    const sc = obj(spec.securityContext) ?? {};
    const hostPaths: { volume: string; path: string }[] = [];
    for (const [i, v] of list(spec.volumes, 'spec.volumes', limits.maxEntries).entries()) {
      const vol = obj(v) ?? refuse('bad-spec', `spec.volumes[${i}] is not an object`);
      const hp = obj(vol.hostPath);
      if (!hp) continue;
      const path = optString(hp.path, `spec.volumes[${i}].hostPath.path`, limits) ?? '';
      hostPaths.push({ volume: typeof vol.name === 'string' ? vol.name.slice(0, MAX_NAME) : `#${i}`, path });
    }
    const containers: ContainerFacts[] = [];
    for (const [field, type] of [['containers', 'container'], ['initContainers', 'initContainer'], ['ephemeralContainers', 'ephemeralContainer']] as const) {
      for (const [i, c] of list(spec[field], `spec.${field}`, limits.maxContainers, 'too-many-containers').entries()) {
        if (containers.length >= limits.maxContainers) refuse('too-many-containers', `more than ${limits.maxContainers} containers`);
        containers.push(readContainer(c, `spec.${field}[${i}]`, type, limits));
      }
    }
    const sa = spec.serviceAccountName ?? spec.serviceAccount;
    const serviceAccount = sa === undefined || sa === null || sa === '' ? '' : nameOk(sa) ? sa : refuse('bad-spec', 'spec.serviceAccountName must be 1 to 253 characters');
    const facts: PodFacts = {
      namespace, name, labels, owner, mirror, serviceAccount,
      automountToken: optBool(spec.automountServiceAccountToken, 'spec.automountServiceAccountToken'),
      hostNetwork: optBool(spec.hostNetwork, 'spec.hostNetwork') === true,
      hostPID: optBool(spec.hostPID, 'spec.hostPID') === true,
      hostIPC: optBool(spec.hostIPC, 'spec.hostIPC') === true,
      hostProcess: optBool(obj(sc.windowsOptions)?.hostProcess, 'spec.securityContext.windowsOptions.hostProcess'),
      runAsUser: optInt(sc.runAsUser, 'spec.securityContext.runAsUser'),
      runAsNonRoot: optBool(sc.runAsNonRoot, 'spec.securityContext.runAsNonRoot'),
      seccomp: optString(obj(sc.seccompProfile)?.type, 'spec.securityContext.seccompProfile.type', limits),
      hostPaths,
      containers,
    };
    return dropUndefined(facts);
  });
}

function readContainer(raw: unknown, at: string, type: ContainerFacts['type'], limits: ClusterLimits): ContainerFacts {
  const c = obj(raw) ?? refuse('bad-container', `${at} is not an object`);
  if (!nameOk(c.name)) refuse('bad-container', `${at}.name must be 1 to ${MAX_NAME} characters`);
  const sc = obj(c.securityContext) ?? {};
  const caps = obj(sc.capabilities) ?? {};
  const strings = (v: unknown, where: string): string[] => list(v, where, limits.maxEntries).map((s) => {
    if (typeof s !== 'string' || s.length > limits.maxString) refuse('bad-container', `${where} holds a non-string`);
    return s as string;
  });
  const hostPorts: number[] = [];
  for (const p of list(c.ports, `${at}.ports`, limits.maxEntries)) {
    const hp = optInt(obj(p)?.hostPort, `${at}.ports[].hostPort`);
    if (hp !== undefined && hp !== 0) hostPorts.push(hp);
  }
  const secretEnv: { variable: string; secret: string; key: string }[] = [];
  for (const e of list(c.env, `${at}.env`, limits.maxEntries)) {
    const ref = obj(obj(obj(e)?.valueFrom)?.secretKeyRef);
    if (!ref) continue;
    const variable = optString(obj(e)?.name, `${at}.env[].name`, limits) ?? '';
    secretEnv.push({ variable, secret: optString(ref.name, `${at}.env[].valueFrom.secretKeyRef.name`, limits) ?? '', key: optString(ref.key, `${at}.env[].valueFrom.secretKeyRef.key`, limits) ?? '' });
  }
  for (const e of list(c.envFrom, `${at}.envFrom`, limits.maxEntries)) {
    const ref = obj(obj(e)?.secretRef);
    if (!ref) continue;
    const prefix = optString(obj(e)?.prefix, `${at}.envFrom[].prefix`, limits) ?? '';
    secretEnv.push({ variable: `${prefix}*`, secret: optString(ref.name, `${at}.envFrom[].secretRef.name`, limits) ?? '', key: '*' });
  }
  return dropUndefined({
    name: c.name as string,
    type,
    privileged: optBool(sc.privileged, `${at}.securityContext.privileged`),
    allowPrivilegeEscalation: optBool(sc.allowPrivilegeEscalation, `${at}.securityContext.allowPrivilegeEscalation`),
    runAsUser: optInt(sc.runAsUser, `${at}.securityContext.runAsUser`),
    runAsNonRoot: optBool(sc.runAsNonRoot, `${at}.securityContext.runAsNonRoot`),
    seccomp: optString(obj(sc.seccompProfile)?.type, `${at}.securityContext.seccompProfile.type`, limits),
    procMount: optString(sc.procMount, `${at}.securityContext.procMount`, limits),
    hostProcess: optBool(obj(sc.windowsOptions)?.hostProcess, `${at}.securityContext.windowsOptions.hostProcess`),
    capAdd: strings(caps.add, `${at}.securityContext.capabilities.add`),
    capDrop: strings(caps.drop, `${at}.securityContext.capabilities.drop`),
    hostPorts,
    secretEnv,
  });
}

/** Optional fields left out rather than present as undefined (so a read compares equal to its JSON round trip). */
function dropUndefined<T extends object>(o: T): T {
  for (const k of Object.keys(o) as (keyof T)[]) if (o[k] === undefined) delete o[k];
  return o;
}

/** The directions a policy covers, from its written types or from what it holds. */
function readTypes(types: unknown, hasIngress: boolean, hasEgress: boolean, calico: boolean): { ingress: boolean; egress: boolean } {
  if (types === undefined || types === null || (Array.isArray(types) && types.length === 0)) {
    // NetworkPolicy: Ingress always, Egress when egress rules are written. Calico: Egress when
    // egress rules are written, Ingress when ingress rules are, or when neither is.
    if (calico) return { ingress: hasIngress || !hasEgress, egress: hasEgress };
    return { ingress: true, egress: hasEgress };
  }
  if (!Array.isArray(types) || types.length > 2) refuse('bad-policy-types', 'policyTypes/types is not a list of at most two');
  const out = { ingress: false, egress: false };
  for (const t of types as unknown[]) {
    if (t === 'Ingress') out.ingress = true;
    else if (t === 'Egress') out.egress = true;
    else refuse('bad-policy-types', `unknown policy type ${JSON.stringify(String(t).slice(0, 32))}`);
  }
  return out;
}

const nonEmptyList = (v: unknown): boolean => Array.isArray(v) && v.length > 0;

export function readNetworkPolicy(raw: unknown): ClusterRead<NetPolicy> {
  let key = '';
  return guarded('NetworkPolicy', () => key, () => {
    const { o, namespace, name } = readMeta('NetworkPolicy', raw, true);
    key = namespacedKey(namespace, name);
    const spec = obj(o.spec) ?? refuse('bad-spec', 'no spec');
    const sel = readLabelSelector(spec.podSelector, DEFAULT_SELECTOR_LIMITS);
    if (typeof sel === 'string') refuse('bad-selector', `spec.podSelector: ${sel}`);
    const { ingress, egress } = readTypes(spec.policyTypes, true, nonEmptyList(spec.egress), false);
    return { source: 'NetworkPolicy', namespace, name, rules: [{ select: { lang: 'label', selector: sel as LabelSelector }, ingress, egress }] };
  });
}

export function readCalicoPolicy(global: boolean, raw: unknown): ClusterRead<NetPolicy> {
  const what = global ? 'GlobalNetworkPolicy' : 'Calico NetworkPolicy';
  let key = '';
  return guarded(what, () => key, () => {
    const { o, namespace, name } = readMeta(what, raw, !global);
    key = global ? name : namespacedKey(namespace, name);
    const spec = obj(o.spec) ?? refuse('bad-spec', 'no spec');
    const expr = parseCalicoSelector(spec.selector);
    if (typeof expr === 'string') refuse('bad-selector', `spec.selector: ${expr}`);
    // A ServiceAccount selector narrows the policy to pods of some ServiceAccounts, by the
    // ServiceAccounts' labels, which are not read here: refused rather than guessed.
    if (spec.serviceAccountSelector !== undefined && spec.serviceAccountSelector !== null && spec.serviceAccountSelector !== '') {
      refuse('bad-selector', 'spec.serviceAccountSelector is not read');
    }
    let namespaceSelect: CalicoExpr | undefined;
    if (global && spec.namespaceSelector !== undefined && spec.namespaceSelector !== null && spec.namespaceSelector !== '') {
      const ns = parseCalicoSelector(spec.namespaceSelector);
      if (typeof ns === 'string') refuse('bad-selector', `spec.namespaceSelector: ${ns}`);
      namespaceSelect = ns as CalicoExpr;
    }
    const { ingress, egress } = readTypes(spec.types, nonEmptyList(spec.ingress), nonEmptyList(spec.egress), true);
    const policy: NetPolicy = {
      source: global ? 'CalicoGlobalNetworkPolicy' : 'CalicoNetworkPolicy', namespace, name,
      rules: [{ select: { lang: 'calico', expr: expr as CalicoExpr }, ingress, egress }],
    };
    return namespaceSelect ? { ...policy, namespaceSelect } : policy;
  });
}

export function readCiliumPolicy(clusterwide: boolean, raw: unknown): ClusterRead<NetPolicy> {
  const what = clusterwide ? 'CiliumClusterwideNetworkPolicy' : 'CiliumNetworkPolicy';
  let key = '';
  return guarded(what, () => key, () => {
    const { o, namespace, name } = readMeta(what, raw, !clusterwide);
    key = clusterwide ? name : namespacedKey(namespace, name);
    // One rule in `spec`, or several in `specs`.
    const rules = [...(o.spec === undefined || o.spec === null ? [] : [o.spec]), ...list(o.specs, 'specs', 256)];
    if (rules.length === 0) refuse('bad-spec', 'neither spec nor specs');
    const out: PolicyRule[] = [];
    for (const [i, r] of rules.entries()) {
      const rule = obj(r) ?? refuse('bad-spec', `rule ${i} is not an object`);
      // A rule with a nodeSelector applies to nodes (host policies), not to pods.
      if (rule.endpointSelector === undefined || rule.endpointSelector === null) {
        if (rule.nodeSelector !== undefined) continue;
        refuse('bad-selector', `rule ${i} has neither endpointSelector nor nodeSelector`);
      }
      const sel = readLabelSelector(rule.endpointSelector);
      if (typeof sel === 'string') refuse('bad-selector', `rule ${i} endpointSelector: ${sel}`);
      out.push({
        select: { lang: 'cilium', selector: ciliumKeys(sel as LabelSelector) },
        ingress: Array.isArray(rule.ingress) || Array.isArray(rule.ingressDeny),
        egress: Array.isArray(rule.egress) || Array.isArray(rule.egressDeny),
      });
    }
    return { source: clusterwide ? 'CiliumClusterwideNetworkPolicy' : 'CiliumNetworkPolicy', namespace, name, rules: out };
  });
}

/**
 * Cilium writes label keys with their source: `k8s:app` and `any:app` are the pod label `app`;
 * other sources (`reserved:host`, `cidr:...`) name no pod label and keep their prefix, so they
 * match no pod (a Kubernetes label key cannot hold a colon).
 */
function ciliumKeys(sel: LabelSelector): LabelSelector {
  const key = (k: string): string => (k.startsWith('k8s:') ? k.slice(4) : k.startsWith('any:') ? k.slice(4) : k);
  const matchLabels: Record<string, string> = {};
  for (const [k, v] of Object.entries(sel.matchLabels)) matchLabels[key(k)] = v;
  return { matchLabels, matchExpressions: sel.matchExpressions.map((r) => ({ ...r, key: key(r.key) })) };
}

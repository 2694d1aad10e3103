// RBAC objects from the Kubernetes API (ClusterRoles, Roles, ClusterRoleBindings,
// RoleBindings) reduced to what the posture checks and who-can read (pure, never throws).
//
// The objects are untrusted JSON: anyone who may write RBAC objects shapes them. Every list
// and string is bounded, and an object that breaks a bound or a rule the API server itself
// enforces (a rule that names both resources and non-resource URLs, a ClusterRoleBinding to a
// Role, a ServiceAccount subject without a namespace in a ClusterRoleBinding) is refused
// whole, with a stable code and a reason: the caller counts it and keeps going. A refused
// object grants nothing here, so a refusal is never silent: it is counted where the model is
// built (rbac-model.ts) and shown with what was judged.
//
// The readers fit the informer's `read` (collector/kube/informer.ts): they return
// `{kind: 'object', key, value}` or `{kind: 'invalid', reason}`.
//
// Aggregated ClusterRoles (`aggregationRule`) are read as the API server serves them: their
// `rules` are the union the controller manager filled in. The selector is kept only to say
// that the role is aggregated.

import { guardRead, MAX_NAME, nameOk, obj, refuser, type Obj } from './object-read.js';

export type RoleKind = 'ClusterRole' | 'Role';
export type BindingKind = 'ClusterRoleBinding' | 'RoleBinding';
export type RbacKind = RoleKind | BindingKind;
export const RBAC_KINDS: readonly RbacKind[] = ['ClusterRole', 'Role', 'ClusterRoleBinding', 'RoleBinding'];

/** One PolicyRule, as written; absent lists are empty. */
export interface PolicyRule {
  readonly verbs: readonly string[];
  readonly apiGroups: readonly string[];
  readonly resources: readonly string[];
  readonly resourceNames: readonly string[];
  readonly nonResourceURLs: readonly string[];
}

export interface RbacRole {
  readonly kind: RoleKind;
  /** '' for a ClusterRole. */
  readonly namespace: string;
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly rules: readonly PolicyRule[];
  /** Has an aggregationRule: its rules are the ones the controller manager aggregated. */
  readonly aggregated: boolean;
}

export type Subject =
  | { readonly kind: 'User' | 'Group'; readonly name: string }
  /** The namespace as written or, in a RoleBinding that leaves it empty, the binding's (as the authorizer reads it). */
  | { readonly kind: 'ServiceAccount'; readonly name: string; readonly namespace: string };

export interface RoleRef {
  readonly kind: RoleKind;
  readonly name: string;
}

export interface RbacBinding {
  readonly kind: BindingKind;
  /** '' for a ClusterRoleBinding. */
  readonly namespace: string;
  readonly name: string;
  readonly roleRef: RoleRef;
  readonly subjects: readonly Subject[];
}

export interface RbacLimits {
  readonly maxRules: number;
  /** Entries in one of a rule's lists (verbs, apiGroups, resources, resourceNames, nonResourceURLs). */
  readonly maxRuleEntries: number;
  readonly maxSubjects: number;
  readonly maxLabels: number;
  /** Characters of a name, a rule entry or a label. */
  readonly maxString: number;
}

/**
 * Far above what real objects hold: the aggregated `admin` role serves about 60 rules,
 * bindings name a handful of subjects, Kubernetes names are at most 253 characters.
 */
export const DEFAULT_RBAC_LIMITS: RbacLimits = { maxRules: 1024, maxRuleEntries: 256, maxSubjects: 1024, maxLabels: 64, maxString: 1024 };

/** Why an object was refused: a closed set, so refusals can be counted by code. */
export const REFUSAL_CODES = [
  'not-an-object',
  'bad-metadata',
  'bad-labels',
  'bad-rules',
  'too-many-rules',
  'bad-rule',
  'bad-role-ref',
  'bad-subjects',
  'too-many-subjects',
  'bad-subject',
] as const;
export type RefusalCode = (typeof REFUSAL_CODES)[number];

export type RbacRead<T> =
  | { readonly kind: 'object'; readonly key: string; readonly value: T }
  | { readonly kind: 'invalid'; readonly code: RefusalCode; readonly reason: string };

const RBAC_GROUP = 'rbac.authorization.k8s.io';
const RULE_FIELDS = ['verbs', 'apiGroups', 'resources', 'resourceNames', 'nonResourceURLs'] as const;

const refuse = refuser<RefusalCode>();

/** How a role or binding is keyed: `name` cluster-wide, `namespace/name` in a namespace. */
export const objectKey = (namespace: string, name: string): string => (namespace === '' ? name : `${namespace}/${name}`);

/** `ClusterRole/cluster-admin`, `RoleBinding/kube-public/kubeadm:bootstrap-signer-clusterinfo`. */
export const describeObject = (o: { readonly kind: string; readonly namespace: string; readonly name: string }): string => `${o.kind}/${objectKey(o.namespace, o.name)}`;

export function describeSubject(s: Subject): string {
  return s.kind === 'ServiceAccount' ? `ServiceAccount ${s.namespace}/${s.name}` : `${s.kind} ${s.name}`;
}

/** Reads one object of `kind`; a list's items carry no kind, so the caller says which it listed. */
export function readRbacObject(kind: 'ClusterRole' | 'Role', raw: unknown, limits?: RbacLimits): RbacRead<RbacRole>;
export function readRbacObject(kind: 'ClusterRoleBinding' | 'RoleBinding', raw: unknown, limits?: RbacLimits): RbacRead<RbacBinding>;
export function readRbacObject(kind: RbacKind, raw: unknown, limits?: RbacLimits): RbacRead<RbacRole | RbacBinding>;
export function readRbacObject(kind: RbacKind, raw: unknown, limits: RbacLimits = DEFAULT_RBAC_LIMITS): RbacRead<RbacRole | RbacBinding> {
  const r = guardRead<RbacRole | RbacBinding, RefusalCode>(kind, () => (kind === 'ClusterRole' || kind === 'Role' ? readRole(kind, raw, limits) : readBinding(kind, raw, limits)));
  if ('code' in r) return { kind: 'invalid', code: r.code, reason: r.reason };
  return { kind: 'object', key: objectKey(r.value.namespace, r.value.name), value: r.value };
}

function readMeta(kind: RbacKind, raw: unknown): { o: Obj; meta: Obj; namespace: string; name: string } {
  const o = obj(raw) ?? refuse('not-an-object', 'not a JSON object');
  if (o.kind !== undefined && o.kind !== kind) refuse('not-an-object', `kind ${JSON.stringify(String(o.kind).slice(0, 64))} where ${kind} was listed`);
  const meta = obj(o.metadata) ?? refuse('bad-metadata', 'no metadata');
  const name = meta.name;
  if (!nameOk(name)) refuse('bad-metadata', `metadata.name must be 1 to ${MAX_NAME} characters`);
  const namespaced = kind === 'Role' || kind === 'RoleBinding';
  const ns = meta.namespace;
  if (namespaced && !nameOk(ns)) refuse('bad-metadata', `a ${kind} needs metadata.namespace (1 to ${MAX_NAME} characters)`);
  if (!namespaced && ns !== undefined && ns !== '') refuse('bad-metadata', `a ${kind} is cluster-scoped but names namespace ${JSON.stringify(String(ns).slice(0, 64))}`);
  return { o, meta, namespace: namespaced ? (ns as string) : '', name: name as string };
}

function readLabels(meta: Obj, limits: RbacLimits): Record<string, string> {
  if (meta.labels === undefined || meta.labels === null) return {};
  const labels = obj(meta.labels) ?? refuse('bad-labels', 'metadata.labels is not an object');
  const entries = Object.entries(labels);
  if (entries.length > limits.maxLabels) refuse('bad-labels', `${entries.length} labels, more than ${limits.maxLabels}`);
  const out: Record<string, string> = {};
  for (const [k, v] of entries) {
    if (typeof v !== 'string') refuse('bad-labels', `label ${JSON.stringify(k.slice(0, 64))} is not a string`);
    if (k.length > limits.maxString || (v as string).length > limits.maxString) refuse('bad-labels', `a label longer than ${limits.maxString} characters`);
    out[k] = v as string;
  }
  return out;
}

function readRole(kind: RoleKind, raw: unknown, limits: RbacLimits): RbacRole {
  const { o, meta, namespace, name } = readMeta(kind, raw);
  const labels = readLabels(meta, limits);
  const aggregated = kind === 'ClusterRole' && obj(o.aggregationRule) !== undefined;
  // An aggregated role the controller has not filled yet serves no rules: null or absent.
  const list = o.rules === undefined || o.rules === null ? [] : o.rules;
  if (!Array.isArray(list)) refuse('bad-rules', 'rules is not a list');
  const rulesIn = list as unknown[];
  if (rulesIn.length > limits.maxRules) refuse('too-many-rules', `${rulesIn.length} rules, more than ${limits.maxRules}`);
  const rules = rulesIn.map((r, i) => readRule(kind, r, i, limits));
  return { kind, namespace, name, labels, rules, aggregated };
}

function readRule(kind: RoleKind, raw: unknown, index: number, limits: RbacLimits): PolicyRule {
  const at = `rules[${index}]`;
  const r = obj(raw) ?? refuse('bad-rule', `${at} is not an object`);
  const lists = {} as Record<(typeof RULE_FIELDS)[number], string[]>;
  for (const field of RULE_FIELDS) {
    const v = r[field];
    if (v === undefined || v === null) {
      lists[field] = [];
      continue;
    }
    if (!Array.isArray(v)) refuse('bad-rule', `${at}.${field} is not a list`);
    const items = v as unknown[];
    if (items.length > limits.maxRuleEntries) refuse('bad-rule', `${at}.${field} has ${items.length} entries, more than ${limits.maxRuleEntries}`);
    for (const item of items) {
      if (typeof item !== 'string') refuse('bad-rule', `${at}.${field} holds a ${item === null ? 'null' : typeof item}, not a string`);
      if ((item as string).length > limits.maxString) refuse('bad-rule', `${at}.${field} holds an entry longer than ${limits.maxString} characters`);
    }
    lists[field] = [...(items as string[])];
  }
  // What the API server itself refuses to store.
  if (lists.verbs.length === 0) refuse('bad-rule', `${at} has no verbs`);
  const resourceRule = lists.resources.length > 0 || lists.apiGroups.length > 0 || lists.resourceNames.length > 0;
  if (resourceRule && lists.nonResourceURLs.length > 0) refuse('bad-rule', `${at} names both resources and nonResourceURLs`);
  if (lists.nonResourceURLs.length > 0 && kind === 'Role') refuse('bad-rule', `${at}: a namespaced Role cannot name nonResourceURLs`);
  if (lists.nonResourceURLs.length === 0 && (lists.resources.length === 0 || lists.apiGroups.length === 0)) {
    refuse('bad-rule', `${at} needs resources and apiGroups, or nonResourceURLs`);
  }
  return lists;
}

function readBinding(kind: BindingKind, raw: unknown, limits: RbacLimits): RbacBinding {
  const { o, namespace, name } = readMeta(kind, raw);
  const ref = obj(o.roleRef) ?? refuse('bad-role-ref', 'no roleRef');
  if (ref.apiGroup !== RBAC_GROUP) refuse('bad-role-ref', `roleRef.apiGroup must be ${RBAC_GROUP}`);
  if (ref.kind !== 'ClusterRole' && ref.kind !== 'Role') refuse('bad-role-ref', 'roleRef.kind must be ClusterRole or Role');
  if (kind === 'ClusterRoleBinding' && ref.kind === 'Role') refuse('bad-role-ref', 'a ClusterRoleBinding can only refer to a ClusterRole');
  if (!nameOk(ref.name)) refuse('bad-role-ref', `roleRef.name must be 1 to ${MAX_NAME} characters`);
  const roleRef: RoleRef = { kind: ref.kind as RoleKind, name: ref.name as string };
  // A binding without subjects is valid and grants nothing (the bootstrap `system:node`).
  const list = o.subjects === undefined || o.subjects === null ? [] : o.subjects;
  if (!Array.isArray(list)) refuse('bad-subjects', 'subjects is not a list');
  const items = list as unknown[];
  if (items.length > limits.maxSubjects) refuse('too-many-subjects', `${items.length} subjects, more than ${limits.maxSubjects}`);
  const subjects = items.map((s, i) => readSubject(kind, namespace, s, i, limits));
  return { kind, namespace, name, roleRef, subjects };
}

function readSubject(kind: BindingKind, bindingNamespace: string, raw: unknown, index: number, limits: RbacLimits): Subject {
  const at = `subjects[${index}]`;
  const s = obj(raw) ?? refuse('bad-subject', `${at} is not an object`);
  const name = s.name;
  if (typeof name !== 'string' || name.length === 0 || name.length > limits.maxString) refuse('bad-subject', `${at}.name must be 1 to ${limits.maxString} characters`);
  if (s.kind === 'User' || s.kind === 'Group') {
    if (s.apiGroup !== undefined && s.apiGroup !== RBAC_GROUP) refuse('bad-subject', `${at}: a ${s.kind} subject's apiGroup must be ${RBAC_GROUP}`);
    return { kind: s.kind, name: name as string };
  }
  if (s.kind === 'ServiceAccount') {
    if (s.apiGroup !== undefined && s.apiGroup !== '') refuse('bad-subject', `${at}: a ServiceAccount subject's apiGroup must be empty`);
    if (!nameOk(name)) refuse('bad-subject', `${at}.name must be 1 to ${MAX_NAME} characters`);
    const ns = s.namespace === undefined || s.namespace === '' ? '' : s.namespace;
    if (ns !== '' && !nameOk(ns)) refuse('bad-subject', `${at}.namespace must be 1 to ${MAX_NAME} characters`);
    if (ns === '' && kind === 'ClusterRoleBinding') refuse('bad-subject', `${at}: a ServiceAccount subject of a ClusterRoleBinding needs a namespace`);
    return { kind: 'ServiceAccount', name: name as string, namespace: ns === '' ? bindingNamespace : (ns as string) };
  }
  return refuse('bad-subject', `${at}.kind must be User, Group or ServiceAccount`);
}

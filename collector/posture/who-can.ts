// Who can do what, by RBAC (pure): the subjects a request is granted to, each with the binding,
// the role and the rule that grants it. The matching is the RBAC authorizer's, rule by rule:
//
//   verbs       the verb, or "*"
//   apiGroups   the group ('' is the core group), or "*"
//   resources   "*", the resource, `resource/subresource` (`pods/exec`), or `*/subresource`
//   resourceNames  empty (any object), or the requested name; a request without a name (list,
//               create, a collection) never matches a rule that names objects
//   nonResourceURLs  "*", the path, or a prefix written with a trailing "*" (`/apis/*`)
//
// ClusterRoleBindings grant everywhere; a RoleBinding grants in its namespace only, whether
// it refers to a Role or to a ClusterRole. A request without a namespace (a cluster-scoped
// resource, or every namespace at once) and a non-resource request are granted by
// ClusterRoleBindings only. A ServiceAccount is the user `system:serviceaccount:<ns>:<name>`
// in the groups `system:serviceaccounts`, `system:serviceaccounts:<ns>` and
// `system:authenticated`; a subject naming any of them reaches it.
//
// RBAC is one authorizer among several: what it cannot see is stated in every answer (CAVEATS).
import type { PolicyRule, RbacBinding, RbacRole, Subject } from './rbac-objects.js';
import { describeSubject } from './rbac-objects.js';
import { allBindings, roleOf, type RbacModel } from './rbac-model.js';

export interface AccessRequest {
  readonly verb: string;
  /** '' (or absent) is the core group. */
  readonly apiGroup?: string;
  readonly resource?: string;
  readonly subresource?: string;
  /** Absent or '': a cluster-scoped request, or one across every namespace. */
  readonly namespace?: string;
  readonly name?: string;
  /** A non-resource request (`/metrics`, `/healthz`); exclusive with `resource`. */
  readonly nonResourceURL?: string;
}

/** What authentication made of a caller: a user name and its groups. */
export interface Identity {
  readonly user: string;
  readonly groups: readonly string[];
}

export interface ObjectRef {
  readonly kind: string;
  /** '' for cluster-scoped objects. */
  readonly namespace: string;
  readonly name: string;
}

/** One way a request is granted: this subject, through this binding, by this rule of this role. */
export interface Grant {
  readonly subject: Subject;
  readonly binding: ObjectRef;
  readonly role: ObjectRef;
  /** The rule's index in the role's rules as served. */
  readonly ruleIndex: number;
  readonly rule: PolicyRule;
}

export interface Caveat {
  readonly id: 'system-masters' | 'node-authorizer' | 'other-authorizers' | 'identities';
  readonly text: string;
}

/** What an answer from RBAC alone cannot see: the same in every answer. */
export const CAVEATS: readonly Caveat[] = [
  {
    id: 'system-masters',
    text: 'Members of the group system:masters are allowed everything before RBAC is asked; no binding shows them. ' +
      'Which users are in it is decided by their client certificates (O=system:masters), not by any API object.',
  },
  {
    id: 'node-authorizer',
    text: 'The Node authorizer allows each kubelet (user system:node:<name>, group system:nodes) what its own pods need ' +
      '(their secrets, config maps, volumes and service account tokens), beyond any binding.',
  },
  {
    id: 'other-authorizers',
    text: "Other authorizers in the API server's --authorization-mode or --authorization-config (Webhook, ABAC, AlwaysAllow) " +
      'can allow what RBAC does not; the node agent judges those flags (CIS 1.2).',
  },
  {
    id: 'identities',
    text: 'RBAC names users and groups; authentication (certificates, tokens, OIDC, webhooks) decides who they are. ' +
      'A group named here may have members no API object lists.',
  },
];

export interface SubjectAnswer {
  readonly subject: Subject;
  /** Who the subject stands for, in words, when it is a group Kubernetes fills itself. */
  readonly means: string;
  readonly grants: readonly Omit<Grant, 'subject'>[];
}

export interface WhoCanAnswer {
  readonly request: AccessRequest;
  /** Why the request cannot be answered; empty when it was answered. */
  readonly problem: string;
  readonly subjects: readonly SubjectAnswer[];
  readonly caveats: readonly Caveat[];
}

const MAX_FIELD = 1024;

/** Why a request is malformed, or ''. */
export function requestProblem(req: AccessRequest): string {
  if (typeof req.verb !== 'string' || req.verb === '') return 'verb is required';
  const fields = [req.verb, req.apiGroup, req.resource, req.subresource, req.namespace, req.name, req.nonResourceURL];
  if (fields.some((f) => f !== undefined && (typeof f !== 'string' || f.length > MAX_FIELD))) return `every field is a string of at most ${MAX_FIELD} characters`;
  const url = req.nonResourceURL !== undefined && req.nonResourceURL !== '';
  const resource = req.resource !== undefined && req.resource !== '';
  if (url === resource) return 'give either resource or nonResourceURL';
  if (url && [req.apiGroup, req.subresource, req.namespace, req.name].some((f) => f !== undefined && f !== '')) {
    return 'a nonResourceURL request takes no apiGroup, subresource, namespace or name';
  }
  if (url && !(req.nonResourceURL as string).startsWith('/')) return 'nonResourceURL must start with /';
  return '';
}

export const verbMatches = (rule: PolicyRule, verb: string): boolean => rule.verbs.includes('*') || rule.verbs.includes(verb);
export const groupMatches = (rule: PolicyRule, group: string): boolean => rule.apiGroups.includes('*') || rule.apiGroups.includes(group);

export function resourceMatches(rule: PolicyRule, resource: string, subresource: string): boolean {
  const combined = subresource === '' ? resource : `${resource}/${subresource}`;
  for (const r of rule.resources) {
    if (r === '*' || r === combined) return true;
    if (subresource !== '' && r === `*/${subresource}`) return true;
  }
  return false;
}

export const nameMatches = (rule: PolicyRule, name: string): boolean => rule.resourceNames.length === 0 || (name !== '' && rule.resourceNames.includes(name));

export function urlMatches(rule: PolicyRule, url: string): boolean {
  for (const u of rule.nonResourceURLs) {
    if (u === '*' || u === url) return true;
    if (u.endsWith('*') && url.startsWith(u.slice(0, -1))) return true;
  }
  return false;
}

/** Whether one rule allows the request (the authorizer's test, above). */
export function ruleAllows(rule: PolicyRule, req: AccessRequest): boolean {
  if (!verbMatches(rule, req.verb)) return false;
  if (req.nonResourceURL !== undefined && req.nonResourceURL !== '') return urlMatches(rule, req.nonResourceURL);
  return groupMatches(rule, req.apiGroup ?? '') && resourceMatches(rule, req.resource ?? '', req.subresource ?? '') && nameMatches(rule, req.name ?? '');
}

/** Whether a binding can grant this request at all: where it applies. */
export function bindingApplies(binding: RbacBinding, req: AccessRequest): boolean {
  if (binding.kind === 'ClusterRoleBinding') return true;
  const url = req.nonResourceURL !== undefined && req.nonResourceURL !== '';
  return !url && (req.namespace ?? '') === binding.namespace;
}

const ref = (o: RbacBinding | RbacRole): ObjectRef => ({ kind: o.kind, namespace: o.namespace, name: o.name });

/** Every (subject, binding, rule) that grants the request, in binding order. */
export function grantsFor(model: RbacModel, req: AccessRequest): Grant[] {
  const grants: Grant[] = [];
  if (requestProblem(req) !== '') return grants;
  for (const binding of allBindings(model)) {
    if (binding.subjects.length === 0 || !bindingApplies(binding, req)) continue;
    const role = roleOf(model, binding);
    if (!role) continue;
    role.rules.forEach((rule, ruleIndex) => {
      if (!ruleAllows(rule, req)) return;
      for (const subject of binding.subjects) grants.push({ subject, binding: ref(binding), role: ref(role), ruleIndex, rule });
    });
  }
  return grants;
}

/** The subjects granted the request, each with every binding and rule that grants it. */
export function whoCan(model: RbacModel, req: AccessRequest): WhoCanAnswer {
  const problem = requestProblem(req);
  if (problem !== '') return { request: req, problem, subjects: [], caveats: CAVEATS };
  const bySubject = new Map<string, { subject: Subject; grants: Omit<Grant, 'subject'>[] }>();
  for (const { subject, ...via } of grantsFor(model, req)) {
    const k = subjectKey(subject);
    let entry = bySubject.get(k);
    if (!entry) bySubject.set(k, (entry = { subject, grants: [] }));
    entry.grants.push(via);
  }
  const subjects = [...bySubject.entries()]
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([, e]) => ({ subject: e.subject, means: subjectMeans(e.subject), grants: e.grants.sort(byBindingThenRule) }));
  return { request: req, problem: '', subjects, caveats: CAVEATS };
}

const byBindingThenRule = (a: Omit<Grant, 'subject'>, b: Omit<Grant, 'subject'>): number => {
  const ka = `${a.binding.kind}/${a.binding.namespace}/${a.binding.name}`;
  const kb = `${b.binding.kind}/${b.binding.namespace}/${b.binding.name}`;
  return ka < kb ? -1 : ka > kb ? 1 : a.ruleIndex - b.ruleIndex;
};

/** A stable key for a subject: `User:alice`, `Group:devs`, `ServiceAccount:ns/name`. */
export function subjectKey(s: Subject): string {
  return s.kind === 'ServiceAccount' ? `ServiceAccount:${s.namespace}/${s.name}` : `${s.kind}:${s.name}`;
}

/** The identity a ServiceAccount's token authenticates as. */
export function serviceAccountIdentity(namespace: string, name: string): Identity {
  return { user: `system:serviceaccount:${namespace}:${name}`, groups: ['system:serviceaccounts', `system:serviceaccounts:${namespace}`, 'system:authenticated'] };
}

/** Whether a binding's subject names this caller. */
export function subjectCovers(subject: Subject, identity: Identity): boolean {
  switch (subject.kind) {
    case 'User':
      return subject.name === identity.user;
    case 'Group':
      return identity.groups.includes(subject.name);
    case 'ServiceAccount':
      return identity.user === `system:serviceaccount:${subject.namespace}:${subject.name}`;
  }
}

/** The grants that allow this caller the request (empty: RBAC denies it). */
export function canI(model: RbacModel, identity: Identity, req: AccessRequest): Grant[] {
  return grantsFor(model, req).filter((g) => subjectCovers(g.subject, identity));
}

/** Who a subject stands for when Kubernetes itself fills the group or names the user. */
export function subjectMeans(s: Subject): string {
  if (s.kind === 'ServiceAccount') return `the ServiceAccount's tokens (user system:serviceaccount:${s.namespace}:${s.name})`;
  if (s.kind === 'User') {
    if (s.name === 'system:anonymous') return 'every request without credentials, when anonymous auth is on';
    const sa = /^system:serviceaccount:([^:]+):([^:]+)$/.exec(s.name);
    if (sa) return `the ServiceAccount ${sa[1]}/${sa[2]}`;
    return '';
  }
  switch (s.name) {
    case 'system:authenticated':
      return 'every authenticated caller: users and ServiceAccounts';
    case 'system:unauthenticated':
      return 'every request without credentials, when anonymous auth is on';
    case 'system:serviceaccounts':
      return 'every ServiceAccount in every namespace';
    case 'system:masters':
      return 'holders of a client certificate with O=system:masters (allowed everything, whatever RBAC says)';
    case 'system:nodes':
      return 'the kubelets';
  }
  const ns = /^system:serviceaccounts:(.+)$/.exec(s.name);
  return ns ? `every ServiceAccount in namespace ${ns[1]}` : '';
}

export { describeSubject };

// The engine of the RBAC checks (pure): judges every binding of the model against the checks
// (rbac-checks.ts), and the grants a fresh cluster holds by design (rbac-defaults.ts) are set
// apart as expected instead of raised. A finding names the check, the subject, the binding,
// the role and every rule of it that fails the check, with what in the rule fails it.
//
// Judging is per binding (and, for aggregation labels, per ClusterRole), so a watch event
// re-judges only what it touches: a binding change re-judges that binding, a role change the
// bindings that refer to it (and the role's labels). `judgeAll` builds the state once;
// `applyPostureChange` moves it by one event and says which findings opened, changed or
// resolved. The state is immutable; an event copies the few maps it touches.
import { controlIn } from '../../proto/benchmark-refs.js';
import { CIS_BENCHMARK } from '../../proto/benchmark-refs.js';
import type { Severity } from '../../proto/domain.js';
import { EXPECTED_GRANTS, type ExpectedGrant } from './rbac-defaults.js';
import { RBAC_CATEGORY, RBAC_CHECKS, type AggregationCheck, type GrantCheck, type RbacCheck, type RuleTest } from './rbac-checks.js';
import { applyChange, bindingKey, roleKeyOf, roleOf, allBindings, type RbacChange, type RbacModel } from './rbac-model.js';
import { describeObject, describeSubject, objectKey, type PolicyRule, type RbacBinding, type RbacRole, type Subject } from './rbac-objects.js';
import { groupMatches, resourceMatches, subjectKey, verbMatches } from './who-can.js';

/** One rule of a role that fails a check, and what in it does. */
export interface RuleHit {
  readonly index: number;
  readonly rule: PolicyRule;
  /** `get, list on secrets`; `"*" in verbs, resources`; the rule itself for binding checks. */
  readonly grants: string;
}

export interface PostureFinding {
  readonly checkId: string;
  readonly title: string;
  readonly severity: Severity;
  readonly references: readonly string[];
  /** The CIS 1.12 control, or ''. */
  readonly cis: string;
  readonly category: typeof RBAC_CATEGORY;
  readonly remediation: string;
  /** Stable identity: `<check>|<binding>|<subject>` (aggregation: `<check>|<role>|<label>`). */
  readonly key: string;
  /** `User alice`, `ServiceAccount ns/name`, `Group g`; for aggregation, the role it widens. */
  readonly subject: string;
  readonly subjectKey: string;
  /** `ClusterRoleBinding/name`, `RoleBinding/ns/name`; for aggregation, `label <key>=true`. */
  readonly binding: string;
  readonly bindingKey: string;
  /** `ClusterRole/name` or `Role/ns/name`. */
  readonly role: string;
  /** Where the grant holds: `cluster-wide` or `namespace <ns>`. */
  readonly scope: string;
  readonly rules: readonly RuleHit[];
  /** One line: subject, binding, role, and what the rules grant. */
  readonly actual: string;
}

export interface ExpectedFinding {
  readonly finding: PostureFinding;
  /** Why a fresh cluster holds this grant (rbac-defaults.ts). */
  readonly why: string;
}

export interface Verdict {
  readonly findings: readonly PostureFinding[];
  readonly expected: readonly ExpectedFinding[];
}

export interface JudgeOptions {
  readonly checks?: readonly RbacCheck[];
  readonly expected?: readonly ExpectedGrant[];
}

const EMPTY: Verdict = { findings: [], expected: [] };

/** The checks and the allowlist, indexed once. */
interface Judge {
  readonly grantChecks: readonly GrantCheck[];
  readonly aggregationChecks: readonly AggregationCheck[];
  /** `<binding>|<subject>|<role>` -> check id (or '*') -> why. */
  readonly expected: ReadonlyMap<string, ReadonlyMap<string, string>>;
}

const judges = new WeakMap<readonly RbacCheck[], WeakMap<readonly ExpectedGrant[], Judge>>();

function judgeFor(o: JudgeOptions): Judge {
  const checks = o.checks ?? RBAC_CHECKS;
  const expected = o.expected ?? EXPECTED_GRANTS;
  let inner = judges.get(checks);
  if (!inner) judges.set(checks, (inner = new WeakMap()));
  let j = inner.get(expected);
  if (!j) {
    const index = new Map<string, Map<string, string>>();
    for (const e of expected) {
      const k = `${e.binding}|${e.subject}|${e.role}`;
      let m = index.get(k);
      if (!m) index.set(k, (m = new Map()));
      for (const c of e.checks === 'all' ? ['*'] : e.checks) m.set(c, e.why);
    }
    j = {
      grantChecks: checks.filter((c): c is GrantCheck => c.kind === 'grant'),
      aggregationChecks: checks.filter((c): c is AggregationCheck => c.kind === 'aggregation'),
      expected: index,
    };
    inner.set(expected, j);
  }
  return j;
}

const list = (xs: readonly string[]): string => xs.map((x) => (x === '' ? '""' : x)).join(',');

/** A rule in one line: `get,list on [""] secrets (names a,b)`, `get on nonResourceURLs /healthz`. */
export function describeRule(rule: PolicyRule): string {
  if (rule.nonResourceURLs.length > 0) return `${list(rule.verbs)} on nonResourceURLs ${list(rule.nonResourceURLs)}`;
  const names = rule.resourceNames.length > 0 ? ` (names ${list(rule.resourceNames)})` : '';
  return `${list(rule.verbs)} on [${list(rule.apiGroups)}] ${list(rule.resources)}${names}`;
}

const isWildcard = (v: string): boolean => v === '*' || v.startsWith('*/');

/** What of the rule fails the test, or '' when it passes. */
function ruleFails(test: RuleTest, rule: PolicyRule): string {
  switch (test.op) {
    case 'any':
      return describeRule(rule);
    case 'wildcard': {
      const fields = (['verbs', 'resources', 'apiGroups'] as const).filter((f) => rule[f].some(isWildcard));
      return fields.length === 0 ? '' : `"*" in ${fields.join(', ')}: ${describeRule(rule)}`;
    }
    case 'grants': {
      const parts: string[] = [];
      for (const access of test.access) {
        const verbs = access.verbs.filter((v) => verbMatches(rule, v));
        if (verbs.length === 0) continue;
        const targets = access.targets.filter((t) => groupMatches(rule, t.group) && resourceMatches(rule, t.resource, t.subresource ?? ''));
        if (targets.length === 0) continue;
        const names = rule.resourceNames.length > 0 ? ` (only ${list(rule.resourceNames)})` : '';
        const what = targets.map((t) => `${t.group === '' ? '' : `${t.group}/`}${t.resource}${t.subresource ? `/${t.subresource}` : ''}`);
        parts.push(`${verbs.join(',')} on ${what.join(', ')}${names}`);
      }
      return parts.join('; ');
    }
  }
}

const sameSubject = (a: Subject, b: Subject): boolean => subjectKey(a) === subjectKey(b);

function meta(check: RbacCheck): Pick<PostureFinding, 'checkId' | 'title' | 'severity' | 'references' | 'cis' | 'category' | 'remediation'> {
  return { checkId: check.id, title: check.title, severity: check.severity, references: check.references, cis: controlIn(check.references, CIS_BENCHMARK), category: RBAC_CATEGORY, remediation: check.remediation };
}

// What each rule of a role fails depends on the role and on whether non-resource rules count
// (ClusterRoleBinding) or not (RoleBinding), not on the binding: computed once per role object
// (roles are immutable; a changed role is a new object) and shared by every binding to it.
const hitCache = new WeakMap<RbacRole, WeakMap<Judge, Map<boolean, Map<GrantCheck, RuleHit[]>>>>();

function roleHits(role: RbacRole, cluster: boolean, judge: Judge): Map<GrantCheck, RuleHit[]> {
  let byJudge = hitCache.get(role);
  if (!byJudge) hitCache.set(role, (byJudge = new WeakMap()));
  let byScope = byJudge.get(judge);
  if (!byScope) byJudge.set(judge, (byScope = new Map()));
  let hits = byScope.get(cluster);
  if (!hits) {
    hits = new Map();
    for (const check of judge.grantChecks) {
      const list: RuleHit[] = [];
      role.rules.forEach((rule, index) => {
        if (!cluster && rule.nonResourceURLs.length > 0) return;
        const grants = ruleFails(check.test, rule);
        if (grants !== '') list.push({ index, rule, grants });
      });
      if (list.length > 0) hits.set(check, list);
    }
    byScope.set(cluster, hits);
  }
  return hits;
}

/** Every check on one binding: its findings, and the expected grants set apart. */
export function judgeBinding(model: RbacModel, binding: RbacBinding, o: JudgeOptions = {}): Verdict {
  if (binding.subjects.length === 0) return EMPTY;
  const role = roleOf(model, binding);
  if (!role) return EMPTY;
  const judge = judgeFor(o);
  const findings: PostureFinding[] = [];
  const expected: ExpectedFinding[] = [];
  const bKey = describeObject(binding);
  const rKey = describeObject(role);
  const scope = binding.kind === 'ClusterRoleBinding' ? 'cluster-wide' : `namespace ${binding.namespace}`;
  // A subject listed twice is one subject (one finding per check).
  const unique = [...new Map(binding.subjects.map((s) => [subjectKey(s), s] as const)).values()];
  for (const check of judge.grantChecks) {
    if (check.role !== undefined && !(binding.roleRef.kind === 'ClusterRole' && binding.roleRef.name === check.role)) continue;
    const subjects = check.subjects ? unique.filter((s) => check.subjects?.some((c) => sameSubject(c, s))) : unique;
    if (subjects.length === 0) continue;
    const hits = roleHits(role, binding.kind === 'ClusterRoleBinding', judge).get(check) ?? [];
    if (hits.length === 0) continue;
    const summary = hits.map((h) => `rule ${h.index}: ${h.grants}`).join('; ');
    for (const subject of subjects) {
      const sKey = subjectKey(subject);
      const finding: PostureFinding = {
        ...meta(check),
        key: `${check.id}|${bKey}|${sKey}`,
        subject: describeSubject(subject),
        subjectKey: sKey,
        binding: bKey,
        bindingKey: bKey,
        role: rKey,
        scope,
        rules: hits,
        actual: `${describeSubject(subject)} through ${bKey} (${rKey}, ${scope}): ${summary}`,
      };
      const allowed = judge.expected.get(`${bKey}|${sKey}|${rKey}`);
      const why = allowed?.get(check.id) ?? allowed?.get('*');
      if (why !== undefined) expected.push({ finding, why });
      else findings.push(finding);
    }
  }
  return findings.length === 0 && expected.length === 0 ? EMPTY : { findings, expected };
}

/** The aggregation checks on one ClusterRole: each label that pours its rules into admin, edit or view. */
export function judgeRole(role: RbacRole, o: JudgeOptions = {}): Verdict {
  if (role.kind !== 'ClusterRole' || role.rules.length === 0) return EMPTY;
  const judge = judgeFor(o);
  const findings: PostureFinding[] = [];
  const expected: ExpectedFinding[] = [];
  const rKey = describeObject(role);
  for (const check of judge.aggregationChecks) {
    for (const [label, target] of Object.entries(check.labels)) {
      if (role.labels[label] !== 'true') continue;
      const hits = role.rules.map((rule, index) => ({ index, rule, grants: describeRule(rule) }));
      const bKey = `label:${label}`;
      const sKey = `ClusterRole:${target}`;
      const finding: PostureFinding = {
        ...meta(check),
        key: `${check.id}|${rKey}|${label}`,
        subject: `ClusterRole ${target} (every subject bound to it)`,
        subjectKey: sKey,
        binding: `label ${label}=true`,
        bindingKey: bKey,
        role: rKey,
        scope: `wherever ${target} is bound`,
        rules: hits,
        actual: `${rKey} adds ${hits.length} rule${hits.length === 1 ? '' : 's'} to ClusterRole ${target}: ${hits.map((h) => `rule ${h.index}: ${h.grants}`).join('; ')}`,
      };
      const allowed = judge.expected.get(`${bKey}|${sKey}|${rKey}`);
      const why = allowed?.get(check.id) ?? allowed?.get('*');
      if (why !== undefined) expected.push({ finding, why });
      else findings.push(finding);
    }
  }
  return findings.length === 0 && expected.length === 0 ? EMPTY : { findings, expected };
}

export interface PostureState {
  readonly model: RbacModel;
  /** By binding (`ClusterRoleBinding/name`, `RoleBinding/ns/name`); bindings without findings are absent. */
  readonly byBinding: ReadonlyMap<string, Verdict>;
  /** By ClusterRole (`ClusterRole/name`), for the aggregation checks. */
  readonly byRole: ReadonlyMap<string, Verdict>;
  /** The role a binding refers to (`ClusterRole/name`, `Role/ns/name`) -> the bindings that refer to it. */
  readonly bindingsByRole: ReadonlyMap<string, ReadonlySet<string>>;
}

/** Every binding and ClusterRole of the model, judged. */
export function judgeAll(model: RbacModel, o: JudgeOptions = {}): PostureState {
  const byBinding = new Map<string, Verdict>();
  const byRole = new Map<string, Verdict>();
  const bindingsByRole = new Map<string, Set<string>>();
  for (const binding of allBindings(model)) {
    const bKey = bindingKey(binding);
    const rKey = roleKeyOf(binding);
    let set = bindingsByRole.get(rKey);
    if (!set) bindingsByRole.set(rKey, (set = new Set()));
    set.add(bKey);
    const v = judgeBinding(model, binding, o);
    if (v !== EMPTY) byBinding.set(bKey, v);
  }
  for (const role of model.clusterRoles.values()) {
    const v = judgeRole(role, o);
    if (v !== EMPTY) byRole.set(describeObject(role), v);
  }
  return { model, byBinding, byRole, bindingsByRole };
}

const byKey = <T extends { readonly key: string }>(a: T, b: T): number => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0);

/** Every finding and expected grant of the state, in key order. */
export function postureFindings(state: PostureState): { findings: PostureFinding[]; expected: ExpectedFinding[] } {
  const findings: PostureFinding[] = [];
  const expected: ExpectedFinding[] = [];
  for (const v of [...state.byBinding.values(), ...state.byRole.values()]) {
    findings.push(...v.findings);
    expected.push(...v.expected);
  }
  return { findings: findings.sort(byKey), expected: expected.sort((a, b) => byKey(a.finding, b.finding)) };
}

export interface PostureDelta {
  readonly state: PostureState;
  /** Findings that were not there before the event. */
  readonly opened: readonly PostureFinding[];
  /** Findings still there whose rules, role or severity changed. */
  readonly changed: readonly PostureFinding[];
  /** Findings the event removed (the binding, role or rule that raised them is gone). */
  readonly resolved: readonly PostureFinding[];
}

/** The state after one watch event, and what it opened, changed and resolved. */
export function applyPostureChange(state: PostureState, change: RbacChange, o: JudgeOptions = {}): PostureDelta {
  const model = applyChange(state.model, change);
  const kind = change.type === 'upsert' ? change.value.kind : change.kind;
  const key = change.type === 'upsert' ? objectKey(change.value.namespace, change.value.name) : change.key;
  const objKey = `${kind}/${key}`;
  let byBinding = state.byBinding as Map<string, Verdict>;
  let byRole = state.byRole as Map<string, Verdict>;
  let bindingsByRole = state.bindingsByRole as Map<string, ReadonlySet<string>>;
  const before: Verdict[] = [];
  const after: Verdict[] = [];
  const rejudge = (bKey: string, binding: RbacBinding | undefined): void => {
    const old = byBinding.get(bKey);
    const v = binding ? judgeBinding(model, binding, o) : EMPTY;
    if (old === undefined && v === EMPTY) return;
    if (byBinding === state.byBinding) byBinding = new Map(byBinding);
    if (old) before.push(old);
    if (v === EMPTY) byBinding.delete(bKey);
    else {
      byBinding.set(bKey, v);
      after.push(v);
    }
  };
  const bindingByKey = (bKey: string): RbacBinding | undefined => {
    const slash = bKey.indexOf('/');
    const k = bKey.slice(slash + 1);
    return bKey.startsWith('ClusterRoleBinding/') ? model.clusterRoleBindings.get(k) : model.roleBindings.get(k);
  };

  if (kind === 'ClusterRoleBinding' || kind === 'RoleBinding') {
    const old = kind === 'ClusterRoleBinding' ? state.model.clusterRoleBindings.get(key) : state.model.roleBindings.get(key);
    const now = change.type === 'upsert' ? (change.value as RbacBinding) : undefined;
    const oldRole = old ? roleKeyOf(old) : undefined;
    const newRole = now ? roleKeyOf(now) : undefined;
    if (oldRole !== newRole) {
      bindingsByRole = new Map(bindingsByRole);
      if (oldRole !== undefined) {
        const s = new Set(bindingsByRole.get(oldRole));
        s.delete(objKey);
        if (s.size === 0) bindingsByRole.delete(oldRole);
        else bindingsByRole.set(oldRole, s);
      }
      if (newRole !== undefined) bindingsByRole.set(newRole, new Set(bindingsByRole.get(newRole)).add(objKey));
    }
    rejudge(objKey, now);
  } else {
    for (const bKey of bindingsByRole.get(objKey) ?? []) rejudge(bKey, bindingByKey(bKey));
    if (kind === 'ClusterRole') {
      const old = byRole.get(objKey);
      const v = change.type === 'upsert' ? judgeRole(change.value as RbacRole, o) : EMPTY;
      if (old !== undefined || v !== EMPTY) {
        byRole = new Map(byRole);
        if (old) before.push(old);
        if (v === EMPTY) byRole.delete(objKey);
        else {
          byRole.set(objKey, v);
          after.push(v);
        }
      }
    }
  }

  const was = new Map(before.flatMap((v) => v.findings.map((f) => [f.key, f] as const)));
  const is = new Map(after.flatMap((v) => v.findings.map((f) => [f.key, f] as const)));
  const opened = [...is.values()].filter((f) => !was.has(f.key)).sort(byKey);
  const resolved = [...was.values()].filter((f) => !is.has(f.key)).sort(byKey);
  const changed = [...is.values()].filter((f) => {
    const p = was.get(f.key);
    return p !== undefined && (p.actual !== f.actual || p.severity !== f.severity);
  }).sort(byKey);
  return { state: { model, byBinding, byRole, bindingsByRole }, opened, changed, resolved };
}

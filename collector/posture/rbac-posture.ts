// The RBAC checks (CIS 5.1) as a posture judge (judge.ts): the four RBAC kinds, read with the
// bounded readers of rbac-objects.ts, judged in full by judgeAll and per watch event by
// applyPostureChange (rbac-judge.ts), their findings turned into cluster findings.
//
// A finding's key is the RBAC engine's own (`<check>|<binding>|<subject>`, aggregation:
// `<check>|<role>|<label>`), so it stays the same across restarts and relists. Its object is
// the binding (deleting it resolves the finding), or the ClusterRole for an aggregation label.
import type { ObjectRead } from '../kube/informer.js';
import type { ClusterFinding, ExpectedClusterFinding, JudgeDelta, ObjectChange, PostureJudge, PostureKind } from './judge.js';
import { applyPostureChange, describeRule, judgeAll, postureFindings, type PostureFinding, type PostureState } from './rbac-judge.js';
import { EMPTY_MODEL, type RbacModel } from './rbac-model.js';
import { DEFAULT_RBAC_LIMITS, readRbacObject, RBAC_KINDS, type RbacBinding, type RbacKind, type RbacLimits, type RbacRole } from './rbac-objects.js';

const RBAC_API = '/apis/rbac.authorization.k8s.io/v1';
/** Rules a finding's detail lists at most (a role may hold 1,024); `actual` names them all. */
const MAX_DETAIL_RULES = 64;

const COLLECTIONS: Readonly<Record<RbacKind, string>> = {
  ClusterRole: 'clusterroles',
  Role: 'roles',
  ClusterRoleBinding: 'clusterrolebindings',
  RoleBinding: 'rolebindings',
};

const EXPECTED: Readonly<Record<string, string>> = {
  'cis-5.1.1': 'no binding to cluster-admin beyond the bootstrap ones',
  'cis-5.1.2': 'no get, list or watch on secrets beyond the bootstrap grants',
  'cis-5.1.3': 'no "*" in verbs, resources or apiGroups of a bound rule',
  'cis-5.1.4': 'no create on pods or on workloads that create pods beyond the controllers',
  'cis-5.1.8': 'no bind, escalate or impersonate beyond the bootstrap grants',
  'cis-5.1.9': 'no create on persistentvolumes beyond the controllers',
  'cis-5.1.10': 'no access to nodes/proxy',
  'cis-5.1.11': 'no approval of certificate signing requests beyond the certificate controller',
  'cis-5.1.12': 'no writes to admission webhook configurations',
  'cis-5.1.13': 'no create on serviceaccounts/token beyond the bootstrap grants',
  'rbac-public-groups': 'system:anonymous, system:unauthenticated and system:authenticated bound only by the defaults',
  'rbac-aggregate-widens': 'no ClusterRole that aggregates into admin, edit or view beyond the defaults',
};

/** A PostureKind of one RBAC kind: its collection, and its reader with what it refuses counted by code in the reason. */
function rbacKind(kind: RbacKind, limits: RbacLimits): PostureKind<RbacRole | RbacBinding> {
  const name = COLLECTIONS[kind];
  return {
    kind,
    name,
    path: `${RBAC_API}/${name}`,
    read(raw: unknown): ObjectRead<RbacRole | RbacBinding> {
      const r = readRbacObject(kind, raw, limits);
      return r.kind === 'object' ? r : { kind: 'invalid', reason: `${r.code}: ${r.reason}` };
    },
  };
}

/** The cluster finding of one RBAC finding: the binding is its object (the ClusterRole for an aggregation label). */
export function toClusterFinding(f: PostureFinding): ClusterFinding {
  const aggregation = f.bindingKey.startsWith('label:');
  return {
    checkId: f.checkId,
    title: f.title,
    severity: f.severity,
    references: f.references,
    cis: f.cis,
    category: f.category,
    key: f.key,
    subject: f.subject,
    object: aggregation ? f.role : f.binding,
    actual: f.actual,
    expected: EXPECTED[f.checkId] ?? 'no such grant',
    reason: aggregation
      ? `${f.role} is labelled ${f.binding.replace(/^label /, '')}: its rules join ${f.subject.replace(/ \(.*$/, '')}`
      : `${f.subject} is bound through ${f.binding} to ${f.role} (${f.scope}), whose rules grant what ${f.checkId} looks for`,
    remediation: f.remediation,
    detail: {
      binding: f.binding,
      role: f.role,
      scope: f.scope,
      subject: f.subject,
      rules: f.rules.slice(0, MAX_DETAIL_RULES).map((h) => ({ index: h.index, rule: describeRule(h.rule), grants: h.grants })),
      ...(f.rules.length > MAX_DETAIL_RULES ? { rulesOmitted: f.rules.length - MAX_DETAIL_RULES } : {}),
    },
  };
}

const mapAll = (fs: readonly PostureFinding[]): ClusterFinding[] => fs.map(toClusterFinding);

/** Builds the model from the objects held, kind by kind (what the informers hold is already read). */
function modelOf(objects: ReadonlyMap<string, ReadonlyMap<string, unknown>>): RbacModel {
  const get = <T>(kind: RbacKind): ReadonlyMap<string, T> => (objects.get(kind) ?? new Map()) as ReadonlyMap<string, T>;
  return {
    clusterRoles: new Map(get<RbacRole>('ClusterRole')),
    roles: new Map(get<RbacRole>('Role')),
    clusterRoleBindings: new Map(get<RbacBinding>('ClusterRoleBinding')),
    roleBindings: new Map(get<RbacBinding>('RoleBinding')),
  };
}

/** The RBAC judge: `rbac`, over ClusterRoles, Roles, ClusterRoleBindings and RoleBindings. */
export function createRbacJudge(limits: RbacLimits = DEFAULT_RBAC_LIMITS): PostureJudge<PostureState> {
  const kinds = RBAC_KINDS.map((k) => rbacKind(k, limits));
  return {
    id: 'rbac',
    kinds,
    full: (objects) => judgeAll(objects.size === 0 ? EMPTY_MODEL : modelOf(objects)),
    apply(state, change: ObjectChange): JudgeDelta<PostureState> {
      if (!(RBAC_KINDS as readonly string[]).includes(change.kind)) return { state, opened: [], changed: [], resolved: [] };
      const kind = change.kind as RbacKind;
      // The informer holds what the reader made of the object: a role or binding of this kind.
      const raw = change.type === 'upsert' ? change.value : undefined;
      if (change.type === 'upsert' && (typeof raw !== 'object' || raw === null || (raw as { kind?: unknown }).kind !== kind)) {
        return { state, opened: [], changed: [], resolved: [] };
      }
      const value = raw as RbacRole | RbacBinding | undefined;
      const d = applyPostureChange(state, value !== undefined ? { type: 'upsert', value } : { type: 'delete', kind, key: change.key });
      return { state: d.state, opened: mapAll(d.opened), changed: mapAll(d.changed), resolved: mapAll(d.resolved) };
    },
    findings(state) {
      const { findings, expected } = postureFindings(state);
      return {
        findings: mapAll(findings),
        expected: expected.map((e): ExpectedClusterFinding => ({ finding: toClusterFinding(e.finding), why: e.why })),
      };
    },
  };
}

// The audit policy walk (CIS 3.2.2) as the API server matches rules: the first rule that
// matches a request decides its level; a rule matches resource requests when it names
// resources or namespaces; `*`, `resource/*` and an empty resource list in a group match the
// resource; `*/sub` matches only a subresource; resourceNames narrow a rule to some objects.
import test from 'ava';
import { auditCoverage, ruleMatches } from '../../agent/checks/audit-policy-checks.js';
import type { AuditRuleFact } from '../../agent/facts/index.js';

const rule = (r: Partial<AuditRuleFact> & { level: string }): AuditRuleFact => ({
  users: [], userGroups: [], verbs: [], namespaces: [], resources: [], nonResourceURLs: [], ...r,
});
const core = (resources: string[], resourceNames: string[] = []) => ({ group: '', resources, resourceNames });
const SECRETS = { group: '', resource: 'secrets' };
const TOKENREVIEWS = { group: 'authentication.k8s.io', resource: 'tokenreviews' };

const cases: Array<[string, AuditRuleFact, typeof SECRETS, 'all' | 'some' | 'none']> = [
  ['an empty rule matches everything', rule({ level: 'Metadata' }), SECRETS, 'all'],
  ['nonResourceURLs only: no resource request', rule({ level: 'None', nonResourceURLs: ['/healthz*'] }), SECRETS, 'none'],
  ['the resource by name', rule({ level: 'None', resources: [core(['secrets'])] }), SECRETS, 'all'],
  ['another resource', rule({ level: 'None', resources: [core(['configmaps'])] }), SECRETS, 'none'],
  ['every resource in the group', rule({ level: 'None', resources: [core([])] }), SECRETS, 'all'],
  ['`*`', rule({ level: 'None', resources: [core(['*'])] }), SECRETS, 'all'],
  ['`secrets/*` covers the resource too', rule({ level: 'None', resources: [core(['secrets/*'])] }), SECRETS, 'all'],
  ['`*/status` is a subresource only', rule({ level: 'None', resources: [core(['*/status'])] }), SECRETS, 'none'],
  ['the core group is not authentication.k8s.io', rule({ level: 'None', resources: [core(['tokenreviews'])] }), TOKENREVIEWS, 'none'],
  ['the right group', rule({ level: 'None', resources: [{ group: 'authentication.k8s.io', resources: ['tokenreviews'], resourceNames: [] }] }), TOKENREVIEWS, 'all'],
  ['named objects only', rule({ level: 'None', resources: [core(['secrets'], ['db'])] }), SECRETS, 'some'],
  ['named objects, but another entry takes all', rule({ level: 'None', resources: [core(['secrets'], ['db']), core(['secrets'])] }), SECRETS, 'all'],
  ['some users', rule({ level: 'None', users: ['system:kube-proxy'] }), SECRETS, 'some'],
  ['some groups and verbs', rule({ level: 'None', userGroups: ['system:nodes'], verbs: ['get'], resources: [core(['secrets'])] }), SECRETS, 'some'],
  ['some namespaces, every resource', rule({ level: 'None', namespaces: ['kube-system'] }), SECRETS, 'some'],
];

for (const [name, r, target, expected] of cases) {
  test(`rule matching: ${name}`, (t) => {
    t.is(ruleMatches(r, target), expected);
  });
}

test('coverage: the first rule to match every request decides', (t) => {
  const c = auditCoverage([rule({ level: 'RequestResponse', resources: [core(['secrets'])] }), rule({ level: 'None' })], SECRETS);
  t.deepEqual([c.ok, c.level], [true, 'RequestResponse']);
});

test('coverage: a None rule that matches only some requests comes first: those are lost', (t) => {
  const c = auditCoverage([rule({ level: 'None', users: ['system:apiserver'] }), rule({ level: 'Metadata' })], SECRETS);
  t.deepEqual([c.ok, c.level], [false, 'None']);
  t.regex(c.reason, /rule 1 \(level None, for users system:apiserver\) is the first rule to match some requests on secrets/);
});

test('coverage: a None rule after a narrow logging rule still loses the rest', (t) => {
  const c = auditCoverage([rule({ level: 'Request', verbs: ['create'] }), rule({ level: 'None', resources: [core(['secrets'])] }), rule({ level: 'Metadata' })], SECRETS);
  t.false(c.ok);
  t.regex(c.reason, /rule 2 .* \(after rule 1 \(level Request, for verbs create\)\)/);
});

test('coverage: no rule at all, or none that matches every request', (t) => {
  t.deepEqual(auditCoverage([], SECRETS), { ok: false, level: 'None', reason: 'no rule matches every request on secrets: requests that no rule matches are not logged' });
  t.false(auditCoverage([rule({ level: 'Metadata', namespaces: ['default'] })], SECRETS).ok);
});

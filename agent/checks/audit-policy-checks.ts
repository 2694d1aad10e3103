// CIS 3.2: the audit policy the API server names with --audit-policy-file. A request is
// logged at the level of the FIRST rule that matches it (no rule: not logged), so coverage is
// judged by walking the rules in order, as the API server does: a rule that matches only
// some requests on a resource (for some users, verbs, namespaces or names) and logs them at
// level None leaves those requests unlogged, whatever later rules say. Pure.
import type { Result } from '../../proto/domain.js';
import type { ValueSpec } from '../facts/component-settings.js';
import { resolveComponentValue } from '../facts/component-settings.js';
import type { AuditPolicyFacts, AuditRuleFact, ComponentFacts, HostFacts } from '../facts/index.js';
import { componentOf, foundAs, isResult } from './control-plane-results.js';
import { failingStatus, makeResult } from './result.js';
import type { CheckMeta, CustomCheck } from './spec.js';

const APISERVER = 'kube-apiserver';
export const AUDIT_POLICY_FILE: ValueSpec = { flag: 'audit-policy-file', type: 'string', default: null };

const LEVELS = ['None', 'Metadata', 'Request', 'RequestResponse'];
const levelRank = (level: string): number => LEVELS.indexOf(level);

/** A resource the policy must log: `group` '' is the core API group. */
export interface AuditedResource {
  readonly group: string;
  readonly resource: string;
}

export const KEY_AUDIT_RESOURCES: readonly AuditedResource[] = [
  { group: '', resource: 'secrets' },
  { group: '', resource: 'configmaps' },
  { group: 'authentication.k8s.io', resource: 'tokenreviews' },
];

export const resourceName = (r: AuditedResource): string => (r.group === '' ? r.resource : `${r.resource}.${r.group}`);

/**
 * Whether a rule matches requests on the resource itself (no subresource): `all` of them,
 * `some` (it is narrowed by users, groups, verbs, namespaces or resource names) or `none`.
 * Mirrors the API server's rule matching: a rule with resources or namespaces matches
 * resource requests; one with only nonResourceURLs matches none; an empty rule matches all.
 */
export function ruleMatches(rule: AuditRuleFact, target: AuditedResource): 'all' | 'some' | 'none' {
  let narrowed = rule.users.length > 0 || rule.userGroups.length > 0 || rule.verbs.length > 0;
  if (rule.namespaces.length === 0 && rule.resources.length === 0) {
    if (rule.nonResourceURLs.length > 0) return 'none';
    return narrowed ? 'some' : 'all';
  }
  if (rule.namespaces.length > 0) narrowed = true;
  if (rule.resources.length > 0) {
    let matched: 'all' | 'some' | 'none' = 'none';
    for (const gr of rule.resources) {
      if (gr.group !== target.group) continue;
      const hit = gr.resources.length === 0 || gr.resources.some((r) => r === '*' || r === target.resource || r === `${target.resource}/*`);
      if (!hit) continue;
      // An entry with resource names matches only requests for those objects.
      const these = gr.resources.length > 0 && gr.resourceNames.length > 0 ? 'some' : 'all';
      if (these === 'all') {
        matched = 'all';
        break;
      }
      matched = 'some';
    }
    if (matched === 'none') return 'none';
    if (matched === 'some') narrowed = true;
  }
  return narrowed ? 'some' : 'all';
}

function describeRule(rule: AuditRuleFact, index: number): string {
  const parts: string[] = [];
  if (rule.users.length > 0) parts.push(`users ${rule.users.join(',')}`);
  if (rule.userGroups.length > 0) parts.push(`userGroups ${rule.userGroups.join(',')}`);
  if (rule.verbs.length > 0) parts.push(`verbs ${rule.verbs.join(',')}`);
  if (rule.namespaces.length > 0) parts.push(`namespaces ${rule.namespaces.join(',')}`);
  if (rule.resources.some((g) => g.resourceNames.length > 0)) parts.push('named objects only');
  return `rule ${index + 1} (level ${rule.level}${parts.length > 0 ? `, for ${parts.join('; ')}` : ''})`;
}

export interface Coverage {
  readonly ok: boolean;
  /** The level every request ends at when ok; else the level of the rule that lets some through. */
  readonly level: string;
  readonly reason: string;
}

/** Walks the rules in order for one resource: is every request on it logged at Metadata or more? */
export function auditCoverage(rules: readonly AuditRuleFact[], target: AuditedResource): Coverage {
  const name = resourceName(target);
  const narrowerLogging: string[] = [];
  for (const [i, rule] of rules.entries()) {
    const m = ruleMatches(rule, target);
    if (m === 'none') continue;
    if (levelRank(rule.level) < levelRank('Metadata')) {
      const scope = m === 'all' ? 'every request' : 'some requests';
      const before = narrowerLogging.length > 0 ? ` (after ${narrowerLogging.join(', ')})` : '';
      return { ok: false, level: rule.level, reason: `${describeRule(rule, i)} is the first rule to match ${scope} on ${name}${before}, so those requests are not logged` };
    }
    if (m === 'all') {
      return { ok: true, level: rule.level, reason: `${describeRule(rule, i)} is the first rule to match every request on ${name}` };
    }
    narrowerLogging.push(describeRule(rule, i));
  }
  const only = narrowerLogging.length > 0 ? `only ${narrowerLogging.join(', ')} log some of them; ` : '';
  return { ok: false, level: 'None', reason: `no rule matches every request on ${name}: ${only}requests that no rule matches are not logged` };
}

type PolicyState = { ok: true; c: ComponentFacts; doc: AuditPolicyFacts; where: string } | { ok: false; result: (subject: string) => Result };

function policyState(meta: CheckMeta, facts: HostFacts, expected: string, subject: string): PolicyState {
  const c = componentOf(meta, facts, APISERVER, subject, expected);
  if (isResult(c)) return { ok: false, result: (s) => ({ ...c, subject: s }) };
  const r = resolveComponentValue(c, AUDIT_POLICY_FILE);
  const base = { expected };
  if (r.kind === 'error') return { ok: false, result: (s) => makeResult(meta, { ...base, subject: s, status: 'error', sourceFile: r.sourceFile, reason: r.reason }) };
  if (r.kind === 'hidden') return { ok: false, result: (s) => makeResult(meta, { ...base, subject: s, status: 'warn', reason: `${foundAs(c)}: ${r.reason}: ${r.why}; check it by hand` }) };
  if (r.value === null || r.value === '') {
    return { ok: false, result: (s) => makeResult(meta, { ...base, subject: s, status: failingStatus(meta), source: r.source, reason: `${foundAs(c)}: ${r.where}: the API server records no audit events` }) };
  }
  const doc = facts.controlPlane?.apiServer.auditPolicy ?? null;
  if (doc === null) return { ok: false, result: (s) => makeResult(meta, { ...base, subject: s, status: 'error', reason: `the audit policy named by ${r.where} was not read` }) };
  if (doc.error !== null) {
    // A file that is there but is no audit Policy is a policy problem; one that cannot be read is ours.
    const status = doc.error.code === 'EPARSE' ? failingStatus(meta) : 'error';
    return { ok: false, result: (s) => makeResult(meta, { ...base, subject: s, status, sourceFile: doc.path, reason: `${foundAs(c)}: the audit policy named by ${r.where}: ${doc.error?.message ?? ''}` }) };
  }
  return { ok: true, c, doc, where: r.where };
}

export function auditPolicyExistsCheck(meta: CheckMeta): CustomCheck {
  const subject = `${APISERVER}/--audit-policy-file`;
  return {
    ...meta,
    kind: 'custom',
    reads: "kube-apiserver's --audit-policy-file, and the audit Policy it names (its rules).",
    evaluate(facts: HostFacts): Result[] {
      const expected = 'set, naming a readable audit Policy';
      const s = policyState(meta, facts, expected, subject);
      if (!s.ok) return [s.result(subject)];
      const n = s.doc.rules.length;
      return [makeResult(meta, {
        subject,
        status: n > 0 ? 'pass' : failingStatus(meta),
        expected,
        actual: `${n} rule${n === 1 ? '' : 's'}`,
        source: 'config',
        sourceFile: s.doc.path,
        reason: `${foundAs(s.c)}: ${s.doc.path} (${s.where}) is an audit Policy with ${n} rule${n === 1 ? '' : 's'}${n === 0 ? ': it logs nothing' : ''}`,
      })];
    },
  };
}

export function auditPolicyCoverageCheck(meta: CheckMeta, targets: readonly AuditedResource[]): CustomCheck {
  return {
    ...meta,
    kind: 'custom',
    reads: `The audit Policy kube-apiserver's --audit-policy-file names, walked rule by rule as the API server matches requests (the first matching rule wins), for ${targets.map(resourceName).join(', ')}. One result per resource.`,
    evaluate(facts: HostFacts): Result[] {
      const expected = 'Metadata or higher for every request';
      const subjects = targets.map((t) => `audit-policy/${resourceName(t)}`);
      // No API server here (or nobody can tell): one result for the policy as a whole.
      const c = componentOf(meta, facts, APISERVER, 'audit-policy', expected);
      if (isResult(c)) return [c];
      const s = policyState(meta, facts, expected, subjects[0] ?? 'audit-policy');
      if (!s.ok) return subjects.map((subject) => s.result(subject));
      return targets.map((target, i) => {
        const cov = auditCoverage(s.doc.rules, target);
        return makeResult(meta, {
          subject: subjects[i] ?? resourceName(target),
          status: cov.ok ? 'pass' : failingStatus(meta),
          expected,
          actual: cov.level,
          source: 'config',
          sourceFile: s.doc.path,
          reason: `${s.doc.path}: ${cov.reason}`,
        });
      });
    },
  };
}

// API server checks that are more than one flag: authorization (the --authorization-mode list
// or, with structured authorization, the authorizers of --authorization-config), anonymous
// authentication (the flag or --authentication-config's anonymous section) and encryption at
// rest (--encryption-provider-config, judged on the first provider for secrets). Pure.
import type { Result } from '../../proto/domain.js';
import type { ValueResolution, ValueSpec } from '../facts/component-settings.js';
import { resolveComponentValue } from '../facts/component-settings.js';
import type { ComponentFacts, EncryptionConfigFacts, HostFacts } from '../facts/index.js';
import { combine, judgeValue } from './component-setting-checks.js';
import { componentOf, foundAs, isResult } from './control-plane-results.js';
import type { Test } from './operators.js';
import { describeTest } from './operators.js';
import { failingStatus, makeResult } from './result.js';
import type { CheckMeta, CustomCheck } from './spec.js';

const APISERVER = 'kube-apiserver';

export const AUTHORIZATION_MODE: ValueSpec = { flag: 'authorization-mode', type: 'list', default: 'AlwaysAllow' };
const AUTHORIZATION_CONFIG: ValueSpec = { flag: 'authorization-config', type: 'string', default: null };
export const ANONYMOUS_AUTH: ValueSpec = { flag: 'anonymous-auth', type: 'bool', default: 'true' };
const AUTHENTICATION_CONFIG: ValueSpec = { flag: 'authentication-config', type: 'string', default: null };
export const ENCRYPTION_CONFIG: ValueSpec = { flag: 'encryption-provider-config', type: 'string', default: null };

const isSet = (r: ValueResolution): boolean => r.kind === 'value' && r.value !== null && r.value !== '';

/**
 * The authorizers in force, as one resolution: from --authorization-config when it is given
 * (the API server then refuses --authorization-mode), else the --authorization-mode list.
 */
export function resolveAuthorizers(c: ComponentFacts, facts: HostFacts): ValueResolution {
  const config = resolveComponentValue(c, AUTHORIZATION_CONFIG);
  if (config.kind === 'error') return config;
  if (!isSet(config)) return resolveComponentValue(c, AUTHORIZATION_MODE);
  const mode = resolveComponentValue(c, AUTHORIZATION_MODE);
  if (mode.kind === 'value' && mode.source !== 'default') {
    return { kind: 'error', reason: `both --authorization-config and --authorization-mode are set (${mode.where}); the API server refuses to start with both`, sourceFile: '' };
  }
  const doc = facts.controlPlane?.apiServer.authorization ?? null;
  if (doc === null || doc.error !== null) {
    return { kind: 'error', reason: `cannot read the --authorization-config file: ${doc?.error?.message ?? 'not collected'}`, sourceFile: doc?.path ?? '' };
  }
  const types = doc.authorizers.map((a) => a.type);
  return { kind: 'value', value: types.join(','), source: 'config', sourceFile: doc.path, where: `the authorizers of the structured authorization config ${doc.path}` };
}

export function authorizationCheck(meta: CheckMeta, test: Test): CustomCheck {
  const subject = `${APISERVER}/authorizers`;
  return {
    ...meta,
    kind: 'custom',
    reads: "kube-apiserver's authorizers: the --authorization-config file when one is given, else --authorization-mode.",
    evaluate(facts: HostFacts): Result[] {
      const expected = describeTest(test);
      const c = componentOf(meta, facts, APISERVER, subject, expected);
      if (isResult(c)) return [c];
      const j = combine([judgeValue(meta, resolveAuthorizers(c, facts), test, expected, 'the authorizer list')], ['authorizers']);
      return [makeResult(meta, { subject, ...j, expected, reason: `${foundAs(c)}: ${j.reason}` })];
    },
  };
}

/** Anonymous requests: --authentication-config's anonymous section when it has one, else --anonymous-auth. */
export function resolveAnonymousAuth(c: ComponentFacts, facts: HostFacts): ValueResolution {
  const config = resolveComponentValue(c, AUTHENTICATION_CONFIG);
  if (config.kind === 'error') return config;
  const flag = resolveComponentValue(c, ANONYMOUS_AUTH);
  if (!isSet(config)) return flag;
  const doc = facts.controlPlane?.apiServer.authentication ?? null;
  if (doc === null || doc.error !== null) {
    return { kind: 'error', reason: `cannot read the --authentication-config file: ${doc?.error?.message ?? 'not collected'}`, sourceFile: doc?.path ?? '' };
  }
  if (doc.anonymous === null) return flag;
  if (flag.kind === 'value' && flag.source !== 'default') {
    return { kind: 'error', reason: `anonymous is set both in ${doc.path} and by ${flag.where}; the API server refuses to start with both`, sourceFile: doc.path };
  }
  const scope = doc.anonymous.enabled && doc.anonymous.conditions.length > 0 ? ` (only for ${doc.anonymous.conditions.join(', ')})` : '';
  return { kind: 'value', value: String(doc.anonymous.enabled), source: 'config', sourceFile: doc.path, where: `anonymous.enabled in ${doc.path}${scope}` };
}

export function anonymousAuthCheck(meta: CheckMeta): CustomCheck {
  const subject = `${APISERVER}/--anonymous-auth`;
  const test: Test = { op: 'eq', value: 'false' };
  return {
    ...meta,
    kind: 'custom',
    reads: "kube-apiserver's anonymous section of its --authentication-config file when it has one, else --anonymous-auth.",
    evaluate(facts: HostFacts): Result[] {
      const expected = describeTest(test);
      const c = componentOf(meta, facts, APISERVER, subject, expected);
      if (isResult(c)) return [c];
      const j = combine([judgeValue(meta, resolveAnonymousAuth(c, facts), test, expected, 'anonymous-auth')], ['anonymous-auth']);
      return [makeResult(meta, { subject, ...j, expected, reason: `${foundAs(c)}: ${j.reason}` })];
    },
  };
}

/** Resource names that put secrets under a resources entry: `secrets`, every core resource, everything. */
const COVERS_SECRETS = new Set(['secrets', 'secrets.', '*.', '*.*']);
const STRONG_PROVIDERS = new Set(['aescbc', 'aesgcm', 'secretbox']);

/** The encryption config the API server uses, or the result that says why there is none to judge. */
export function encryptionDoc(meta: CheckMeta, c: ComponentFacts, facts: HostFacts, subject: string, expected: string): EncryptionConfigFacts | Result {
  const r = resolveComponentValue(c, ENCRYPTION_CONFIG);
  const base = { subject, expected };
  if (r.kind === 'error') return makeResult(meta, { ...base, status: 'error', reason: r.reason, sourceFile: r.sourceFile });
  if (r.kind === 'hidden') {
    const k3sNote = facts.controlPlane?.k3s?.secretsEncryption === true
      ? '; secrets-encryption is on in the k3s configuration, so k3s passes an encryption configuration of its own, which the agent cannot see'
      : '';
    return makeResult(meta, { ...base, status: 'warn', reason: `${foundAs(c)}: ${r.reason}: ${r.why}${k3sNote}; check it by hand` });
  }
  if (r.value === null || r.value === '') {
    return makeResult(meta, { ...base, status: failingStatus(meta), source: r.source, reason: `${foundAs(c)}: ${r.where}: secrets are stored in etcd unencrypted` });
  }
  const doc = facts.controlPlane?.apiServer.encryption ?? null;
  if (doc === null || doc.error !== null) {
    return makeResult(meta, { ...base, status: 'error', sourceFile: doc?.path ?? '', reason: `cannot judge the encryption config named by ${r.where}: ${doc?.error?.message ?? 'it was not read'}` });
  }
  return doc;
}

const covered = (doc: EncryptionConfigFacts): string => doc.resources.map((e) => e.resources.join(',')).filter((s) => s !== '').join(',') || '(nothing)';

export function encryptionConfiguredCheck(meta: CheckMeta): CustomCheck {
  const subject = `${APISERVER}/--encryption-provider-config`;
  return {
    ...meta,
    kind: 'custom',
    reads: "kube-apiserver's --encryption-provider-config, and the EncryptionConfiguration file it names (the resources it covers).",
    evaluate(facts: HostFacts): Result[] {
      const expected = 'set, naming an EncryptionConfiguration';
      const c = componentOf(meta, facts, APISERVER, subject, expected);
      if (isResult(c)) return [c];
      const doc = encryptionDoc(meta, c, facts, subject, expected);
      if (isResult(doc)) return [doc];
      const resources = covered(doc);
      return [makeResult(meta, {
        subject, status: 'pass', expected, actual: resources, source: 'config', sourceFile: doc.path,
        reason: `${foundAs(c)}: ${doc.path} configures encryption at rest for ${resources}`,
      })];
    },
  };
}

export function encryptionProviderCheck(meta: CheckMeta): CustomCheck {
  const subject = `${APISERVER}/--encryption-provider-config`;
  const expected = 'first provider for secrets is kms (v2), aescbc, aesgcm or secretbox';
  return {
    ...meta,
    kind: 'custom',
    reads: "The EncryptionConfiguration file kube-apiserver's --encryption-provider-config names: the first provider for secrets. Keys are reduced to their length as the file is read.",
    evaluate(facts: HostFacts): Result[] {
      const c = componentOf(meta, facts, APISERVER, subject, expected);
      if (isResult(c)) return [c];
      const doc = encryptionDoc(meta, c, facts, subject, expected);
      if (isResult(doc)) return [doc];
      const base = { subject, expected, source: 'config' as const, sourceFile: doc.path };
      const index = doc.resources.findIndex((e) => e.resources.some((r) => COVERS_SECRETS.has(r)));
      const entry = doc.resources[index];
      if (entry === undefined) {
        return [makeResult(meta, { ...base, status: failingStatus(meta), actual: 'identity', reason: `no resources entry of ${doc.path} covers secrets (it covers ${covered(doc)}), so secrets are stored unencrypted` })];
      }
      const first = entry.providers[0];
      const where = `resources[${index}] (${entry.resources.join(',')}) of ${doc.path}`;
      if (first === undefined) return [makeResult(meta, { ...base, status: failingStatus(meta), actual: '', reason: `${where} lists no provider` })];
      const actual = first.type === 'kms' ? `kms (${first.apiVersion})` : first.type;
      const others = entry.providers.slice(1).map((p) => p.type);
      const rest = others.length > 0 ? `; later providers (${others.join(', ')}) only decrypt what was written before` : '';
      let ok = STRONG_PROVIDERS.has(first.type) || (first.type === 'kms' && first.apiVersion === 'v2');
      let why = '';
      if (first.type === 'identity') why = ': identity first means new secrets are written unencrypted';
      else if (first.type === 'kms' && first.apiVersion !== 'v2') why = ': KMS v1 is deprecated and disabled by default since Kubernetes 1.29; use apiVersion v2';
      else if (ok && first.type !== 'kms' && first.keyLengths.length === 0) {
        ok = false;
        why = ': the provider lists no key';
      }
      return [makeResult(meta, {
        ...base,
        status: ok ? 'pass' : failingStatus(meta),
        actual,
        reason: `${foundAs(c)}: the first provider for secrets in ${where} is ${actual}${why}${rest}`,
      })];
    },
  };
}

/** A manual check that always needs a human: reports the effective value and warns. */
export function reviewSettingCheck(meta: CheckMeta, setting: ValueSpec, question: string): CustomCheck {
  const subject = `${APISERVER}/--${setting.flag}`;
  return {
    ...meta,
    kind: 'custom',
    reads: `kube-apiserver's --${setting.flag}; the effective value is reported for a person to review (always warn).`,
    evaluate(facts: HostFacts): Result[] {
      const expected = 'reviewed by a human';
      const c = componentOf(meta, facts, APISERVER, subject, expected);
      if (isResult(c)) return [c];
      const r = resolveComponentValue(c, setting);
      if (r.kind === 'error') return [makeResult(meta, { subject, status: 'error', expected, sourceFile: r.sourceFile, reason: r.reason })];
      if (r.kind === 'hidden') return [makeResult(meta, { subject, status: 'warn', expected, reason: `${foundAs(c)}: ${r.reason}: ${r.why}; ${question}` })];
      return [makeResult(meta, {
        subject, status: 'warn', expected, actual: r.value ?? '', source: r.source, sourceFile: r.sourceFile,
        reason: `${foundAs(c)}: --${setting.flag} is ${r.value ?? 'not set'} (${r.where}); ${question}`,
      })];
    },
  };
}

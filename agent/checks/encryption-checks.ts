// Encryption at rest beyond CIS 1.2.27/1.2.28 (api-server-checks.ts): the strength of the
// keys the API server encrypts with, the deprecated KMS v1 provider, and the mode and owner
// of the file that holds the keys. Judged on the configuration as the facts reduced it:
// providers and key LENGTHS, never a key. Pure.
import type { Result } from '../../proto/domain.js';
import { resolveComponentValue } from '../facts/component-settings.js';
import type { EncryptionConfigFacts, EncryptionProviderFact, HostFacts } from '../facts/index.js';
import { ENCRYPTION_CONFIG, encryptionDoc } from './api-server-checks.js';
import { componentOf, foundAs, isResult } from './control-plane-results.js';
import { propertyValue } from './file-checks.js';
import { describeTest, runTest } from './operators.js';
import { failingStatus, makeResult } from './result.js';
import type { CheckMeta, CustomCheck } from './spec.js';

const APISERVER = 'kube-apiserver';
const SUBJECT = `${APISERVER}/--encryption-provider-config`;

/** The encryption config in use, or the result that says why there is none to judge. */
function configuredDoc(meta: CheckMeta, facts: HostFacts, expected: string): EncryptionConfigFacts | Result {
  const c = componentOf(meta, facts, APISERVER, SUBJECT, expected);
  if (isResult(c)) return c;
  const r = resolveComponentValue(c, ENCRYPTION_CONFIG);
  if (r.kind === 'value' && (r.value === null || r.value === '')) {
    return makeResult(meta, {
      subject: SUBJECT, status: 'skip', expected, source: r.source,
      reason: `${foundAs(c)}: ${r.where}: there is no encryption configuration to judge (cis-1.2.27 reports that secrets are stored unencrypted)`,
    });
  }
  return encryptionDoc(meta, c, facts, SUBJECT, expected);
}

interface Located {
  readonly subject: string;
  readonly where: string;
  readonly provider: EncryptionProviderFact;
}

/** Every provider of every resources entry, with a subject that names its place in the file. */
function providersOf(doc: EncryptionConfigFacts, types: ReadonlySet<string>): Located[] {
  return doc.resources.flatMap((entry, i) => entry.providers.flatMap((provider, j) => {
    if (!types.has(provider.type)) return [];
    const place = `resources[${i}].providers[${j}]`;
    return [{ subject: `${doc.path}#${place}`, where: `${place} (${provider.type}, for ${entry.resources.join(',') || 'nothing'}) of ${doc.path}`, provider }];
  }));
}

/**
 * A check over the providers of the given types, one result per provider; `skip` (saying
 * `none`) when the config has none of them.
 */
function providerCheck(meta: CheckMeta, reads: string, expected: string, types: ReadonlySet<string>, none: string, judge: (p: Located, doc: EncryptionConfigFacts) => Result): CustomCheck {
  return {
    ...meta,
    kind: 'custom',
    reads,
    evaluate(facts: HostFacts): Result[] {
      const doc = configuredDoc(meta, facts, expected);
      if (isResult(doc)) return [doc];
      const located = providersOf(doc, types);
      if (located.length === 0) return [makeResult(meta, { subject: doc.path, status: 'skip', expected, source: 'config', sourceFile: doc.path, reason: `${doc.path} has no ${none}` })];
      return located.map((p) => judge(p, doc));
    },
  };
}

/** Key sizes each provider accepts; a key must be this long to be strong. */
const VALID_BYTES: Readonly<Record<string, readonly number[]>> = { aescbc: [16, 24, 32], aesgcm: [16, 24, 32], secretbox: [32] };
const STRONG_BYTES = 32;
const KEYED = new Set(Object.keys(VALID_BYTES));

export function encryptionKeyStrengthCheck(meta: CheckMeta): CustomCheck {
  const expected = `every aescbc, aesgcm and secretbox key decodes to ${STRONG_BYTES} bytes`;
  const none = 'aescbc, aesgcm or secretbox provider: no key of its own to judge';
  const reads = "Every aescbc, aesgcm and secretbox provider of the EncryptionConfiguration kube-apiserver's --encryption-provider-config names: the decoded length of each key (only the length is kept). One result per provider.";
  return providerCheck(meta, reads, expected, KEYED, none, ({ subject, where, provider }, doc) => {
    const lengths = provider.keyLengths;
    const valid = VALID_BYTES[provider.type] ?? [];
    const base = { subject, expected, source: 'config' as const, sourceFile: doc.path, actual: lengths.map((n) => (n === null ? 'invalid' : `${n * 8} bits`)).join(',') };
    if (lengths.length === 0) return makeResult(meta, { ...base, status: failingStatus(meta), reason: `${where} lists no key` });
    const why = (n: number): string => (valid.includes(n) ? ` (${n * 8}-bit, weaker than ${STRONG_BYTES * 8}-bit)` : `, which ${provider.type} does not accept`);
    const weak = lengths.flatMap((n, k) => (n !== null && n !== STRONG_BYTES ? [`keys[${k}] is ${n} bytes${why(n)}`] : []));
    if (weak.length > 0) return makeResult(meta, { ...base, status: failingStatus(meta), reason: `${where}: ${weak.join('; ')}` });
    const malformed = lengths.flatMap((n, k) => (n === null ? [`keys[${k}]`] : []));
    if (malformed.length > 0) {
      return makeResult(meta, { ...base, status: 'error', reason: `${where}: the secret of ${malformed.join(', ')} is not valid base64 (or missing), so its length cannot be told; the API server would not start with it` });
    }
    return makeResult(meta, { ...base, status: 'pass', reason: `${where}: ${lengths.length === 1 ? 'its key is' : `all ${lengths.length} keys are`} ${STRONG_BYTES * 8}-bit` });
  });
}

export function encryptionKmsV1Check(meta: CheckMeta): CustomCheck {
  const expected = 'every kms provider uses apiVersion v2';
  const reads = "Every kms provider of the EncryptionConfiguration kube-apiserver's --encryption-provider-config names: its apiVersion. One result per provider.";
  return providerCheck(meta, reads, expected, new Set(['kms']), 'kms provider', ({ subject, where, provider }, doc) => {
    const v2 = provider.apiVersion === 'v2';
    const name = provider.name !== '' ? ` (plugin ${provider.name})` : '';
    return makeResult(meta, {
      subject, expected, source: 'config', sourceFile: doc.path, actual: provider.apiVersion,
      status: v2 ? 'pass' : failingStatus(meta),
      reason: v2
        ? `${where}${name} uses KMS v2`
        : `${where}${name} uses KMS ${provider.apiVersion}${provider.apiVersion === 'v1' ? ' (no apiVersion means v1)' : ''}: KMS v1 is deprecated and off by default since Kubernetes 1.29`,
    });
  });
}

export function encryptionConfigFileCheck(meta: CheckMeta): CustomCheck {
  const modeTest = { op: 'bitmask-mode-at-most', value: '600' } as const;
  const expected = `mode ${describeTest(modeTest)}, owned by root`;
  return {
    ...meta,
    kind: 'custom',
    reads: "The mode and owner of the EncryptionConfiguration file kube-apiserver's --encryption-provider-config names (it holds the keys).",
    evaluate(facts: HostFacts): Result[] {
      const doc = configuredDoc(meta, facts, expected);
      // A config that cannot be parsed still has a file whose mode matters.
      if (isResult(doc) && doc.status !== 'error') return [doc];
      const file = facts.controlPlane?.apiServer.encryptionFile ?? null;
      if (file === null) return [isResult(doc) ? doc : makeResult(meta, { subject: doc.path, status: 'error', expected, reason: `${doc.path} was not stat'ed` })];
      const path = file.path;
      if (file.error !== null || file.stat === null) {
        return [makeResult(meta, { subject: path, status: 'error', expected, source: 'file', reason: `${path} cannot be stat'ed: ${file.error?.message ?? 'no stat'}` })];
      }
      const mode = propertyValue(file, 'mode');
      const owner = propertyValue(file, 'owner');
      const modeOk = runTest(modeTest, mode);
      const rootOwned = file.stat.uid === 0;
      const problems = [
        ...(modeOk.ok ? [] : [`mode ${mode} lets others than its owner read or change it (${modeOk.note})`]),
        ...(rootOwned ? [] : [`it is owned by ${owner.split(':')[0] ?? ''}, not root`]),
      ];
      const judged = file.realPath !== null && file.realPath !== path ? `${file.realPath} (link target of ${path})` : path;
      return [makeResult(meta, {
        subject: path, expected, actual: `${mode} ${owner}`, source: 'file', sourceFile: file.realPath ?? path,
        status: problems.length === 0 ? 'pass' : failingStatus(meta),
        reason: problems.length === 0
          ? `${judged}, which holds the encryption keys, is ${mode} and owned by ${owner}`
          : `${judged} holds the encryption keys, but ${problems.join(', and ')}`,
      })];
    },
  };
}

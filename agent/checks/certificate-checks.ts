// Judgements on the certificate and key files of agent/facts/certificates.ts, one result per
// file (its host path is the subject). Pure: the facts phase read the files, paired keys with
// certificates and verified chains; here only the clock (`now`) and the component flags that
// say what a certificate must cover are added.
import type { Result, Severity } from '../../proto/domain.js';
import type { CertificateFacts, CertificateFileFact, CertificateInfo, CertificateRole, FileFacts, HostFacts, KeyFileFact } from '../facts/index.js';
import { failingStatus, makeResult, type Judgement } from './result.js';
import type { CheckMeta, CustomCheck } from './spec.js';
import { USER_DB_PATHS } from './dependencies.js';
import { cisRef } from '../../proto/benchmark-refs.js';

const DAY_MS = 24 * 60 * 60 * 1000;
/** Certificates: warn this many days before expiry, critical at EXPIRY_CRITICAL_DAYS (design.md). */
export const EXPIRY_WARN_DAYS = 30;
export const EXPIRY_CRITICAL_DAYS = 7;
/** Digests a signature must not rest on (collisions can be made for them). */
const WEAK_HASHES = new Set(['md2', 'md4', 'md5', 'sha1']);
export const MIN_RSA_BITS = 2048;
export const MIN_EC_BITS = 256;

/** What each role's certificate is for: the extended key usages its peers require. */
export const REQUIRED_EKU: Partial<Readonly<Record<CertificateRole, readonly ('serverAuth' | 'clientAuth')[]>>> = {
  'etcd-server': ['serverAuth'],
  'etcd-peer': ['serverAuth', 'clientAuth'],
  'apiserver-serving': ['serverAuth'],
  'apiserver-etcd-client': ['clientAuth'],
  'apiserver-kubelet-client': ['clientAuth'],
  'apiserver-proxy-client': ['clientAuth'],
  'kubelet-serving': ['serverAuth'],
  'kubelet-client': ['clientAuth'],
};

export const NO_CERTIFICATE_FACTS = 'no certificate facts were collected';
const NOTHING_SUBJECT = 'certificates';

// ---------------------------------------------------------------------------------------
// Shared steps

/** A judgement may raise the check's severity (a certificate days from expiry is critical). */
type RaisedJudgement = Judgement & { readonly severity?: Severity };
type Judge<T> = (item: T) => RaisedJudgement | null;

/**
 * Runs `judge` over `items`; an item it returns null for is not this check's business. No
 * facts: `error`. Nothing to judge: one `skip` saying why.
 */
function perItem<T>(meta: CheckMeta, facts: HostFacts, pick: (c: CertificateFacts) => readonly T[], judge: Judge<T>, none: string): Result[] {
  const c = facts.certificates;
  if (c === undefined) return [makeResult(meta, { subject: NOTHING_SUBJECT, status: 'error', reason: NO_CERTIFICATE_FACTS })];
  const out: Result[] = [];
  for (const item of pick(c)) {
    const j = judge(item);
    if (j !== null) out.push(withSeverity(meta, j));
  }
  if (out.length > 0) return out;
  // A setting that could not be read may name one: that is not "nothing to judge".
  const unread = c.errors.filter((e) => e.code === 'EINVAL');
  if (unread.length > 0) {
    const listed = `${unread.slice(0, 3).map((e) => e.message).join('; ')}${unread.length > 3 ? `; and ${unread.length - 3} more` : ''}`;
    return [makeResult(meta, { subject: NOTHING_SUBJECT, status: 'error', reason: `${none} found, but where the components keep theirs cannot be told: ${listed}` })];
  }
  const looked = c.pkiDirs.length > 0 ? ` and nothing under ${c.pkiDirs.join(', ')} is one` : '';
  return [makeResult(meta, { subject: NOTHING_SUBJECT, status: 'skip', reason: `${none}: no component on this node names one${looked}` })];
}

function withSeverity(meta: CheckMeta, j: RaisedJudgement): Result {
  const { severity, ...rest } = j;
  const r = makeResult(meta, rest);
  return severity === undefined ? r : { ...r, severity };
}

/** Who names a file, in words: `--cert-file on the etcd command line`, `found under /etc/kubernetes/pki`. */
function namedBy(uses: ReadonlyArray<{ component: string; setting: string; where: string }>): string {
  const parts = uses.map((u) => u.where);
  return [...new Set(parts)].join('; ');
}

const sourceFileOf = (f: FileFacts): string => f.realPath ?? f.path;

/** The `error` judgement for a file that is missing, unreadable or holds no certificate. */
function fileProblem(path: string, file: FileFacts, error: { code: string; message: string } | null, uses: Parameters<typeof namedBy>[0], expected: string): Judgement | null {
  const e = file.error ?? error;
  if (e === null) return null;
  const why = e.code === 'ENOENT' ? 'does not exist on the host' : `cannot be judged: ${e.message}`;
  return { subject: path, status: 'error', expected, source: 'file', reason: `${path} (${namedBy(uses)}) ${why}` };
}

const certProblem = (c: CertificateFileFact, expected: string): Judgement | null => fileProblem(c.path, c.file, c.error, c.uses, expected);

const label = (c: CertificateFileFact, i: CertificateInfo): string => (c.certificates.length > 1 ? `${i.subject} in ${c.path}` : c.path);

const day = (iso: string): string => iso.slice(0, 10);

// ---------------------------------------------------------------------------------------
// Per certificate file

function expiry(now: Date): Judge<CertificateFileFact> {
  const expected = `more than ${EXPIRY_WARN_DAYS} days before notAfter`;
  return (c) => {
    const bad = certProblem(c, expected);
    if (bad !== null) return bad;
    const first = [...c.certificates].sort((a, b) => Date.parse(a.notAfter) - Date.parse(b.notAfter))[0];
    if (first === undefined) return null;
    const leftMs = Date.parse(first.notAfter) - now.getTime();
    const days = Math.floor(Math.abs(leftMs) / DAY_MS);
    const left = leftMs <= 0 ? `expired ${days} day${days === 1 ? '' : 's'} ago` : `${days} day${days === 1 ? '' : 's'} left`;
    const actual = `notAfter ${first.notAfter} (${left})`;
    const base = { subject: c.path, actual, expected, source: 'file' as const, sourceFile: sourceFileOf(c.file) };
    const what = `${label(c, first)} (${namedBy(c.uses)}) ${leftMs <= 0 ? 'expired on' : 'expires on'} ${day(first.notAfter)}`;
    if (leftMs > EXPIRY_WARN_DAYS * DAY_MS) return { ...base, status: 'pass', reason: `${what}: ${left}` };
    if (leftMs > EXPIRY_CRITICAL_DAYS * DAY_MS) {
      return { ...base, status: 'warn', severity: 'medium', reason: `${what}: ${left}, within ${EXPIRY_WARN_DAYS} days; renew it` };
    }
    const when = leftMs <= 0 ? 'it has expired and every TLS handshake with it fails' : `within ${EXPIRY_CRITICAL_DAYS} days; renew it now`;
    return { ...base, status: 'fail', severity: 'critical', reason: `${what}: ${left}, ${when}` };
  };
}

function notYetValid(meta: CheckMeta, now: Date): Judge<CertificateFileFact> {
  const expected = 'notBefore in the past';
  return (c) => {
    const bad = certProblem(c, expected);
    if (bad !== null) return bad;
    const future = c.certificates.filter((i) => Date.parse(i.notBefore) > now.getTime());
    const shown = future[0] ?? c.certificates[0];
    if (shown === undefined) return null;
    const base = { subject: c.path, actual: `notBefore ${shown.notBefore}`, expected, source: 'file' as const, sourceFile: sourceFileOf(c.file) };
    if (future.length === 0) return { ...base, status: 'pass', reason: `${c.path} has been valid since ${shown.notBefore}` };
    return {
      ...base, status: failingStatus(meta),
      reason: `${label(c, shown)} (${namedBy(c.uses)}) is not valid before ${shown.notBefore}: peers refuse it until then (a clock behind, or a certificate issued with a future start)`,
    };
  };
}

function weakKey(meta: CheckMeta): Judge<CertificateFileFact> {
  const expected = `RSA of at least ${MIN_RSA_BITS} bits, or EC on P-256 or stronger`;
  const describe = (i: CertificateInfo): string => (i.keyType === 'ec' ? `EC ${i.curve ?? '?'} (${i.keyBits} bits)` : `${i.keyType.toUpperCase()} ${i.keyBits} bits`);
  const isWeak = (i: CertificateInfo): boolean =>
    ((i.keyType === 'rsa' || i.keyType === 'rsa-pss' || i.keyType === 'dsa') && i.keyBits < MIN_RSA_BITS) || (i.keyType === 'ec' && i.keyBits < MIN_EC_BITS);
  return (c) => {
    const bad = certProblem(c, expected);
    if (bad !== null) return bad;
    const first = c.certificates[0];
    if (first === undefined) return null;
    const weak = c.certificates.filter(isWeak);
    const shown = weak[0] ?? first;
    const base = { subject: c.path, actual: describe(shown), expected, source: 'file' as const, sourceFile: sourceFileOf(c.file) };
    if (weak.length === 0) return { ...base, status: 'pass', reason: `${c.path}: ${c.certificates.map(describe).join(', ')}` };
    return { ...base, status: failingStatus(meta), reason: `${label(c, shown)} (${namedBy(c.uses)}) has a ${describe(shown)} key, too weak to resist factoring or discrete-log attacks` };
  };
}

function weakSignature(meta: CheckMeta): Judge<CertificateFileFact> {
  const expected = 'a signature over SHA-256 or stronger';
  return (c) => {
    const bad = certProblem(c, expected);
    if (bad !== null) return bad;
    const first = c.certificates[0];
    if (first === undefined) return null;
    // A trust anchor's self-signature is never relied on: clients trust its key, not the signature.
    const anchor = (i: CertificateInfo): boolean => i.isCa && i.selfSigned;
    const weak = c.certificates.filter((i) => i.signatureHash !== null && WEAK_HASHES.has(i.signatureHash) && !anchor(i));
    const shown = weak[0] ?? first;
    const base = { subject: c.path, actual: shown.signatureAlgorithm, expected, source: 'file' as const, sourceFile: sourceFileOf(c.file) };
    if (weak.length === 0) {
      const note = c.certificates.some((i) => anchor(i) && i.signatureHash !== null && WEAK_HASHES.has(i.signatureHash))
        ? ' (the self-signature of a root CA is not relied on, so its digest does not matter)'
        : '';
      return { ...base, status: 'pass', reason: `${c.path}: ${c.certificates.map((i) => i.signatureAlgorithm).join(', ')}${note}` };
    }
    return {
      ...base, status: failingStatus(meta),
      reason: `${label(c, shown)} (${namedBy(c.uses)}) is signed with ${shown.signatureAlgorithm}: colliding certificates can be made for ${shown.signatureHash?.toUpperCase() ?? ''}`,
    };
  };
}

function chain(meta: CheckMeta): Judge<CertificateFileFact> {
  const expected = 'signed by the CA its verifier is given';
  return (c) => {
    const named = c.uses.some((u) => u.ca !== null);
    const first = c.certificates[0];
    if (first?.isCa === true) return null;
    const bad = certProblem(c, expected);
    if (bad !== null) return named ? bad : null;
    if (first === undefined) return null;
    const base = { subject: c.path, actual: `issuer ${first.issuer}`, expected, source: 'file' as const, sourceFile: sourceFileOf(c.file) };
    if (c.chain.length === 0) return { ...base, status: 'skip', reason: `no CA file is named for ${c.path} (${namedBy(c.uses)})` };
    const failed = c.chain.find((x) => x.verified === false);
    if (failed !== undefined) {
      return { ...base, status: failingStatus(meta), reason: `${c.path} (${namedBy(c.uses)}) is ${failed.reason}: whoever verifies it with that CA refuses it` };
    }
    const unknown = c.chain.find((x) => x.verified === null);
    if (unknown !== undefined) return { ...base, status: 'error', reason: `${c.path}: ${unknown.reason}` };
    return { ...base, status: 'pass', reason: `${c.path} is ${c.chain.map((x) => x.reason).join('; ')}` };
  };
}

function extendedKeyUsage(meta: CheckMeta): Judge<CertificateFileFact> {
  return (c) => {
    const needs = [...new Set(c.uses.flatMap((u) => REQUIRED_EKU[u.role] ?? []))];
    if (needs.length === 0) return null;
    const expected = needs.join(' and ');
    const bad = certProblem(c, expected);
    if (bad !== null) return bad;
    const first = c.certificates[0];
    if (first === undefined) return null;
    const roles = [...new Set(c.uses.filter((u) => REQUIRED_EKU[u.role]).map((u) => u.role))].join(', ');
    const has = first.extendedKeyUsages;
    const base = { subject: c.path, actual: has === null ? '(no extendedKeyUsage extension)' : has.join(',') || '(none)', expected, source: 'file' as const, sourceFile: sourceFileOf(c.file) };
    if (has === null) return { ...base, status: 'pass', reason: `${c.path} (${roles}) has no extendedKeyUsage extension, so it may be used for any purpose` };
    if (has.includes('anyExtendedKeyUsage')) return { ...base, status: 'pass', reason: `${c.path} (${roles}) allows any extended key usage` };
    const missing = needs.filter((n) => !has.includes(n));
    if (missing.length === 0) return { ...base, status: 'pass', reason: `${c.path} (${roles}) allows ${expected}` };
    return {
      ...base, status: failingStatus(meta),
      reason: `${c.path} is used as ${roles} (${namedBy(c.uses)}) but does not allow ${missing.join(' or ')}: TLS peers refuse it for that purpose`,
    };
  };
}

// ---------------------------------------------------------------------------------------
// Per key file

function keyMatch(meta: CheckMeta): Judge<KeyFileFact> {
  const expected = 'the private key of its certificate';
  return (k) => {
    if (k.kind !== 'leaf') {
      return { subject: k.path, status: 'skip', expected, source: 'file', reason: `${k.path}: ${k.kindReason}; the agent stats it and never reads it` };
    }
    const bad = fileProblem(k.path, k.file, null, k.uses, expected);
    if (bad !== null) return bad;
    const base = { subject: k.path, expected, source: 'file' as const, sourceFile: sourceFileOf(k.file) };
    const wrong = k.matches.find((m) => m.matches === false);
    if (wrong !== undefined) {
      return {
        ...base, status: failingStatus(meta), actual: `does not match ${wrong.certificate}`,
        reason: `${k.path} (${namedBy(k.uses)}) is not the private key of ${wrong.certificate}: ${wrong.reason}, so the component cannot complete a TLS handshake with this pair`,
      };
    }
    const unknown = k.matches.find((m) => m.matches === null);
    if (unknown !== undefined || k.matches.length === 0) return { ...base, status: 'error', reason: unknown?.reason ?? `${k.path}: no certificate to match it with` };
    return { ...base, status: 'pass', actual: `matches ${k.matches.map((m) => m.certificate).join(', ')}`, reason: `${k.path} is the private key of ${k.matches.map((m) => m.certificate).join(' and ')}` };
  };
}

const MAX_KEY_MODE = 0o600;
const KEY_OWNERS = new Set(['root', 'etcd']);
/** What CIS 1.1.21 covers: the *.key files of the PKI directories. */
const CIS_KEY_FILE = /\.key$/;
export const CIS_PKI_KEY_MODE = cisRef('1.1.21');

interface KeyHolder {
  readonly path: string;
  readonly file: FileFacts;
  readonly uses: Parameters<typeof namedBy>[0];
  readonly what: string;
  /** In the control plane's PKI file set: cis-1.1.19 judges its owner, and a *.key is CIS 1.1.21's. */
  readonly inPkiSet: boolean;
}

/** The PKI file set cis-1.1.19 judges (every entry), by path; empty off a control-plane node. */
function pkiSet(facts: HostFacts): { readonly files: readonly FileFacts[]; readonly locatedBy: string } {
  const set = facts.controlPlane?.fileSets.pki;
  return set?.status === 'found' ? set : { files: [], locatedBy: '' };
}

/**
 * Every private key file: the keys the certificate facts found (named by a component or under
 * the PKI directories), certificate files that also hold a key, and any *.key file of the
 * control plane's PKI file set those missed (past the certificate facts' bound), so that the
 * files CIS 1.1.21 names are always judged here.
 */
function keyHolders(c: CertificateFacts, facts: HostFacts): KeyHolder[] {
  const pki = pkiSet(facts);
  const inPki = new Set(pki.files.map((f) => f.path));
  const out: KeyHolder[] = c.keys.map((k) => ({ path: k.path, file: k.file, uses: k.uses, what: k.kindReason, inPkiSet: inPki.has(k.path) }));
  const known = new Set(out.map((k) => k.path));
  for (const cert of c.certificates) {
    if (cert.holdsPrivateKey && !known.has(cert.path)) {
      out.push({ path: cert.path, file: cert.file, uses: cert.uses, what: 'a certificate file that also holds a private key', inPkiSet: inPki.has(cert.path) });
      known.add(cert.path);
    }
  }
  for (const f of pki.files) {
    if (known.has(f.path) || f.stat?.type === 'dir' || !CIS_KEY_FILE.test(f.path)) continue;
    out.push({ path: f.path, file: f, uses: [{ component: 'pki-dir', setting: '', where: `found as ${pki.locatedBy}` }], what: 'a key file of the PKI directory', inPkiSet: true });
  }
  return out.sort((a, b) => a.path.localeCompare(b.path));
}

/**
 * A private key file is private: mode 600 or stricter, and owned by root (or etcd, for etcd's
 * own keys). One result per file, whichever check the benchmark files it under: on the *.key
 * files of the PKI directories it is CIS 1.1.21 (the result carries cis-1.12:1.1.21), and their
 * owner is left to cis-1.1.19, which judges the owner of every file there (root:root).
 */
function keyFile(meta: CheckMeta): Judge<KeyHolder> {
  return (k) => {
    const ownerHere = !k.inPkiSet;
    const references = k.inPkiSet && CIS_KEY_FILE.test(k.path) ? [CIS_PKI_KEY_MODE] : [];
    const expected = ownerHere ? 'mode 600 or stricter, owner root or etcd' : 'mode 600 or stricter (its owner is judged by cis-1.1.19)';
    const bad = fileProblem(k.path, k.file, null, k.uses, expected);
    if (bad !== null) return { ...bad, references };
    const st = k.file.stat;
    if (st === null) return null;
    // uid 0 is root whatever the host's /etc/passwd says.
    const owner = st.uid === 0 ? 'root' : k.file.owner ?? String(st.uid);
    const mode = st.mode.toString(8).padStart(3, '0');
    const problems: string[] = [];
    if ((st.mode & ~MAX_KEY_MODE & 0o7777) !== 0) problems.push(`mode ${mode} allows more than 600${st.mode & 0o044 ? ': other users can read the key' : ''}`);
    if (ownerHere && !KEY_OWNERS.has(owner)) problems.push(`owner ${owner} is neither root nor etcd${k.file.owner === null && st.uid !== 0 ? ' (a uid without a name in the host\'s /etc/passwd)' : ''}`);
    const actual = ownerHere ? `mode ${mode}, owner ${owner}` : `mode ${mode}`;
    const base = { subject: k.path, actual, expected, source: 'file' as const, sourceFile: sourceFileOf(k.file), references };
    const realNote = k.file.realPath !== null && k.file.realPath !== k.path ? ` (link target ${k.file.realPath})` : '';
    if (problems.length === 0) return { ...base, status: 'pass', reason: `${k.path}${realNote}, ${k.what}: mode ${mode}, owner ${owner}` };
    return { ...base, status: failingStatus(meta), reason: `${k.path}${realNote}, ${k.what}: ${problems.join('; ')}` };
  };
}

// ---------------------------------------------------------------------------------------
// Dependencies: the certificate and key files, the directories walked, what named them (the
// control plane's manifests and configs, the kubelet's config files) and the user database.

export function certificateDependencies(facts: HostFacts): string[] {
  const k = facts.kubelet;
  const kubelet = k === null ? [] : [
    ...(k.flagSources ?? []).filter((f) => f !== ''),
    ...(k.config === null ? [] : [k.config.path]),
    ...(k.dropins === null ? [] : [k.dropins.dir, ...k.dropins.files.map((d) => d.path)]),
  ];
  return [...(facts.certificates?.filesRead ?? []), ...(facts.controlPlane?.filesRead ?? []), ...kubelet, ...USER_DB_PATHS];
}

function custom(meta: CheckMeta, reads: string, evaluate: (facts: HostFacts, now: Date) => readonly Result[]): CustomCheck {
  return { ...meta, kind: 'custom', reads, evaluate, dependsOn: certificateDependencies };
}

/** The certificate files every certificate check judges, in words. */
export const CERTIFICATE_FILES = 'Every certificate file a component names (etcd, the API server, the controller manager, the kubelet and the certificates it rotates into --cert-dir) and every *.crt and *.pem under the PKI directories (at most 256 files)';

const allCerts = (c: CertificateFacts): readonly CertificateFileFact[] => c.certificates;

export const certExpiryCheck = (meta: CheckMeta): CustomCheck =>
  custom(meta, `${CERTIFICATE_FILES}: its expiry. Pass with more than 30 days left, warn within 30 days, fail (critical) within 7 days or once expired. One result per file.`, (facts, now) => perItem(meta, facts, allCerts, expiry(now), 'no certificate to judge'));
export const certNotYetValidCheck = (meta: CheckMeta): CustomCheck =>
  custom(meta, `${CERTIFICATE_FILES}: its notBefore. One result per file.`, (facts, now) => perItem(meta, facts, allCerts, notYetValid(meta, now), 'no certificate to judge'));
export const certWeakKeyCheck = (meta: CheckMeta): CustomCheck =>
  custom(meta, `${CERTIFICATE_FILES}: its public key (RSA under 2048 bits or EC under P-256 fails). One result per file.`, (facts) => perItem(meta, facts, allCerts, weakKey(meta), 'no certificate to judge'));
export const certWeakSignatureCheck = (meta: CheckMeta): CustomCheck =>
  custom(meta, `${CERTIFICATE_FILES}: its signature algorithm (MD5 or SHA-1 fails, except a root CA's own self-signature). One result per file.`, (facts) => perItem(meta, facts, allCerts, weakSignature(meta), 'no certificate to judge'));
export const certChainCheck = (meta: CheckMeta): CustomCheck =>
  custom(meta, 'Each leaf certificate and the CA file its verifier is given (etcd\'s --cert-file against --trusted-ca-file, the API server\'s etcd client pair against its --etcd-cafile, ...). Skip when no CA is named. One result per file.', (facts) => perItem(meta, facts, allCerts, chain(meta), 'no leaf certificate to verify'));
export const certEkuCheck = (meta: CheckMeta): CustomCheck =>
  custom(meta, `${CERTIFICATE_FILES}: its extended key usage against its role (serverAuth for servers, clientAuth for clients, both for etcd peers). One result per file.`, (facts) => perItem(meta, facts, allCerts, extendedKeyUsage(meta), 'no certificate with a known purpose'));
export const certKeyMatchCheck = (meta: CheckMeta): CustomCheck =>
  custom(meta, 'Each leaf private key a component names, with its certificate: whether the key is the certificate\'s. One boolean is kept and the key bytes are zeroed; CA and service-account keys are never opened. One result per key file.', (facts) => perItem(meta, facts, (c) => c.keys, keyMatch(meta), 'no private key file'));
export const certKeyFileCheck = (meta: CheckMeta): CustomCheck =>
  custom(meta, "Every private key file (CA and service-account keys included, certificate files that also hold a key, and every *.key file of the control plane's PKI directories): mode 600 or stricter; owner root or etcd, by the host's /etc/passwd, except in the PKI directories, where cis-1.1.19 judges the owner of every file. On the PKI directories' *.key files this is CIS 1.1.21 (cis-1.12:1.1.21). Keys are stat'ed, not opened. One result per file.", (facts) => perItem(meta, facts, (c) => keyHolders(c, facts), keyFile(meta), 'no private key file'));

export { perItem, certProblem, namedBy, sourceFileOf, custom };

// The cluster PKI as the data of one Secret, and what to do with it next. Reading and
// deciding are pure (`readPkiSecret`, `planStep`); `applyStep` makes the keys and
// certificates a step needs with the one PKI mechanism (pki.ts) and returns the Secret's new
// data. pki/cluster.ts reads the Secret, applies a step with an update guarded by
// resourceVersion, and loads the result.
//
// The Secret's data (the layout of a hand-made `pki init` Secret, plus the rotation state):
//   ca.crt         every CA the collector trusts, PEM, the signing CA first; also the bundle
//                  published to the agents
//   ca.key         the signing CA's key
//   tls.crt/.key   the serving certificate (gRPC, enrollment, API), issued by the signing CA
//   next.key       during the first phase of a rotation: the key of the new CA (the last
//                  certificate in ca.crt), which does not sign yet
//   rotation.json  {"phase": "announced"|"switched"|"done", "since": RFC 3339, "request": ...}
//
// A CA rotation, so that no agent loses its connection:
//   announced  the new CA is trusted and published next to the old one, which still signs;
//              the kubelets bring the new bundle to every agent (rotationAnnounceMs)
//   switched   the new CA signs agent certificates and the serving certificate; the old one
//              stays trusted until every agent certificate it signed has expired
//   done       the old CA is dropped
// It starts by itself when the signing CA nears its end (caRotateBeforeDays), or when an
// operator sets the annotation nodeward.io/rotate-ca on the Secret to a new value.
import { X509Certificate } from 'node:crypto';
import { pemCertificates } from '../../proto/support/pem.js';
import { keyMatchesCertificate } from './keys.js';
import { splitHosts } from './names.js';
import { CLOCK_SKEW_MS, createCa, issueServerCertificate } from './pki.js';

export const CA_CERT_KEY = 'ca.crt';
export const CA_KEY_KEY = 'ca.key';
export const TLS_CERT_KEY = 'tls.crt';
export const TLS_KEY_KEY = 'tls.key';
export const NEXT_KEY_KEY = 'next.key';
export const ROTATION_KEY = 'rotation.json';
/** Set it to a new value (a date, say) to start a CA rotation now. */
export const ROTATE_ANNOTATION = 'nodeward.io/rotate-ca';

const DAY_MS = 86_400_000;

export interface PkiPolicy {
  readonly hosts: readonly string[];
  readonly caValidDays: number;
  readonly caRotateBeforeDays: number;
  readonly servingValidDays: number;
  readonly servingRenewBeforeDays: number;
  readonly rotationAnnounceMs: number;
  /** How long the old CA stays trusted after the switch. */
  readonly retireAfterMs: number;
}

export interface Rotation {
  readonly phase: 'announced' | 'switched' | 'done';
  /** When the phase began (ms). */
  readonly since: number;
  /** The rotate-ca annotation value this rotation answered, if it was asked for. */
  readonly request?: string;
}

export interface PkiState {
  /** Every trusted CA, the signing CA first. */
  readonly cas: readonly { readonly pem: string; readonly cert: X509Certificate }[];
  readonly caKey: string;
  /** Absent when the Secret has none, or the one it has is not this CA's or lacks its key. */
  readonly serving?: { readonly certPem: string; readonly keyPem: string; readonly cert: X509Certificate };
  /** Why the serving certificate in the Secret was not taken, when it was not. */
  readonly servingProblem?: string;
  readonly nextKey?: string;
  readonly rotation?: Rotation;
}

/** The Secret cannot be used: its data is incomplete or inconsistent. Never overwritten. */
export class PkiSecretError extends Error {
  readonly code = 'PKI_SECRET_INVALID';
}

/** undefined for an empty Secret (nothing of the PKI in it: the first start). */
export function readPkiSecret(data: Readonly<Record<string, string>>, where: string): PkiState | undefined {
  const caPem = data[CA_CERT_KEY] ?? '';
  const caKey = data[CA_KEY_KEY] ?? '';
  const pkiKeys = [CA_CERT_KEY, CA_KEY_KEY, TLS_CERT_KEY, TLS_KEY_KEY, NEXT_KEY_KEY, ROTATION_KEY];
  if (pkiKeys.every((k) => !data[k])) return undefined;
  const fail = (why: string): never => {
    throw new PkiSecretError(`${where}: ${why}. The collector does not overwrite it: fix it, or empty the Secret to have a new CA made (docs/install.md, "Rotating the CA")`);
  };
  if (!caPem.trim() || !caKey.trim()) fail(`${!caPem.trim() ? CA_CERT_KEY : CA_KEY_KEY} is missing while other keys are set`);
  const pems = pemCertificates(caPem);
  if (pems.length === 0) fail(`${CA_CERT_KEY} holds no PEM certificate`);
  const cas = pems.map((pem, i) => {
    let cert: X509Certificate;
    try {
      cert = new X509Certificate(pem);
    } catch (err) {
      return fail(`certificate ${i + 1} of ${CA_CERT_KEY} is unreadable (${(err as Error).message})`);
    }
    if (!cert.ca) fail(`certificate ${i + 1} of ${CA_CERT_KEY} (${cert.subject}) is not a CA`);
    return { pem, cert };
  });
  const signing = cas[0]!;
  if (!keyMatches(caKey, signing.cert)) fail(`${CA_KEY_KEY} does not belong to the first certificate of ${CA_CERT_KEY} (the signing CA)`);

  let rotation: Rotation | undefined;
  if (data[ROTATION_KEY]) {
    try {
      const r = JSON.parse(data[ROTATION_KEY]) as { phase?: unknown; since?: unknown; request?: unknown };
      const since = typeof r.since === 'string' ? Date.parse(r.since) : NaN;
      if ((r.phase !== 'announced' && r.phase !== 'switched' && r.phase !== 'done') || Number.isNaN(since)) throw new Error('phase or since');
      rotation = { phase: r.phase, since, ...(typeof r.request === 'string' ? { request: r.request } : {}) };
    } catch {
      fail(`${ROTATION_KEY} is not {"phase": "announced"|"switched"|"done", "since": "<RFC 3339>"}`);
    }
  }
  let nextKey: string | undefined;
  if (rotation?.phase === 'announced') {
    nextKey = data[NEXT_KEY_KEY] ?? '';
    const next = cas[cas.length - 1]!;
    if (cas.length < 2 || !keyMatches(nextKey, next.cert)) fail(`a rotation is announced, but ${NEXT_KEY_KEY} is not the key of the last certificate of ${CA_CERT_KEY}`);
  }

  let serving: PkiState['serving'];
  let servingProblem: string | undefined;
  const certPem = data[TLS_CERT_KEY] ?? '';
  const keyPem = data[TLS_KEY_KEY] ?? '';
  if (!certPem.trim() || !keyPem.trim()) servingProblem = 'none yet';
  else {
    const [leafPem] = pemCertificates(certPem);
    let cert: X509Certificate | undefined;
    try {
      cert = leafPem ? new X509Certificate(leafPem) : undefined;
    } catch {
      cert = undefined;
    }
    if (!cert) servingProblem = `${TLS_CERT_KEY} is unreadable`;
    else if (!keyMatches(keyPem, cert)) servingProblem = `${TLS_KEY_KEY} does not belong to ${TLS_CERT_KEY}`;
    else if (!cert.checkIssued(signing.cert) || !cert.verify(signing.cert.publicKey)) servingProblem = 'not issued by the signing CA';
    else serving = { certPem, keyPem, cert };
  }
  return { cas, caKey, ...(serving ? { serving } : { servingProblem }), ...(nextKey ? { nextKey } : {}), ...(rotation ? { rotation } : {}) };
}

function keyMatches(keyPem: string, cert: X509Certificate): boolean {
  try {
    return keyMatchesCertificate(keyPem, cert);
  } catch {
    return false;
  }
}

export type Step =
  | { readonly kind: 'create' }
  | { readonly kind: 'replace-expired' }
  | { readonly kind: 'announce'; readonly request?: string; readonly why: string }
  | { readonly kind: 'switch' }
  | { readonly kind: 'retire' }
  | { readonly kind: 'issue-serving'; readonly why: string }
  | { readonly kind: 'none' };

/** The next thing to do to this state at `now`; `rotateRequest` is the rotate-ca annotation's value. */
export function planStep(state: PkiState | undefined, now: number, policy: PkiPolicy, rotateRequest?: string): Step {
  if (!state) return { kind: 'create' };
  const signing = state.cas[0]!.cert;
  if (Date.parse(signing.validTo) <= now) return { kind: 'replace-expired' };
  const r = state.rotation;
  if (r?.phase === 'announced') {
    if (now >= r.since + policy.rotationAnnounceMs) return { kind: 'switch' };
  } else if (r?.phase === 'switched') {
    if (now >= r.since + policy.retireAfterMs) return { kind: 'retire' };
  } else {
    if (rotateRequest && rotateRequest !== r?.request) return { kind: 'announce', request: rotateRequest, why: `requested (${ROTATE_ANNOTATION}: ${rotateRequest})` };
    const left = Date.parse(signing.validTo) - now;
    if (left < policy.caRotateBeforeDays * DAY_MS) {
      return { kind: 'announce', ...(rotateRequest ? { request: rotateRequest } : {}), why: `the signing CA expires in ${Math.floor(left / DAY_MS)} days` };
    }
  }
  const why = servingNeeds(state, now, policy);
  return why ? { kind: 'issue-serving', why } : { kind: 'none' };
}

/** Why the serving certificate must be issued again, or undefined when it is good. */
function servingNeeds(state: PkiState, now: number, policy: PkiPolicy): string | undefined {
  if (!state.serving) return state.servingProblem ?? 'none yet';
  const cert = state.serving.cert;
  const hosts = splitHosts(policy.hosts);
  const missing = [...hosts.dns.filter((h) => cert.checkHost(h) === undefined), ...hosts.ips.filter((ip) => cert.checkIP(ip) === undefined)];
  if (missing.length > 0) return `it does not cover ${missing.join(', ')}`;
  const notAfter = Date.parse(cert.validTo);
  // Renewal would not help when the CA ends first: its rotation takes care of that.
  const caEnd = Date.parse(state.cas[0]!.cert.validTo);
  if (notAfter - now < policy.servingRenewBeforeDays * DAY_MS && caEnd > notAfter) return `it expires ${cert.validTo}`;
  return undefined;
}

/** The trust bundle: every CA, the signing one first. */
export function bundleOf(state: PkiState): string {
  return state.cas.map((c) => c.pem).join('');
}

/** The Secret's new data after `step` (not 'none'). */
export async function applyStep(state: PkiState | undefined, step: Step, now: number, policy: PkiPolicy): Promise<Record<string, string>> {
  const caOptions = { validDays: policy.caValidDays, now: new Date(now), commonName: `nodeward CA ${new Date(now).toISOString().replace(/\.\d+Z$/, 'Z')}` };
  let cas: string[];
  let caKey: string;
  let nextKey: string | undefined;
  let rotation: Rotation | undefined = state?.rotation;
  let serving = state?.serving ? { certPem: state.serving.certPem, keyPem: state.serving.keyPem } : undefined;
  switch (step.kind) {
    case 'none':
      throw new Error('nothing to apply');
    case 'create':
    case 'replace-expired': {
      // An expired CA validates nothing any more: nothing is lost by dropping it at once.
      const ca = await createCa(null, caOptions);
      cas = [ca.certPem];
      caKey = ca.keyPem;
      serving = undefined;
      rotation = state?.rotation?.request ? { phase: 'done', since: now, request: state.rotation.request } : undefined;
      break;
    }
    case 'announce': {
      const s = state!;
      const ca = await createCa(null, caOptions);
      cas = [...s.cas.map((c) => c.pem), ca.certPem];
      caKey = s.caKey;
      nextKey = ca.keyPem;
      rotation = { phase: 'announced', since: now, ...(step.request ? { request: step.request } : {}) };
      break;
    }
    case 'switch': {
      const s = state!;
      const next = s.cas[s.cas.length - 1]!;
      cas = [next.pem, ...s.cas.slice(0, -1).map((c) => c.pem)];
      caKey = s.nextKey!;
      serving = undefined;
      rotation = { ...s.rotation!, phase: 'switched', since: now };
      break;
    }
    case 'retire': {
      const s = state!;
      cas = [s.cas[0]!.pem];
      caKey = s.caKey;
      rotation = { ...s.rotation!, phase: 'done', since: now };
      break;
    }
    case 'issue-serving':
      cas = state!.cas.map((c) => c.pem);
      caKey = state!.caKey;
      nextKey = state!.nextKey;
      serving = undefined;
      break;
  }
  if (!serving) {
    const issued = await issueServerCertificate({ certPem: cas[0]!, keyPem: caKey }, policy.hosts, { validDays: policy.servingValidDays, now: new Date(now) });
    serving = { certPem: issued.certPem, keyPem: issued.keyPem };
  }
  const data: Record<string, string> = {
    [CA_CERT_KEY]: cas.join(''),
    [CA_KEY_KEY]: caKey,
    [TLS_CERT_KEY]: serving.certPem,
    [TLS_KEY_KEY]: serving.keyPem,
  };
  if (nextKey) data[NEXT_KEY_KEY] = nextKey;
  if (rotation) data[ROTATION_KEY] = JSON.stringify({ phase: rotation.phase, since: new Date(rotation.since).toISOString(), ...(rotation.request ? { request: rotation.request } : {}) });
  return data;
}

/** How long after a switch the old CA is kept: the longest agent certificate it signed, plus slack. */
export function retireAfterMs(agentCertificateLifetimeMs: number, checkMs: number): number {
  return agentCertificateLifetimeMs + checkMs + CLOCK_SKEW_MS;
}

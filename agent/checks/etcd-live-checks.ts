// What etcd really does on the wire, judged from what the agent's probe saw on the node
// (agent/facts/etcd-probe.ts): CIS 2.2 reads whether etcd claims client certificate
// authentication, these read whether it refuses a client without one, and whether it answers
// in clear text. One result per advertised client URL. Pure.
//
// etcd requires client certificates when --client-cert-auth is true OR a --trusted-ca-file
// is given (its TLS setup turns verification on for either), so a missing flag alone does not
// mean clients are served: only when neither is set is the live check failed without looking
// at the wire.
import type { Result } from '../../proto/domain.js';
import type { ValueSpec } from '../facts/component-settings.js';
import { resolveComponentValue } from '../facts/component-settings.js';
import type { ComponentFacts, EtcdEndpointProbe, EtcdProbeFacts, EtcdWireProbe, HostFacts } from '../facts/index.js';
import { componentOf, foundAs, isResult } from './control-plane-results.js';
import { ETCD_TRUSTED_CA } from './etcd-ca-check.js';
import { failingStatus, makeResult } from './result.js';
import type { CheckMeta, CustomCheck } from './spec.js';

export const ETCD_CLIENT_CERT_AUTH: ValueSpec = {
  flag: 'client-cert-auth',
  type: 'bool',
  default: 'false',
  env: 'ETCD_CLIENT_CERT_AUTH',
  configPath: ['client-transport-security', 'client-cert-auth'],
};

const HOST_NETWORK_HINT = 'the agent needs the host network to reach the node\'s etcd';

/** The subject when no client URL is known: the probe is off, or the URLs cannot be told. */
const URLS_SUBJECT = 'etcd/client-urls';

interface Probed {
  readonly c: ComponentFacts;
  readonly probe: EtcdProbeFacts;
}

/** etcd's probe facts, or the one result that says why there is nothing to judge. */
function probedEtcd(meta: CheckMeta, c: ComponentFacts, facts: HostFacts, expected: string): Probed | Result {
  const probe = facts.etcdProbe;
  const base = { subject: URLS_SUBJECT, expected };
  if (probe === undefined) return makeResult(meta, { ...base, status: 'error', reason: 'no etcd probe facts were collected' });
  if (probe.disabledReason !== '') return makeResult(meta, { ...base, status: 'skip', reason: probe.disabledReason });
  if (probe.error !== '') return makeResult(meta, { ...base, status: 'error', reason: `${foundAs(c)}: ${probe.error}` });
  return { c, probe };
}

const subjectOf = (e: EtcdEndpointProbe): string => `etcd/${e.url}`;
const target = (e: EtcdEndpointProbe): string => `${e.host.includes(':') ? `[${e.host}]` : e.host}:${e.port}`;
const seen = (p: EtcdWireProbe | null): string => (p === null ? 'not tried' : p.detail);

/** The endpoints, each judged; endpoints that were not probed are errors that say why. */
function perEndpoint(meta: CheckMeta, p: Probed, expected: string, judge: (e: EtcdEndpointProbe) => Result): Result[] {
  const omitted = p.probe.omitted > 0 ? ` (${p.probe.omitted} more URLs were not looked at)` : '';
  return p.probe.endpoints.map((e) => (e.skipped !== ''
    ? makeResult(meta, { subject: subjectOf(e), status: 'error', expected, reason: `${foundAs(p.c)} advertises ${e.url} (${p.probe.urlsFrom}), which was not probed: ${e.skipped}${omitted}` })
    : judge(e)));
}

/** What the plain-text connection showed, when it decides the matter (etcd serves clear text). */
const servedPlain = (e: EtcdEndpointProbe): boolean => e.plain?.outcome === 'served';

interface Requirement {
  /** Whether etcd's settings make it require client certificates; null when that cannot be told. */
  readonly required: boolean | null;
  /** Why, in words. */
  readonly how: string;
  /** --client-cert-auth itself says so (nothing to add to a pass). */
  readonly byFlag: boolean;
  /** Where the deciding setting was read. */
  readonly source: Pick<Result, 'source' | 'sourceFile'>;
}

function requirementOf(c: ComponentFacts): Requirement {
  const claim = resolveComponentValue(c, ETCD_CLIENT_CERT_AUTH);
  const ca = resolveComponentValue(c, ETCD_TRUSTED_CA);
  if (claim.kind !== 'value') return { required: null, byFlag: false, how: `whether etcd requires client certificates cannot be told: ${claim.reason}`, source: { source: 'none', sourceFile: '' } };
  const from = { source: claim.source, sourceFile: claim.sourceFile };
  if (claim.value === 'true') return { required: true, byFlag: true, how: `client-cert-auth is true (${claim.where})`, source: from };
  const flag = `client-cert-auth is ${claim.value ?? 'not set'} (${claim.where})`;
  if (ca.kind !== 'value') return { required: null, byFlag: false, how: `${flag}, and whether a --trusted-ca-file turns it on anyway cannot be told: ${ca.reason}`, source: from };
  if (ca.value === null || ca.value === '') return { required: false, byFlag: false, how: `${flag} and no --trusted-ca-file is set`, source: from };
  return {
    required: true,
    byFlag: false,
    how: `${flag}, but --trusted-ca-file is set (${ca.where}), which makes etcd require client certificates anyway (cis-2.2 still asks for the explicit flag)`,
    source: { source: ca.source, sourceFile: ca.sourceFile },
  };
}

/** A check on the running etcd: `skip` on a node without etcd, `error` when nobody can tell. */
function etcdCheck(meta: CheckMeta, reads: string, expected: string, judge: (c: ComponentFacts, p: Probed | Result) => readonly Result[]): CustomCheck {
  return {
    ...meta,
    kind: 'custom',
    reads,
    evaluate(facts: HostFacts): readonly Result[] {
      const c = componentOf(meta, facts, 'etcd', URLS_SUBJECT, expected);
      return isResult(c) ? [c] : judge(c, probedEtcd(meta, c, facts, expected));
    },
  };
}

export function etcdClientCertAuthLiveCheck(meta: CheckMeta): CustomCheck {
  const expected = 'a TLS connection without a client certificate is refused';
  const reads = "etcd's --client-cert-auth and --trusted-ca-file, then the wire: for each client URL etcd advertises on this node (at most etcdProbe.maxUrls), a TLS connection that presents no client certificate asks GET /version. No certificate, key or token found on the host is ever presented. One result per URL; skip with --no-probe.";
  return etcdCheck(meta, reads, expected, (c, p) => {
    const req = requirementOf(c);
    // Neither --client-cert-auth nor a trusted CA: etcd never asks for a certificate, which needs no probe.
    if (req.required === false) {
      const unclaimed = `${foundAs(c)} does not require client certificates: ${req.how}, so anyone who reaches its client port is served`;
      if (isResult(p)) return [makeResult(meta, { subject: URLS_SUBJECT, status: failingStatus(meta), expected, actual: 'not required', ...req.source, reason: unclaimed })];
      return p.probe.endpoints.map((e) => makeResult(meta, {
        subject: subjectOf(e), status: failingStatus(meta), expected, actual: e.tls?.outcome ?? 'not required', ...req.source,
        reason: `${unclaimed}; ${e.skipped !== '' ? `${e.url} was not probed: ${e.skipped}` : `without a certificate, ${e.url}: ${seen(e.tls ?? e.plain)}`}`,
      }));
    }
    if (isResult(p)) return [p];
    // Said after a failure: what the settings promised; after a pass: only when it is not the flag.
    const note = req.required === true ? `, although ${req.how}` : ` (${req.how})`;
    const passNote = req.byFlag ? '' : `; ${req.how}`;
    return perEndpoint(meta, p, expected, (e) => {
      const base = { subject: subjectOf(e), expected, source: 'none' as const };
      const at = `${foundAs(c)} at ${e.url}`;
      const tls = e.tls;
      if (tls === null) {
        if (servedPlain(e)) return makeResult(meta, { ...base, status: failingStatus(meta), actual: 'plain text', reason: `${at} is a plain http:// URL and answered in clear text (${seen(e.plain)}): no client certificate is ever asked for${note}` });
        return makeResult(meta, { ...base, status: 'error', actual: e.plain?.outcome ?? '', reason: `${at} is a plain http:// URL and did not answer GET /version: ${seen(e.plain)}` });
      }
      const actual = tls.outcome;
      switch (tls.outcome) {
        case 'served':
          return makeResult(meta, { ...base, status: failingStatus(meta), actual, reason: `${at} answered a TLS client that presented no certificate: ${tls.detail}${note}` });
        case 'cert-required':
          return makeResult(meta, { ...base, status: 'pass', actual, reason: `${at} refused a TLS client that presented no certificate: ${tls.detail}${passNote}` });
        case 'tls-refused':
          // Not the alert a missing certificate gets (etcd is broken for every client, e.g. a key that no longer fits).
          return makeResult(meta, { ...base, status: 'error', actual, reason: `${at} ended the TLS handshake for another reason than a missing client certificate (${tls.detail}), so whether one is required cannot be told` });
        case 'no-answer':
          return makeResult(meta, { ...base, status: 'pass', actual, reason: `${at} completed the TLS handshake with a client that presented no certificate, then closed the connection without answering GET /version${passNote}` });
        case 'no-handshake':
        case 'not-tls':
          if (servedPlain(e)) return makeResult(meta, { ...base, status: failingStatus(meta), actual: 'plain text', reason: `${at} does not speak TLS (${tls.detail}) and answered in clear text (${seen(e.plain)})${note}` });
          return makeResult(meta, { ...base, status: 'error', actual, reason: `${at}: no TLS session could be opened (${tls.detail}), so whether a client certificate is required cannot be told` });
        default:
          return makeResult(meta, { ...base, status: 'error', actual, reason: `${at} could not be reached over TLS: ${tls.detail} (${HOST_NETWORK_HINT})` });
      }
    });
  });
}

export function etcdPlaintextLiveCheck(meta: CheckMeta): CustomCheck {
  const expected = 'plain-text requests are refused or not understood';
  const reads = 'The wire: for each client URL etcd advertises on this node (at most etcdProbe.maxUrls), a plain-text connection asks GET /version. One result per URL; skip with --no-probe.';
  return etcdCheck(meta, reads, expected, (_c, p) => {
    if (isResult(p)) return [p];
    return perEndpoint(meta, p, expected, (e) => {
      const base = { subject: subjectOf(e), expected, source: 'none' as const, actual: e.plain?.outcome ?? '' };
      const at = `${foundAs(p.c)} at ${target(e)} (advertised as ${e.url})`;
      const plain = e.plain;
      switch (plain?.outcome) {
        case 'served':
          return makeResult(meta, { ...base, status: failingStatus(meta), reason: `${at} answered GET /version in clear text: ${plain.detail}; anything that reaches this port can read and write the cluster's data unencrypted` });
        case 'tls-only':
        case 'no-answer':
        case 'not-http':
          return makeResult(meta, { ...base, status: 'pass', reason: `${at} did not answer a plain-text GET /version: ${plain.detail}` });
        default:
          return makeResult(meta, { ...base, status: 'error', reason: `${at} could not be reached: ${seen(plain)} (${HOST_NETWORK_HINT})` });
      }
    });
  });
}

// What the wire says about a problem a setting check judges: the agent's probes of the kubelet's
// ports and of etcd's client URLs (agent/facts/kubelet-probe.ts, etcd-probe.ts). The setting and
// the wire are two views of one problem (anonymous requests to the kubelet, its read-only port,
// etcd serving clients without a certificate or in clear text), so they are one result: the
// setting check's, on its subject, with what the probe saw added. An exposure the probe confirms
// fails the result and raises its severity (it is no longer a setting that might matter: anyone
// who reaches the port is served); a probe that saw nothing wrong, or could not tell, adds its
// words to the reason and leaves the verdict to the setting. A setting that could not be read
// is settled by a probe that saw the port refuse. Pure.
import { severityRank, type Result, type Severity } from '../../proto/domain.js';
import type { HostFacts } from '../facts/index.js';
import { etcdClientCertAuthLiveCheck, etcdPlaintextLiveCheck } from './etcd-live-checks.js';
import { anonymousApiCheck, readOnlyPortCheck } from './kubelet-exposure.js';
import type { CheckMeta, CustomCheck, WireEvidence } from './spec.js';

interface Evidence {
  /** The probe it needs (it runs only when a check in scope names it). */
  readonly probe: 'kubelet' | 'etcd';
  /** The severity of a result whose problem the wire confirms. */
  readonly severity: Severity;
  /** Judges what the probe saw, with the check's identity: one result per probed endpoint. */
  readonly judge: (meta: CheckMeta) => CustomCheck;
  /** What the probe adds, in words, for the check reference (agent/checks/describe.ts). */
  readonly reads: string;
}

export const WIRE_EVIDENCE: Readonly<Record<WireEvidence, Evidence>> = {
  'kubelet-anonymous-api': {
    probe: 'kubelet', severity: 'critical', judge: anonymousApiCheck,
    reads: "On the wire, an anonymous GET /pods on the kubelet's HTTPS port (kubeletProbe.host and kubeletProbe.apiPort): answered, the result fails as critical whatever the setting says.",
  },
  'kubelet-read-only-port': {
    probe: 'kubelet', severity: 'high', judge: readOnlyPortCheck,
    reads: "On the wire, a connection to the kubelet's read-only port (kubeletProbe.host and kubeletProbe.readOnlyPort): accepted, the result fails as high whatever the setting says.",
  },
  'etcd-client-cert-auth': {
    probe: 'etcd', severity: 'critical', judge: etcdClientCertAuthLiveCheck,
    reads: 'On the wire, a TLS connection without a client certificate to each client URL etcd advertises on this node (at most etcdProbe.maxUrls), asking GET /version: answered, the result fails as critical. No certificate, key or token found on the host is ever presented.',
  },
  'etcd-plaintext': {
    probe: 'etcd', severity: 'critical', judge: etcdPlaintextLiveCheck,
    reads: 'On the wire, a plain-text GET /version to each client URL etcd advertises on this node (at most etcdProbe.maxUrls): answered, the result fails as critical.',
  },
};

/** Which probes the checks need: the kubelet's, etcd's. */
export function probesFor(specs: readonly CheckMeta[]): { readonly kubelet: boolean; readonly etcd: boolean } {
  const probes = new Set(specs.flatMap((s) => (s.wire === undefined ? [] : [WIRE_EVIDENCE[s.wire].probe])));
  return { kubelet: probes.has('kubelet'), etcd: probes.has('etcd') };
}

const higher = (a: Severity, b: Severity): Severity => (severityRank(a) >= severityRank(b) ? a : b);

/** The setting check's result, with what the probe saw on the wire (see the top of the file). */
export function withWireEvidence(meta: CheckMeta, setting: Result, facts: HostFacts, now: Date): Result {
  if (meta.wire === undefined) return setting;
  const ev = WIRE_EVIDENCE[meta.wire];
  // The wire's judgement is automated whatever the setting check is: a confirmed exposure is `fail`.
  const wire = ev.judge({ ...meta, severity: ev.severity, scored: true }).evaluate(facts, now);
  const exposed = wire.filter((w) => w.status === 'fail');
  if (exposed.length > 0) {
    const how = setting.status === 'pass' ? `, although the setting says otherwise: ${setting.reason}` : `; ${setting.reason}`;
    return {
      ...setting, status: 'fail', severity: higher(setting.severity, ev.severity),
      reason: `${exposed.map((w) => w.reason).join('; ')}${how}`,
    };
  }
  const seen = wire.filter((w) => w.status === 'pass' || w.status === 'error');
  const notes = seen.map((w) => (w.status === 'pass' ? `on the wire: ${w.reason}` : `the wire could not confirm it: ${w.reason}`));
  if (setting.status === 'error' && seen.length > 0 && seen.every((w) => w.status === 'pass')) {
    return { ...setting, status: 'pass', reason: `${seen.map((w) => w.reason).join('; ')} (the setting itself could not be read: ${setting.reason})` };
  }
  return notes.length === 0 ? setting : { ...setting, reason: `${setting.reason}; ${notes.join('; ')}` };
}

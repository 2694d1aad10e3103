// What the kubelet really exposes, judged from what the agent's probe saw on the node
// (agent/facts/kubelet-probe.ts): the settings checks read configuration, these read the
// wire. An anonymous GET /pods must be refused (401: anonymous auth off; 403: anonymous
// requests reach authorization and are denied), and the read-only port must refuse
// connections. The probe's target is configured; a refused or silent API port on a node
// whose kubelet listens elsewhere is an error that says where the kubelet listens, and a
// refused read-only port counts only when the kubelet API answered on the same address
// (else the agent may be probing its own pod's loopback).
import type { Result } from '../../proto/domain.js';
import type { HostFacts, PortProbe } from '../facts/index.js';
import { resolveKubeletSetting } from '../facts/component-settings.js';
import { kubeletAbsent, makeResult } from './result.js';
import type { CheckMeta, CustomCheck, KubeletSetting } from './spec.js';

export const KUBELET_PORT: KubeletSetting = { flag: 'port', configPath: ['port'], type: 'int', flagDefault: '10250', configDefault: '10250' };
export const KUBELET_READ_ONLY_PORT: KubeletSetting = { flag: 'read-only-port', configPath: ['readOnlyPort'], type: 'int', flagDefault: '10255', configDefault: '0' };

const where = (p: PortProbe): string => `${p.host.includes(':') ? `[${p.host}]` : p.host}:${p.port}`;

/** ` (the kubelet's port is N, from X)` when the kubelet's settings say where it listens. */
function portHint(facts: HostFacts, setting: KubeletSetting, probed: number): string {
  if (facts.kubelet === null) return '';
  const r = resolveKubeletSetting(facts.kubelet, setting);
  if (!r.ok || r.setting.value === null) return '';
  const same = r.setting.value === String(probed);
  return same ? '' : `; the kubelet's ${setting.flag} is ${r.setting.value} (${r.setting.where}): point the agent's probe at it`;
}

function notProbed(meta: CheckMeta, subject: string, expected: string, facts: HostFacts): Result | null {
  const probe = facts.kubeletProbe;
  if (probe === undefined) return makeResult(meta, { subject, status: 'error', expected, reason: 'no kubelet probe facts were collected' });
  if (probe.api === null || probe.readOnly === null) return makeResult(meta, { subject, status: 'skip', expected, reason: probe.disabledReason });
  return null;
}

export function anonymousApiCheck(meta: CheckMeta): CustomCheck {
  const subject = 'kubelet/api';
  const expected = 'HTTP 401 or 403 to an anonymous GET /pods';
  return {
    ...meta,
    kind: 'custom',
    reads: "The kubelet's answer to an anonymous GET /pods on its HTTPS port (kubeletProbe.host and kubeletProbe.apiPort, 127.0.0.1:10250 by default). Skip with --no-probe.",
    evaluate(facts: HostFacts): readonly Result[] {
      const skipped = notProbed(meta, subject, expected, facts);
      if (skipped !== null) return [skipped];
      const p = facts.kubeletProbe?.api as PortProbe;
      const base = { subject, expected, source: 'none' as const };
      if (p.outcome === 'http') {
        const code = p.statusCode ?? 0;
        const actual = `HTTP ${code}`;
        if (code === 401) return [makeResult(meta, { ...base, status: 'pass', actual, reason: `https://${where(p)}/pods refused an anonymous request with 401: anonymous authentication is off` })];
        if (code === 403) {
          return [makeResult(meta, { ...base, status: 'pass', actual, reason: `https://${where(p)}/pods answered an anonymous request with 403: it was authenticated as anonymous but not authorized (CIS 4.2.1 still wants anonymous auth off)` })];
        }
        if (code >= 200 && code < 300) {
          return [makeResult(meta, { ...base, status: 'fail', actual, reason: `https://${where(p)}/pods answered an anonymous request with ${code}: anyone who can reach this port can list the node's pods, and likely exec into them` })];
        }
        return [makeResult(meta, { ...base, status: 'error', actual, reason: `https://${where(p)}/pods answered ${code}, which is not how a kubelet answers: is something else listening there?` })];
      }
      if (facts.kubelet === null && p.outcome === 'refused') return [kubeletAbsent(meta, subject, expected, facts.kubeletAbsence)];
      const hint = portHint(facts, KUBELET_PORT, p.port);
      return [makeResult(meta, { ...base, status: 'error', actual: p.outcome, reason: `no HTTPS answer from ${where(p)}: ${p.detail}${hint} (the agent needs the host network to reach the node's loopback)` })];
    },
  };
}

export function readOnlyPortCheck(meta: CheckMeta): CustomCheck {
  const subject = 'kubelet/read-only-port';
  const expected = 'connection refused';
  return {
    ...meta,
    kind: 'custom',
    reads: "Whether the kubelet's read-only port accepts a connection (kubeletProbe.host and kubeletProbe.readOnlyPort, 127.0.0.1:10255 by default). Skip with --no-probe.",
    evaluate(facts: HostFacts): readonly Result[] {
      const skipped = notProbed(meta, subject, expected, facts);
      if (skipped !== null) return [skipped];
      const p = facts.kubeletProbe?.readOnly as PortProbe;
      const base = { subject, expected, source: 'none' as const, actual: p.outcome };
      if (p.outcome === 'open' || p.outcome === 'http') {
        return [makeResult(meta, { ...base, status: 'fail', reason: `${where(p)} accepts connections: the kubelet's read-only port serves pod specs and metrics to anyone, without authentication` })];
      }
      if (p.outcome === 'refused') {
        if (facts.kubelet === null) return [kubeletAbsent(meta, subject, expected, facts.kubeletAbsence)];
        const configured = resolveKubeletSetting(facts.kubelet, KUBELET_READ_ONLY_PORT);
        const port = configured.ok ? configured.setting.value : null;
        if (port !== null && port !== '0' && port !== String(p.port)) {
          const why = configured.ok ? configured.setting.where : '';
          return [makeResult(meta, { ...base, status: 'error', reason: `${where(p)} refuses connections, but the kubelet's read-only port is ${port} (${why}), which was not probed: point the agent's probe at it` })];
        }
        // A refusal only proves something when the probe reaches the node: the kubelet API
        // answering on the same address shows it does (in a pod's own network namespace,
        // 127.0.0.1 refuses everything, which must not read as a pass).
        const api = facts.kubeletProbe?.api;
        if (api?.outcome !== 'http') {
          return [makeResult(meta, {
            ...base,
            status: 'error',
            reason: `${where(p)} refuses connections, but the kubelet API at ${api ? where(api) : 'its port'} did not answer either (${api?.detail ?? 'not probed'}), ` +
              "so this may not be the node's network: run the agent in the host network, or point kubeletProbe.host at the node's address",
          })];
        }
        return [makeResult(meta, { ...base, status: 'pass', reason: `${where(p)} refuses connections, and the kubelet answers at ${where(api)}` })];
      }
      return [makeResult(meta, { ...base, status: 'error', reason: `${where(p)} neither accepted nor refused a connection: ${p.detail}` })];
    },
  };
}

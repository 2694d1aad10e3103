// CIS 4.3.1: kube-proxy serves its metrics on loopback only. Where kube-proxy takes the
// address from: with --config, the config file alone (kube-proxy then ignores all but its
// logging flags): v1alpha2 `metricsBindAddresses` (CIDRs) or v1alpha1 `metricsBindAddress`
// (host:port); without --config, `--metrics-bind-addresses` or `--metrics-bind-address`.
// Unset everywhere: the default, 127.0.0.1:10249. An empty address or port 0 turns the
// metrics server off, which also passes.
import { isIP } from 'node:net';
import type { Result, Source } from '../../proto/domain.js';
import type { HostFacts, KubeProxyFacts } from '../facts/index.js';
import { lastFlag, truncatedArgvReason } from '../facts/cli-flags.js';
import { failingStatus, makeResult } from './result.js';
import type { CheckMeta, CustomCheck } from './spec.js';

export const KUBE_PROXY_METRICS_DEFAULT = '127.0.0.1:10249';

export interface MetricsBinding {
  readonly kind: 'address' | 'cidrs';
  readonly value: string;
  readonly source: Source;
  readonly sourceFile: string;
  readonly where: string;
}

const strings = (v: unknown): string[] | null => (Array.isArray(v) && v.every((e) => typeof e === 'string') ? (v as string[]) : null);

export function metricsBinding(kp: KubeProxyFacts): { ok: true; binding: MetricsBinding } | { ok: false; reason: string; sourceFile: string } {
  if (kp.argvTruncated) return { ok: false, reason: truncatedArgvReason('kube-proxy', kp.pid), sourceFile: '' };
  const configFlag = lastFlag(kp.flags, 'config');
  if (configFlag !== undefined && configFlag.value !== '') {
    const c = kp.config;
    if (c === null || c.error !== null || c.data === null) {
      return { ok: false, reason: `cannot read kube-proxy's --config ${c?.path ?? configFlag.value}: ${c?.error?.message ?? 'no data'}`, sourceFile: c?.path ?? '' };
    }
    const cidrs = c.data['metricsBindAddresses'];
    if (cidrs !== undefined && cidrs !== null) {
      const list = strings(cidrs);
      if (list === null) return { ok: false, reason: `metricsBindAddresses in ${c.path} is not a list of strings`, sourceFile: c.path };
      if (list.length > 0) return { ok: true, binding: { kind: 'cidrs', value: list.join(','), source: 'config', sourceFile: c.path, where: `metricsBindAddresses in ${c.path}` } };
    }
    const addr = c.data['metricsBindAddress'];
    if (addr !== undefined && addr !== null && typeof addr !== 'string') return { ok: false, reason: `metricsBindAddress in ${c.path} is not a string`, sourceFile: c.path };
    if (typeof addr === 'string' && addr !== '') return { ok: true, binding: { kind: 'address', value: addr, source: 'config', sourceFile: c.path, where: `metricsBindAddress in ${c.path}` } };
    return { ok: true, binding: { kind: 'address', value: KUBE_PROXY_METRICS_DEFAULT, source: 'default', sourceFile: c.path, where: `not set in ${c.path}; kube-proxy's default` } };
  }
  const cidrFlags = kp.flags.filter((f) => f.name === 'metrics-bind-addresses');
  const cidrs = cidrFlags.flatMap((f) => f.value.split(',')).map((e) => e.trim()).filter((e) => e !== '');
  if (cidrs.length > 0) return { ok: true, binding: { kind: 'cidrs', value: cidrs.join(','), source: 'flag', sourceFile: '', where: '--metrics-bind-addresses on its command line' } };
  const flag = lastFlag(kp.flags, 'metrics-bind-address');
  if (flag !== undefined) return { ok: true, binding: { kind: 'address', value: flag.value, source: 'flag', sourceFile: '', where: '--metrics-bind-address on its command line' } };
  return { ok: true, binding: { kind: 'address', value: KUBE_PROXY_METRICS_DEFAULT, source: 'default', sourceFile: '', where: "not set; kube-proxy's default" } };
}

const isLoopbackIp = (ip: string): boolean => (isIP(ip) === 4 ? ip.split('.')[0] === '127' : isIP(ip) === 6 && /^(0{0,4}:){2,7}0{0,3}1$|^::1$/i.test(ip));

/** host:port, [v6]:port, or a bare host (kube-proxy adds its default port). */
function splitHostPort(addr: string): { host: string; port: string } {
  const v6 = /^\[([^\]]+)\](?::([0-9]*))?$/.exec(addr);
  if (v6) return { host: v6[1] as string, port: v6[2] ?? '' };
  if (isIP(addr) === 6) return { host: addr, port: '' };
  const i = addr.lastIndexOf(':');
  return i < 0 ? { host: addr, port: '' } : { host: addr.slice(0, i), port: addr.slice(i + 1) };
}

/** Whether a binding exposes metrics beyond the node's loopback, with why. */
export function judgeBinding(b: MetricsBinding): { ok: boolean; why: string } {
  if (b.kind === 'address') {
    if (b.value === '') return { ok: true, why: 'the metrics server is turned off (empty address)' };
    const { host, port } = splitHostPort(b.value);
    if (port === '0') return { ok: true, why: 'the metrics server is turned off (port 0)' };
    if (host === 'localhost' || isLoopbackIp(host)) return { ok: true, why: `${host} is a loopback address` };
    const everywhere = host === '' || host === '0.0.0.0' || host === '::';
    return { ok: false, why: everywhere ? `${host || '(empty host)'} listens on every interface` : `${host} is not a loopback address` };
  }
  const bad: string[] = [];
  for (const cidr of b.value.split(',')) {
    const [ip = '', prefix = ''] = cidr.split('/');
    const bits = Number(prefix);
    const v = isIP(ip);
    const loop = v === 4 ? ip.split('.')[0] === '127' && bits >= 8 : v === 6 && isLoopbackIp(ip) && bits === 128;
    if (!loop) bad.push(cidr);
  }
  return bad.length === 0 ? { ok: true, why: 'every range is inside loopback' } : { ok: false, why: `not loopback: ${bad.join(',')}` };
}

const SUBJECT = 'kube-proxy/--metrics-bind-address';
const EXPECTED = 'a loopback address (127.0.0.1 or ::1)';

export function kubeProxyMetricsCheck(meta: CheckMeta): CustomCheck {
  return {
    ...meta,
    kind: 'custom',
    reads: "kube-proxy's metrics address: --metrics-bind-address, or metricsBindAddress in its --config file (read inside its pod's root); its default when neither sets it.",
    evaluate(facts: HostFacts): readonly Result[] {
      const kp = facts.kubeProxy;
      if (kp === undefined) return [makeResult(meta, { subject: SUBJECT, status: 'error', expected: EXPECTED, reason: 'no kube-proxy facts were collected' })];
      if (kp.status !== 'running') return [makeResult(meta, { subject: SUBJECT, status: kp.status === 'not-running' ? 'skip' : 'error', expected: EXPECTED, reason: kp.reason })];
      const r = metricsBinding(kp);
      if (!r.ok) return [makeResult(meta, { subject: SUBJECT, status: 'error', expected: EXPECTED, sourceFile: r.sourceFile, reason: r.reason })];
      const b = r.binding;
      const j = judgeBinding(b);
      return [makeResult(meta, {
        subject: SUBJECT,
        status: j.ok ? 'pass' : failingStatus(meta),
        actual: b.value,
        expected: EXPECTED,
        source: b.source,
        sourceFile: b.sourceFile,
        reason: `${b.value || '(empty)'} (${b.where}, kube-proxy pid ${kp.pid}): ${j.why}`,
      })];
    },
  };
}

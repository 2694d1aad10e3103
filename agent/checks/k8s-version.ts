// Is the kubelet's Kubernetes version still supported, and at its minor's latest patch?
// Pure: the version comes from the facts (read from the kubelet's binary), the release table
// is data (catalog/k8s-versions.ts), and `now` is passed in.
import type { Result } from '../../proto/domain.js';
import type { HostFacts } from '../facts/index.js';
import type { K8sMinorRelease } from './catalog/k8s-versions.js';
import { withOrigin } from './kubelet-origin.js';
import { kubeletAbsent, makeResult } from './result.js';
import type { CheckMeta, CustomCheck } from './spec.js';

export interface K8sVersion {
  readonly minor: number;
  readonly patch: number;
  /** `-alpha.1`, `-beta.0`, `-rc.2`: not a release. */
  readonly preRelease: string;
}

/** `v1.32.4`, `v1.31.2-eks-7f9249a`, `v1.32.3+k3s1`, `v1.33.0-rc.1`; null when not a v1.N.N version. */
export function parseK8sVersion(text: string): K8sVersion | null {
  const m = /^v?1\.([0-9]+)\.([0-9]+)(.*)$/.exec(text);
  if (m === null) return null;
  const pre = /^-((?:alpha|beta|rc)\.[0-9]+)/.exec(m[3] ?? '');
  return { minor: Number(m[1]), patch: Number(m[2]), preRelease: pre ? (pre[1] as string) : '' };
}

const SUBJECT = 'kubelet/version';

export function k8sVersionCheck(meta: CheckMeta, releases: readonly K8sMinorRelease[], asOf: string): CustomCheck {
  const newest = Math.max(...releases.map((r) => r.minor));
  const oldest = Math.min(...releases.map((r) => r.minor));
  return {
    ...meta,
    kind: 'custom',
    reads: `The version string inside the kubelet's binary (read, never run), compared with the table of supported releases in agent/checks/catalog/k8s-versions.ts (as of ${asOf}).`,
    evaluate(facts: HostFacts, now: Date): readonly Result[] {
      const expected = 'a supported minor release at its latest patch';
      if (facts.kubelet === null) return [kubeletAbsent(meta, SUBJECT, expected, facts.kubeletAbsence)];
      const bin = facts.kubeletBinary;
      if (bin === undefined) return [makeResult(meta, { subject: SUBJECT, status: 'error', expected, reason: 'no facts about the kubelet binary were collected' })];
      const file = { source: 'file' as const, sourceFile: bin.realPath ?? bin.path ?? '' };
      if (bin.version === null) {
        return [makeResult(meta, { subject: SUBJECT, status: 'error', expected, ...file, reason: withOrigin(facts.kubelet, bin.error?.message ?? 'the kubelet version could not be read') })];
      }
      const v = parseK8sVersion(bin.version);
      if (v === null) return [makeResult(meta, { subject: SUBJECT, status: 'error', expected, ...file, actual: bin.version, reason: `${bin.version} is not a Kubernetes 1.N.N version` })];
      const actual = bin.version;
      const today = now.toISOString().slice(0, 10);
      const judged = (status: Result['status'], reason: string, raise = false): Result => {
        const r = makeResult(meta, { subject: SUBJECT, status, expected, actual, ...file, reason: withOrigin(facts.kubelet, `${actual} (read from ${bin.path}): ${reason}`) });
        return raise ? { ...r, severity: 'high' } : r;
      };
      const release = releases.find((r) => r.minor === v.minor);
      if (release === undefined) {
        if (v.minor > newest) return [judged('pass', `1.${v.minor} is newer than every release in this agent's table (as of ${asOf}); taken as supported`)];
        return [judged('fail', `1.${v.minor} is older than 1.${oldest}, the oldest release this agent knows, and long out of support`, true)];
      }
      if (today > release.endOfLife) {
        return [judged('fail', `1.${v.minor} reached end of life on ${release.endOfLife} and gets no more security fixes: upgrade to a supported minor`, true)];
      }
      if (v.preRelease !== '') return [judged('warn', `a pre-release build (${v.preRelease}) of 1.${v.minor}; run a released patch`)];
      if (v.patch < release.latestPatch) {
        return [judged('warn', `1.${v.minor}.${release.latestPatch} is out (known since ${release.latestPatchSeen}); 1.${v.minor} is supported until ${release.endOfLife}`)];
      }
      return [judged('pass', `1.${v.minor} is supported until ${release.endOfLife} and 1.${v.minor}.${v.patch} is its latest known patch (as of ${asOf})`)];
    },
  };
}

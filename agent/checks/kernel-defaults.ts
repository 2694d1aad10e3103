// With --protect-kernel-defaults (protectKernelDefaults: true) the kubelet refuses to start
// unless these kernel settings already hold the values it needs; without it, the kubelet
// writes them itself when it starts. So the check applies only when protection is on: then
// a value that differs means the node drifted after the kubelet started (or the kubelet
// cannot start again). With protection off it skips, one result per setting, saying why:
// the kubelet owns the values, and protectKernelDefaults is not a CIS 1.12 control.
// One result per kernel setting, subject `sysctl/<name>`.
import type { Result } from '../../proto/domain.js';
import type { HostFacts } from '../facts/index.js';
import type { KernelDefaultsSysctl } from '../facts/node-facts.js';
import { withOrigin } from './kubelet-origin.js';
import { resolveKubeletSetting } from '../facts/component-settings.js';
import { failingStatus, kubeletAbsent, makeResult } from './result.js';
import type { CheckMeta, CustomCheck, KubeletSetting } from './spec.js';

export const PROTECT_KERNEL_DEFAULTS: KubeletSetting = {
  flag: 'protect-kernel-defaults',
  configPath: ['protectKernelDefaults'],
  type: 'bool',
  flagDefault: 'false',
  configDefault: 'false',
};

export function kernelDefaultsCheck(meta: CheckMeta, expectedValues: Readonly<Record<KernelDefaultsSysctl, string>>): CustomCheck {
  const names = Object.keys(expectedValues) as KernelDefaultsSysctl[];
  return {
    ...meta,
    kind: 'custom',
    reads: `The kubelet's --protect-kernel-defaults (config file protectKernelDefaults), and the kernel settings it requires from /proc/sys: ${names.join(', ')}. One result per setting; skip while protection is off.`,
    evaluate(facts: HostFacts): readonly Result[] {
      const k = facts.kubelet;
      if (k === null) return names.map((n) => kubeletAbsent(meta, `sysctl/${n}`, expectedValues[n], facts.kubeletAbsence));
      const p = resolveKubeletSetting(k, PROTECT_KERNEL_DEFAULTS);
      return names.map((name): Result => {
        const subject = `sysctl/${name}`;
        const expected = expectedValues[name];
        if (!p.ok) return makeResult(meta, { subject, status: 'error', expected, sourceFile: p.sourceFile, reason: withOrigin(k, p.reason) });
        if (p.setting.value !== 'true') {
          const reason = `protect-kernel-defaults is off (${p.setting.where}): the kubelet sets ${name} itself when it starts, so there is no operator value to verify`;
          return makeResult(meta, { subject, status: 'skip', expected, reason: withOrigin(k, reason) });
        }
        const s = facts.sysctls?.[name];
        if (s === undefined) return makeResult(meta, { subject, status: 'error', expected, reason: `${name} was not read` });
        if (s.value === null) return makeResult(meta, { subject, status: 'error', expected, reason: `cannot read ${name}: ${s.error?.message ?? 'unknown error'}` });
        const ok = /^-?[0-9]+$/.test(s.value) && BigInt(s.value) === BigInt(expected);
        const reason = `${name} is ${s.value}; with protect-kernel-defaults on (${p.setting.where}) the kubelet needs ${expected}` +
          (ok ? '' : ' and will refuse to start until it is');
        return makeResult(meta, { subject, status: ok ? 'pass' : failingStatus(meta), actual: s.value, expected, source: 'none', reason: withOrigin(k, reason) });
      });
    },
  };
}

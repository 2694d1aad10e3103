// Mode and ownership checks on host files named by the running kubelet. The file judged is
// the link target (stat follows links inside the host root); the subject stays the path as
// named, so a rotated link target keeps the same finding.
import type { Result } from '../../proto/domain.js';
import type { FileFacts, HostFacts } from '../facts/index.js';
import { describeTest, runTest } from './operators.js';
import { failingStatus, kubeletAbsent, makeResult } from './result.js';
import type { FileCheck, FileProperty } from './spec.js';
import { withOrigin } from './kubelet-origin.js';
import { truncatedArgvReason } from '../facts/cli-flags.js';

export const formatMode = (mode: number): string => mode.toString(8).padStart(4, '0');

/** The value a file check judges: the mode as four octal digits, or owner:group (names from the host, else ids). */
export function propertyValue(file: FileFacts, property: FileProperty): string {
  const st = file.stat;
  if (st === null) return '';
  if (property === 'mode') return formatMode(st.mode);
  return `${file.owner ?? st.uid}:${file.group ?? st.gid}`;
}

export function evaluateFileCheck(spec: FileCheck, facts: HostFacts): Result {
  const { flag, unsetReason } = spec.file;
  const flagSubject = `kubelet/--${flag}`;
  const expected = describeTest(spec.test);
  if (facts.kubelet === null) return kubeletAbsent(spec, flagSubject, expected, facts.kubeletAbsence);

  if (facts.kubelet.argvTruncated) {
    return makeResult(spec, { subject: flagSubject, status: 'error', expected, reason: truncatedArgvReason('the kubelet', facts.kubelet.pid) });
  }
  const named = facts.kubelet.paths.find((p) => p.flag === flag);
  if (named === undefined) return makeResult(spec, { subject: flagSubject, status: 'skip', expected, reason: unsetReason });
  if (named.path === null) {
    return makeResult(spec, { subject: flagSubject, status: 'error', expected, reason: named.error?.message ?? `--${flag} could not be resolved` });
  }

  const path = named.path;
  const file = Object.hasOwn(facts.files, path) ? facts.files[path] : undefined;
  if (file === undefined) return makeResult(spec, { subject: path, status: 'error', expected, reason: `no file facts were collected for ${path}` });
  if (file.error !== null || file.stat === null) {
    const why = file.error?.code === 'ENOENT' ? 'does not exist on the host' : `cannot be read: ${file.error?.message ?? 'no stat'}`;
    return makeResult(spec, { subject: path, status: 'error', expected, source: 'file', reason: `${path} (named by --${flag}) ${why}` });
  }

  const actual = propertyValue(file, spec.property);
  const t = runTest(spec.test, actual);
  const realPath = file.realPath ?? path;
  const judged = realPath === path ? path : `${realPath} (link target of ${path})`;
  return makeResult(spec, {
    subject: path,
    status: t.ok ? 'pass' : failingStatus(spec),
    actual,
    expected,
    source: 'file',
    sourceFile: realPath,
    reason: withOrigin(facts.kubelet, `${spec.property} ${actual} on ${judged}; expected ${expected}${t.note ? `: ${t.note}` : ''}`),
  });
}

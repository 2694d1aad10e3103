// Mode and owner checks on the control plane's files, one result per file. The file sets are
// located by the facts phase (from the components' own flags, else the distribution's
// layout); here each file is judged by the one engine (file-checks.ts). Owner names are the
// host's (its /etc/passwd, /etc/group).
import { posix } from 'node:path';
import type { Result } from '../../proto/domain.js';
import type { HostFacts } from '../facts/index.js';
import type { ControlPlaneFileCheck } from './spec.js';
import { controlPlaneOf } from './control-plane-results.js';
import { FILE_PHRASES, judgeFile } from './file-checks.js';
import { describeTest } from './operators.js';
import { makeResult } from './result.js';
import { kubeletClientCaPath } from './node-file-checks.js';

export const fileSetSubject = (spec: ControlPlaneFileCheck): string => `files/${spec.fileSet}${spec.nameSuffix ? `/*${spec.nameSuffix}` : ''}`;

export function evaluateControlPlaneFileCheck(spec: ControlPlaneFileCheck, facts: HostFacts): Result[] {
  const setSubject = fileSetSubject(spec);
  const expected = describeTest(spec.test);
  const cp = controlPlaneOf(spec, facts, setSubject, expected);
  if ('id' in cp) return [cp];
  const set = cp.fileSets[spec.fileSet];
  if (set.status === 'none') return [makeResult(spec, { subject: setSubject, status: 'skip', expected, reason: set.reason })];
  if (set.status === 'unknown') return [makeResult(spec, { subject: setSubject, status: 'error', expected, reason: set.reason })];

  const suffix = spec.nameSuffix;
  const files = suffix === undefined
    ? set.files
    : set.files.filter((f) => posix.basename(f.path).endsWith(suffix) && f.stat?.type !== 'dir');
  if (files.length === 0) {
    return [makeResult(spec, { subject: setSubject, status: 'skip', expected, reason: `no *${suffix ?? ''} files among the ${set.files.length} entries of ${set.locatedBy}` })];
  }

  // The kubelet's client CA, when a node file check asks the same of it (spec.sharedWith).
  const shared = spec.sharedWith === undefined ? null : kubeletClientCaPath(facts);
  return files.map((file) => {
    const also = shared !== null && file.path === shared && spec.sharedWith !== undefined ? spec.sharedWith : undefined;
    const raise = spec.raise !== undefined && posix.basename(file.path).endsWith(spec.raise.nameSuffix) ? spec.raise : undefined;
    return judgeFile(spec, {
      path: file.path,
      file,
      found: set.locatedBy,
      ...(also === undefined ? {} : {
        references: [...spec.references, ...also.references],
        notes: `; it is also the kubelet's client CA (${also.check}: one problem, one result)`,
      }),
      ...(raise === undefined ? {} : { raise: { severity: raise.severity, why: raise.why } }),
    }, FILE_PHRASES['control-plane']);
  });
}

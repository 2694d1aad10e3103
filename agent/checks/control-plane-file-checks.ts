// Mode and owner checks on the control plane's files, one result per file. The file sets are
// located by the facts phase (from the components' own flags, else the distribution's
// layout); here they are only judged. Owner names are the host's (its /etc/passwd, /etc/group).
import { posix } from 'node:path';
import type { Result } from '../../proto/domain.js';
import type { HostFacts } from '../facts/index.js';
import type { ControlPlaneFileCheck } from './spec.js';
import { controlPlaneOf } from './control-plane-results.js';
import { propertyValue } from './file-checks.js';
import { describeTest, runTest } from './operators.js';
import { failingStatus, makeResult } from './result.js';
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
    const path = file.path;
    const also = shared !== null && path === shared && spec.sharedWith !== undefined ? spec.sharedWith : undefined;
    const references = also === undefined ? {} : { references: [...spec.references, ...also.references] };
    const alsoNote = also === undefined ? '' : `; it is also the kubelet's client CA (${also.check}: one problem, one result)`;
    if (file.error !== null || file.stat === null) {
      const why = file.error?.code === 'ENOENT' ? 'does not exist on the host' : `cannot be read: ${file.error?.message ?? 'no stat'}`;
      return makeResult(spec, { subject: path, status: 'error', expected, source: 'file', ...references, reason: `${path} (${set.locatedBy}) ${why}${alsoNote}` });
    }
    const actual = propertyValue(file, spec.property);
    const t = runTest(spec.test, actual);
    const realPath = file.realPath ?? path;
    const judged = realPath === path ? path : `${realPath} (link target of ${path})`;
    const unnamed = spec.property === 'owner' && (file.owner === null || file.group === null)
      ? ' (an id without a name in the host\'s /etc/passwd or /etc/group is shown as a number)'
      : '';
    const raised = !t.ok && spec.raise !== undefined && posix.basename(path).endsWith(spec.raise.nameSuffix) ? spec.raise : undefined;
    const r = makeResult(spec, {
      subject: path,
      status: t.ok ? 'pass' : failingStatus(spec),
      actual,
      expected,
      source: 'file',
      sourceFile: realPath,
      ...references,
      reason: `${spec.property} ${actual} on ${judged}, found as ${set.locatedBy}; expected ${expected}${t.note ? `: ${t.note}` : ''}${unnamed}${raised ? `; ${raised.why}` : ''}${alsoNote}`,
    });
    return raised === undefined ? r : { ...r, severity: raised.severity };
  });
}

// The one file-check engine: the mode or owner of one host file, judged by a check's test. The
// facts phase has located and stat'ed the file; a check names which file (a kubelet flag, the
// kubelet's unit, kube-proxy's kubeconfig, the client CA, a control-plane file set) and says
// how it was found in words. The file judged is the link target (stat follows links inside the
// host root); the subject stays the path as named, so a rotated link target keeps the same
// finding. Each family of checks words its reasons as it always has: FILE_PHRASES is that
// wording, as data.
import type { Result, Severity } from '../../proto/domain.js';
import type { FileFacts } from '../facts/index.js';
import { describeTest, runTest } from './operators.js';
import { failingStatus, makeResult } from './result.js';
import type { CheckMeta, FileJudgement, FileProperty } from './spec.js';

export const formatMode = (mode: number): string => mode.toString(8).padStart(4, '0');

/** The value a file check judges: the mode as four octal digits, or owner:group (names from the host, else ids). */
export function propertyValue(file: FileFacts, property: FileProperty): string {
  const st = file.stat;
  if (st === null) return '';
  if (property === 'mode') return formatMode(st.mode);
  return `${file.owner ?? st.uid}:${file.group ?? st.gid}`;
}

/** How one family of file checks words its reasons. */
export interface FilePhrases {
  /** Said of a file that is not there. */
  readonly absent: string;
  /** Put before how the file was found in a verdict; null: the verdict does not say. */
  readonly foundAs: string | null;
  /** An owner shown as a number (an id without a name on the host) is explained. */
  readonly explainsIds: boolean;
}

export const FILE_PHRASES = {
  /** Files named by one kubelet flag (FileCheck). */
  'kubelet-flag': { absent: 'does not exist on the host', foundAs: null, explainsIds: false },
  /** The kubelet's unit, kube-proxy's kubeconfig, the kubelet's client CA (node-file-checks.ts). */
  node: { absent: 'does not exist', foundAs: ', ', explainsIds: false },
  /** The control plane's file sets (control-plane-file-checks.ts). */
  'control-plane': { absent: 'does not exist on the host', foundAs: ', found as ', explainsIds: true },
} as const satisfies { readonly [family: string]: FilePhrases };

/** One file to judge, as the check located it. */
export interface FileToJudge {
  /** The path as named: the result's subject. */
  readonly path: string;
  /** Its facts; undefined when the facts phase collected none for it. */
  readonly file: FileFacts | undefined;
  /** How it was found, in words (`named by --kubeconfig`, `the kubelet.service unit file`). */
  readonly found: string;
  /** Said right after how it was found (` (seen inside kube-proxy's root, pid 7)`). */
  readonly where?: string;
  /** Said at the very end of the reason, whatever the result. */
  readonly notes?: string;
  /** The references that apply to this file, when not the check's own. */
  readonly references?: readonly string[];
  /** A failure raised to `severity`, for `why`. */
  readonly raise?: { readonly severity: Severity; readonly why: string };
}

const IDS_NOTE = ' (an id without a name in the host\'s /etc/passwd or /etc/group is shown as a number)';

export function judgeFile(spec: CheckMeta & FileJudgement, target: FileToJudge, phrases: FilePhrases): Result {
  const { path, file, found, where = '', notes = '' } = target;
  const expected = describeTest(spec.test);
  const references = target.references === undefined ? {} : { references: target.references };
  if (file === undefined) return makeResult(spec, { subject: path, status: 'error', expected, ...references, reason: `no file facts were collected for ${path}` });
  if (file.error !== null || file.stat === null) {
    const why = file.error?.code === 'ENOENT' ? phrases.absent : `cannot be read: ${file.error?.message ?? 'no stat'}`;
    return makeResult(spec, { subject: path, status: 'error', expected, source: 'file', ...references, reason: `${path} (${found}) ${why}${where}${notes}` });
  }
  const actual = propertyValue(file, spec.property);
  const t = runTest(spec.test, actual);
  const realPath = file.realPath ?? path;
  const judged = realPath === path ? path : `${realPath} (link target of ${path})`;
  const how = phrases.foundAs === null ? '' : `${phrases.foundAs}${found}`;
  const ids = phrases.explainsIds && spec.property === 'owner' && (file.owner === null || file.group === null) ? IDS_NOTE : '';
  const raised = t.ok ? undefined : target.raise;
  const r = makeResult(spec, {
    subject: path,
    status: t.ok ? 'pass' : failingStatus(spec),
    actual,
    expected,
    source: 'file',
    sourceFile: realPath,
    ...references,
    reason: `${spec.property} ${actual} on ${judged}${how}${where}; expected ${expected}${t.note ? `: ${t.note}` : ''}${ids}${raised ? `; ${raised.why}` : ''}${notes}`,
  });
  return raised === undefined ? r : { ...r, severity: raised.severity };
}

// Where the worker's file checks (FileCheck, data) find their files; the one engine
// (file-checks.ts) judges them. Each locator (spec.ts FileLocator): a file named by one kubelet
// flag, with the --config-dir drop-ins for the config file's checks; the kubelet's systemd unit
// and drop-ins (one result per file); kube-proxy's kubeconfig (inside kube-proxy's own root);
// the client CA the kubelet uses (from --client-ca-file or the config file's
// authentication.x509.clientCAFile, whichever is in effect). The host paths each locator can
// reach are agent/checks/dependencies.ts's business, read from the same facts.
import type { Result } from '../../proto/domain.js';
import type { FileFacts, HostFacts, KubeletFacts, KubeProxyFacts } from '../facts/index.js';
import { posix } from 'node:path';
import { kubeletSettingPath } from '../facts/kubelet-paths.js';
import { lastFlag, truncatedArgvReason } from '../facts/cli-flags.js';
import { kubeProxyPath } from '../facts/component-paths.js';
import { CLIENT_CA_FILE } from './catalog/kubelet.js';
import { FILE_PHRASES, judgeFile, type FileToJudge } from './file-checks.js';
import { withOrigin } from './kubelet-origin.js';
import { resolveKubeletSetting } from '../facts/component-settings.js';
import { describeTest, type Test } from './operators.js';
import { kubeletAbsent, makeResult } from './result.js';
import type { FileCheck, KubeletFlagFile, NodeFileLocator } from './spec.js';

/** Where each locator finds its files, in words (the check reference). */
export const FILE_LOCATIONS: { readonly [L in NodeFileLocator['from']]: string } = {
  'kubelet-unit': "the kubelet's systemd unit file and every drop-in systemd applies to it",
  'kube-proxy-kubeconfig': "kube-proxy's kubeconfig, from clientConnection.kubeconfig in its --config file, else its --kubeconfig (read inside its pod's root)",
  'kubelet-client-ca': "the client CA file the kubelet uses: --client-ca-file, or authentication.x509.clientCAFile in its config file",
};

/** The subject of a file check's result when it has no file to name. */
export function fileCheckSubject(spec: FileCheck): string {
  switch (spec.file.from) {
    case 'kubelet-flag':
      return `kubelet/--${spec.file.flag}`;
    case 'kubelet-unit':
      return 'systemd/kubelet.service';
    case 'kube-proxy-kubeconfig':
      return 'kube-proxy/kubeconfig';
    case 'kubelet-client-ca':
      return 'kubelet/--client-ca-file';
  }
}

/** A file check whose locator is `L`. */
type Located<L extends FileCheck['file']> = FileCheck & { readonly file: L };
type SharedWith = NonNullable<Extract<NodeFileLocator, { from: 'kubelet-client-ca' }>['sharedWith']>;

/** Evaluate a file check: locate its files as its locator says, judge each with the engine. */
export function evaluateFileCheck(spec: FileCheck, facts: HostFacts): Result[] {
  const file = spec.file;
  switch (file.from) {
    case 'kubelet-flag':
      return kubeletFlagFiles({ ...spec, file }, facts);
    case 'kubelet-unit':
      return unitFiles(spec, facts);
    case 'kube-proxy-kubeconfig':
      return kubeProxyFile(spec, facts);
    case 'kubelet-client-ca':
      return clientCaFile(spec, file.sharedWith, facts);
  }
}

/** One node file judged by the engine: `what` names it ("the kubelet unit", "kube-proxy's kubeconfig"). */
const nodeFile = (spec: FileCheck, file: FileFacts | undefined, path: string, what: string, where = ''): Result =>
  judgeFile(spec, { path, file, found: what, where }, FILE_PHRASES.node);

const fileAt = (files: { readonly [p: string]: FileFacts }, p: string): FileFacts | undefined => (Object.hasOwn(files, p) ? files[p] : undefined);

/**
 * A file named by one path-valued kubelet flag, located by the facts phase (kubelet.paths);
 * with `withDropins`, also every drop-in of --config-dir, which the kubelet reads over it.
 */
function kubeletFlagFiles(spec: Located<KubeletFlagFile>, facts: HostFacts): Result[] {
  const { flag, unsetReason } = spec.file;
  const flagSubject = `kubelet/--${flag}`;
  const expected = describeTest(spec.test);
  const k = facts.kubelet;
  if (k === null) return [kubeletAbsent(spec, flagSubject, expected, facts.kubeletAbsence)];
  if (k.argvTruncated) return [makeResult(spec, { subject: flagSubject, status: 'error', expected, reason: truncatedArgvReason('the kubelet', k.pid) })];
  const dropins = spec.file.withDropins === true ? dropinFiles(spec, facts, k) : [];
  const named = k.paths.find((p) => p.flag === flag);
  if (named === undefined) return dropins.length > 0 ? dropins : [makeResult(spec, { subject: flagSubject, status: 'skip', expected, reason: unsetReason })];
  if (named.path === null) {
    return [makeResult(spec, { subject: flagSubject, status: 'error', expected, reason: named.error?.message ?? `--${flag} could not be resolved` }), ...dropins];
  }
  return [flagFile(spec, facts, k, { path: named.path, file: fileAt(facts.files, named.path), found: `named by --${flag}` }), ...dropins];
}

/** One file of a kubelet flag check, judged by the engine. */
function flagFile(spec: FileCheck, facts: HostFacts, k: KubeletFacts, target: FileToJudge): Result {
  const r = judgeFile(spec, target, FILE_PHRASES['kubelet-flag']);
  // A verdict on a kubelet found from its unit says so; a file that cannot be read does not.
  return r.status === 'error' ? r : { ...r, reason: withOrigin(k, r.reason) };
}

/**
 * The drop-ins of --config-dir, each judged like the --config file: a drop-in looser than that
 * file sets the same settings. A directory that cannot be read, or holds more drop-ins than the
 * agent reads, is one error result: none of its files is judged.
 */
function dropinFiles(spec: Located<KubeletFlagFile>, facts: HostFacts, k: KubeletFacts): Result[] {
  const dirFlag = k.paths.find((p) => p.flag === 'config-dir');
  const d = k.dropins;
  if (dirFlag === undefined || d === null) return [];
  const expected = describeTest(spec.test);
  if (dirFlag.path === null) {
    return [makeResult(spec, { subject: 'kubelet/--config-dir', status: 'error', expected, reason: dirFlag.error?.message ?? '--config-dir could not be resolved' })];
  }
  if (d.error !== null) {
    return [makeResult(spec, { subject: d.dir, status: 'error', expected, reason: `cannot judge the drop-ins of --config-dir ${d.dir}: ${d.error.message}` })];
  }
  const notes = `; a drop-in the kubelet reads from --config-dir ${d.dir}`;
  return d.files.map((doc) => flagFile(spec, facts, k, { path: doc.path, file: fileAt(facts.files, doc.path), found: `a drop-in of --config-dir ${d.dir}`, notes }));
}

function unitFiles(spec: FileCheck, facts: HostFacts): Result[] {
  const expected = describeTest(spec.test);
  const unit = facts.kubeletUnit;
  if (unit === undefined) return [makeResult(spec, { subject: 'systemd/kubelet.service', status: 'error', expected, reason: 'no facts about the kubelet systemd unit were collected' })];
  const paths = [...(unit.unitFile === null ? [] : [unit.unitFile]), ...unit.dropins];
  const subject = `systemd/${unit.name}`;
  if (paths.length === 0 || unit.unitFile === null) {
    if (facts.kubelet === null) return [kubeletAbsent(spec, subject, expected, facts.kubeletAbsence)];
    const why = unit.masked ? `${unit.name} is masked` : `no ${unit.name} unit file in ${unit.searched.join(', ')}`;
    return [makeResult(spec, { subject, status: 'skip', expected, reason: `the kubelet (pid ${facts.kubelet.pid}) is not started by a systemd unit this agent can see: ${why}` })];
  }
  return paths.map((p) => nodeFile(spec, fileAt(facts.files, p), p, p === unit.unitFile ? `the ${unit.name} unit file` : `a drop-in of ${unit.name}`));
}

/**
 * kube-proxy's kubeconfig as kube-proxy uses it: with --config, only the config file's
 * clientConnection.kubeconfig counts (kube-proxy then ignores its other flags); without it,
 * --kubeconfig. Neither: kube-proxy uses its pod's service account, and there is no file.
 */
export function kubeProxyKubeconfig(kp: KubeProxyFacts): { path: string; from: string } | { none: string } | { error: string } {
  if (kp.argvTruncated) return { error: truncatedArgvReason('kube-proxy', kp.pid) };
  const configFlag = lastFlag(kp.flags, 'config');
  if (configFlag !== undefined && configFlag.value !== '') {
    const c = kp.config;
    if (c === null || c.error !== null || c.data === null) return { error: `cannot read kube-proxy's --config ${c?.path ?? configFlag.value}: ${c?.error?.message ?? 'no data'}` };
    const conn = c.data['clientConnection'];
    const k = typeof conn === 'object' && conn !== null && !Array.isArray(conn) ? (conn as { readonly [k: string]: unknown })['kubeconfig'] : undefined;
    if (typeof k !== 'string' || k === '') return { none: `kube-proxy's config ${c.path} names no clientConnection.kubeconfig: it uses its in-cluster service account` };
    return { path: k, from: `clientConnection.kubeconfig in ${c.path}` };
  }
  const flag = lastFlag(kp.flags, 'kubeconfig');
  if (flag === undefined || flag.value === '') return { none: 'kube-proxy runs without --kubeconfig or --config: it uses its in-cluster service account' };
  return { path: flag.value, from: '--kubeconfig on its command line' };
}

function kubeProxyFile(spec: FileCheck, facts: HostFacts): Result[] {
  const expected = describeTest(spec.test);
  const subject = 'kube-proxy/kubeconfig';
  const kp = facts.kubeProxy;
  if (kp === undefined) return [makeResult(spec, { subject, status: 'error', expected, reason: 'no kube-proxy facts were collected' })];
  if (kp.status !== 'running') return [makeResult(spec, { subject, status: kp.status === 'not-running' ? 'skip' : 'error', expected, reason: kp.reason })];
  const k = kubeProxyKubeconfig(kp);
  if ('error' in k) return [makeResult(spec, { subject, status: 'error', expected, reason: k.error })];
  if ('none' in k) return [makeResult(spec, { subject, status: 'skip', expected, reason: k.none })];
  const p = kubeProxyPath(k.path, kp.cwd);
  if (p === null) return [makeResult(spec, { subject, status: 'error', expected, reason: `${k.path} (${k.from}) is relative and kube-proxy's working directory is unknown` })];
  return [nodeFile(spec, fileAt(kp.files, p), p, `kube-proxy's kubeconfig from ${k.from}`, ` (seen inside kube-proxy's root, pid ${kp.pid})`)];
}

/** The client CA file the kubelet uses, as a host path, or why there is none (or it cannot be told). */
type ClientCa = { readonly path: string; readonly where: string } | { readonly status: 'skip' | 'error'; readonly reason: string; readonly sourceFile?: string };

function kubeletClientCa(facts: HostFacts): ClientCa | null {
  const k = facts.kubelet;
  if (k === null) return null;
  const r = resolveKubeletSetting(k, CLIENT_CA_FILE);
  if (!r.ok) return { status: 'error', sourceFile: r.sourceFile, reason: withOrigin(k, r.reason) };
  const { value, source, sourceFile, where } = r.setting;
  if (value === null) return { status: 'skip', reason: withOrigin(k, `the kubelet has no client CA file (${where}); CIS 4.2.3 reports that`) };
  const p = kubeletSettingPath(value, source, sourceFile, k.cwd);
  if (!p.ok) return { status: 'error', reason: withOrigin(k, `${where}: ${p.reason}`) };
  return { path: p.path, where };
}

/** The kubelet's client CA file as a host path, when it has one the agent can place. */
export function kubeletClientCaPath(facts: HostFacts): string | null {
  const ca = kubeletClientCa(facts);
  return ca !== null && 'path' in ca ? ca.path : null;
}

/** Whether `path` is in the control-plane file set `shared` names (and so judged by its check). */
function inSharedSet(shared: SharedWith, facts: HostFacts, path: string): boolean {
  const set = facts.controlPlane?.fileSets[shared.fileSet];
  if (set?.status !== 'found') return false;
  const suffix = shared.nameSuffix;
  return set.files.some((f) => f.path === path && (suffix === undefined || (posix.basename(f.path).endsWith(suffix) && f.stat?.type !== 'dir')));
}

function clientCaFile(spec: FileCheck, sharedWith: SharedWith | undefined, facts: HostFacts): Result[] {
  const expected = describeTest(spec.test);
  const subject = 'kubelet/--client-ca-file';
  const ca = kubeletClientCa(facts);
  if (ca === null) return [kubeletAbsent(spec, subject, expected, facts.kubeletAbsence)];
  if (!('path' in ca)) return [makeResult(spec, { subject, status: ca.status, expected, ...(ca.sourceFile ? { sourceFile: ca.sourceFile } : {}), reason: ca.reason })];
  const k = facts.kubelet!;
  if (sharedWith !== undefined && inSharedSet(sharedWith, facts, ca.path)) {
    return [makeResult(spec, {
      subject: ca.path, status: 'skip', expected, source: 'file',
      reason: withOrigin(k, `${ca.path}, the kubelet's client CA (${ca.where}), is judged by ${sharedWith.check}, as a file of the control plane's ${sharedWith.fileSet} set: its result there carries ${spec.references.join(', ')}`),
    })];
  }
  const result = nodeFile(spec, fileAt(facts.files, ca.path), ca.path, `the kubelet's client CA (${ca.where})`);
  return [{ ...result, reason: withOrigin(k, result.reason) }];
}

// The certificates and keys the node's components use, as facts. Every file a component names
// (etcd's --cert-file/--key-file/--trusted-ca-file and their --peer-* twins, from flags,
// ETCD_* variables or its --config-file; the API server's etcd client, serving, kubelet client
// and front-proxy pairs and its CA files; the controller manager's signing CA; the kubelet's
// serving pair, client CA and the client certificate its kubeconfig names) plus every
// certificate and key under the PKI directories, bounded.
//
// What is read, and what is not:
// - certificate files are read (public material) and reduced to CertificateInfo;
// - a LEAF key (the key half of a pair whose certificate is not a CA) is read only to learn
//   whether it matches its certificate: the facts keep that boolean, never the key, and the
//   buffer is zeroed once the answer is known;
// - CA keys, service-account keys and keys nothing pairs with are stat'ed and never opened.
import { X509Certificate, createPrivateKey } from 'node:crypto';
import { posix } from 'node:path';
import { lastFlag } from './cli-flags.js';
import { componentHostPath } from './component-paths.js';
import { etcdSpec, resolveComponentValue, type ValueSpec } from './component-settings.js';

export { etcdSpec };
import type { ComponentFacts, ControlPlaneComponent, ControlPlaneFacts } from './control-plane-types.js';
import { collectFileFacts } from './file-facts.js';
import { walkHostDir } from './file-walk.js';
import type { HostFs } from './host-fs.js';
import type { FactError, FileFacts, JsonValue, KubeletFacts } from './host-facts.js';
import { kubeletSettingPath, type PathOrigin } from './kubelet-paths.js';
import { valueAt } from './worker-facts.js';
import { KUBEADM_LAYOUT, layoutByName } from './layouts.js';
import type { UserDb } from './users.js';
import { describeCertificate, type CertificateInfo } from './x509-info.js';

export type * from './certificate-types.js';
import type { CertComponent, CertificateFacts, CertificateFileFact, CertificateRole, CertificateUse, ChainFact, KeyFileFact, KeyKind, KeyMatchFact } from './certificate-types.js';

/** Certificate and key files taken from the PKI directories (files components name always count). */
export const MAX_PKI_FILES = 256;
export const MAX_CERT_FILE_BYTES = 256 * 1024;
export const MAX_KEY_FILE_BYTES = 64 * 1024;
/** Certificates described per file (a CA bundle may hold many). */
export const MAX_CERTS_PER_FILE = 32;

const CERT_FILE = /\.(crt|pem|cer)$/;
const KEY_FILE = /\.key$/;


// ---------------------------------------------------------------------------------------
// Who names what

interface Located {
  readonly path: string;
  readonly error: FactError | null;
  readonly setting: string;
  readonly where: string;
}

interface CertNaming {
  readonly at: Located;
  readonly role: CertificateRole;
  readonly component: CertComponent;
  readonly key: Located | null;
  /** The role of the CA file that verifies it. */
  readonly caRole: CertificateRole | null;
  /** Kind of the paired key: a signing CA's key is never read. */
  readonly keyKind: 'leaf' | 'ca';
}

interface KeyNaming {
  readonly at: Located;
  readonly component: CertComponent;
  readonly kind: KeyKind;
  readonly kindReason: string;
  readonly certificate: string | null;
}

const etcd = (flag: string, section: 'client-transport-security' | 'peer-transport-security', key: string): ValueSpec =>
  etcdSpec(flag, 'string', null, [section, key]);
const flag = (name: string): ValueSpec => ({ flag: name, type: 'string', default: null });

interface PairSpec {
  readonly role: CertificateRole;
  readonly component: ControlPlaneComponent;
  readonly cert: ValueSpec;
  readonly key?: ValueSpec;
  readonly caRole?: CertificateRole;
  readonly keyKind?: 'leaf' | 'ca';
}

/** The control plane's certificate settings; a CA reference is the role of the file that verifies the certificate. */
const CONTROL_PLANE_CERTS: readonly PairSpec[] = [
  { role: 'etcd-server', component: 'etcd', cert: etcd('cert-file', 'client-transport-security', 'cert-file'), key: etcd('key-file', 'client-transport-security', 'key-file'), caRole: 'etcd-client-ca' },
  { role: 'etcd-peer', component: 'etcd', cert: etcd('peer-cert-file', 'peer-transport-security', 'cert-file'), key: etcd('peer-key-file', 'peer-transport-security', 'key-file'), caRole: 'etcd-peer-ca' },
  { role: 'etcd-client-ca', component: 'etcd', cert: etcd('trusted-ca-file', 'client-transport-security', 'trusted-ca-file') },
  { role: 'etcd-peer-ca', component: 'etcd', cert: etcd('peer-trusted-ca-file', 'peer-transport-security', 'trusted-ca-file') },
  { role: 'apiserver-etcd-client', component: 'kube-apiserver', cert: flag('etcd-certfile'), key: flag('etcd-keyfile'), caRole: 'apiserver-etcd-ca' },
  { role: 'apiserver-etcd-ca', component: 'kube-apiserver', cert: flag('etcd-cafile') },
  { role: 'apiserver-serving', component: 'kube-apiserver', cert: flag('tls-cert-file'), key: flag('tls-private-key-file') },
  // The kubelets verify it with their client CA; this node's kubelet names one.
  { role: 'apiserver-kubelet-client', component: 'kube-apiserver', cert: flag('kubelet-client-certificate'), key: flag('kubelet-client-key'), caRole: 'kubelet-client-ca' },
  { role: 'apiserver-proxy-client', component: 'kube-apiserver', cert: flag('proxy-client-cert-file'), key: flag('proxy-client-key-file'), caRole: 'apiserver-requestheader-ca' },
  { role: 'apiserver-client-ca', component: 'kube-apiserver', cert: flag('client-ca-file') },
  { role: 'apiserver-requestheader-ca', component: 'kube-apiserver', cert: flag('requestheader-client-ca-file') },
  { role: 'apiserver-kubelet-ca', component: 'kube-apiserver', cert: flag('kubelet-certificate-authority') },
  { role: 'cluster-signing-ca', component: 'kube-controller-manager', cert: flag('cluster-signing-cert-file'), key: flag('cluster-signing-key-file'), keyKind: 'ca' },
  { role: 'root-ca', component: 'kube-controller-manager', cert: flag('root-ca-file') },
];

const SERVICE_ACCOUNT_KEYS: readonly { component: ControlPlaneComponent; spec: ValueSpec }[] = [
  { component: 'kube-apiserver', spec: flag('service-account-signing-key-file') },
  { component: 'kube-controller-manager', spec: flag('service-account-private-key-file') },
];

function locateSetting(c: ComponentFacts, spec: ValueSpec, errors: FactError[]): Located | null {
  const r = resolveComponentValue(c, spec);
  if (r.kind === 'hidden') return null;
  if (r.kind === 'error') {
    errors.push({ code: 'EINVAL', path: r.sourceFile, message: `${c.component} --${spec.flag}: ${r.reason}` });
    return null;
  }
  if (r.value === null || r.value === '') return null;
  const p = componentHostPath(c, `--${spec.flag}`, r.value);
  return { path: p.hostPath ?? r.value, error: p.error, setting: `--${spec.flag}`, where: p.hostPath === r.value ? r.where : `${r.where}, ${p.how}` };
}

function controlPlaneNamings(cp: ControlPlaneFacts | undefined, errors: FactError[]): { certs: CertNaming[]; keys: KeyNaming[] } {
  const certs: CertNaming[] = [];
  const keys: KeyNaming[] = [];
  if (cp === undefined) return { certs, keys };
  for (const pair of CONTROL_PLANE_CERTS) {
    const c = cp.components[pair.component];
    if (c === null) continue;
    const at = locateSetting(c, pair.cert, errors);
    const key = pair.key === undefined ? null : locateSetting(c, pair.key, errors);
    if (at !== null) certs.push({ at, role: pair.role, component: pair.component, key, caRole: pair.caRole ?? null, keyKind: pair.keyKind ?? 'leaf' });
    if (key !== null && at === null) {
      // A key without its certificate: nothing to match it with, but its file is still judged.
      keys.push({ at: key, component: pair.component, kind: pair.keyKind ?? 'unpaired', kindReason: `named by ${key.setting} while --${pair.cert.flag} is not set`, certificate: null });
    }
  }
  for (const sa of SERVICE_ACCOUNT_KEYS) {
    const c = cp.components[sa.component];
    const at = c === null ? null : locateSetting(c, sa.spec, errors);
    if (at !== null) keys.push({ at, component: sa.component, kind: 'service-account', kindReason: `the service-account signing key (${at.setting} of ${sa.component})`, certificate: null });
  }
  return { certs, keys };
}

// ---- kubelet

/** A path-valued kubelet setting as the kubelet applies it: flag, else the last drop-in, else the config file. */
function kubeletPath(k: KubeletFacts, flagName: string, configKey: readonly string[]): Located | null {
  const located = (value: string, origin: PathOrigin, sourceFile: string, setting: string, where: string): Located => {
    const p = kubeletSettingPath(value, origin, sourceFile, k.cwd);
    return p.ok
      ? { path: p.path, error: null, setting, where }
      : { path: value, error: { code: 'ENOCWD', path: '', message: p.reason }, setting, where };
  };
  const f = lastFlag(k.flags, flagName);
  if (f !== undefined && f.value !== '') return located(f.value, 'flag', '', `--${flagName}`, `--${flagName} on the kubelet command line`);
  const docs: Array<{ d: { path: string; data: JsonValue | null }; origin: PathOrigin }> = [...(k.dropins?.files ?? [])].reverse().map((d) => ({ d, origin: 'dropin' }));
  if (k.config !== null) docs.push({ d: k.config, origin: 'config' });
  const name = configKey.join('.');
  for (const { d, origin } of docs) {
    const v = valueAt(d.data, configKey);
    if (typeof v === 'string' && v !== '') return located(v, origin, d.path, configKey.at(-1) ?? name, `${name} in ${d.path}`);
  }
  return null;
}

/** Where the kubelet keeps the certificates it rotates when --cert-dir does not say (its built-in default). */
export const KUBELET_CERT_DIR = '/var/lib/kubelet/pki';

/**
 * The kubelet's own certificates: its serving pair and client CA from flags or config, and
 * the certificates it rotates into its --cert-dir (kubelet-client-current.pem, which its
 * kubeconfig points at, and kubelet-server-current.pem with serverTLSBootstrap). The
 * kubeconfig itself holds credentials and is not read here (kubeconfig-auth.ts keeps only the
 * kinds of credential it holds): the rotated files are found where the kubelet writes them.
 */
async function kubeletNamings(hostFs: HostFs, k: KubeletFacts | null): Promise<{ certs: CertNaming[]; read: string[] }> {
  if (k === null) return { certs: [], read: [] };
  const certs: CertNaming[] = [];
  const serving = kubeletPath(k, 'tls-cert-file', ['tlsCertFile']);
  const servingKey = kubeletPath(k, 'tls-private-key-file', ['tlsPrivateKeyFile']);
  if (serving !== null) certs.push({ at: serving, role: 'kubelet-serving', component: 'kubelet', key: servingKey, caRole: 'apiserver-kubelet-ca', keyKind: 'leaf' });
  const clientCa = kubeletPath(k, 'client-ca-file', ['authentication', 'x509', 'clientCAFile']);
  if (clientCa !== null) certs.push({ at: clientCa, role: 'kubelet-client-ca', component: 'kubelet', key: null, caRole: null, keyKind: 'leaf' });

  const dirFlag = kubeletPath(k, 'cert-dir', []);
  const dir = dirFlag?.error === null ? dirFlag.path : KUBELET_CERT_DIR;
  const whereDir = dirFlag?.error === null ? `${dirFlag.where}` : `the kubelet's default --cert-dir ${KUBELET_CERT_DIR}`;
  const rotated = async (file: string, role: CertificateRole, caRole: CertificateRole): Promise<void> => {
    const path = posix.join(dir, file);
    // Only when present: a kubelet that does not rotate has none, which is no fault.
    if (!(await hostFs.stat(path)).ok) return;
    const at: Located = { path, error: null, setting: '--cert-dir', where: `the kubelet's rotated ${file} in ${whereDir}` };
    certs.push({ at, role, component: 'kubelet', key: at, caRole, keyKind: 'leaf' });
  };
  await rotated('kubelet-client-current.pem', 'kubelet-client', 'apiserver-client-ca');
  if (serving === null) await rotated('kubelet-server-current.pem', 'kubelet-serving', 'apiserver-kubelet-ca');
  return { certs, read: [dir] };
}

// ---- PKI directories

const CA_KEY_NAME = /(^|[-_.])ca\.key$/;

async function pkiNamings(
  hostFs: HostFs, users: UserDb, dirs: readonly string[], named: ReadonlySet<string>, errors: FactError[],
): Promise<{ certs: CertNaming[]; keys: KeyNaming[]; walked: string[]; dropped: number; stats: Map<string, FileFacts> }> {
  const certs: CertNaming[] = [];
  const keys: KeyNaming[] = [];
  const walked: string[] = [];
  const stats = new Map<string, FileFacts>();
  let taken = 0;
  let dropped = 0;
  for (const dir of dirs) {
    const w = await walkHostDir(hostFs, users, dir, { includeDirs: true });
    if (w.error?.code === 'ENOENT' && w.files.length === 0) continue;
    if (w.error !== null) errors.push(w.error);
    for (const f of w.files) {
      if (f.stat?.type === 'dir') {
        walked.push(f.path);
        continue;
      }
      const isCert = CERT_FILE.test(f.path);
      const isKey = KEY_FILE.test(f.path);
      if ((!isCert && !isKey) || named.has(f.path) || (f.realPath !== null && named.has(f.realPath))) continue;
      if (++taken > MAX_PKI_FILES) {
        dropped++;
        continue;
      }
      stats.set(f.path, f);
      const at: Located = { path: f.path, error: null, setting: dir, where: `found under ${dir}` };
      if (isCert) certs.push({ at, role: 'pki', component: 'pki-dir', key: null, caRole: null, keyKind: 'leaf' });
      else keys.push({ at, component: 'pki-dir', kind: 'unpaired', kindReason: '', certificate: null });
    }
  }
  return { certs, keys, walked, dropped, stats };
}

// ---------------------------------------------------------------------------------------
// Reading

interface ParsedFile {
  readonly x509: readonly X509Certificate[];
  readonly infos: readonly CertificateInfo[];
  readonly omitted: number;
  readonly holdsPrivateKey: boolean;
  readonly error: FactError | null;
}

const PEM_CERT = /-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/g;
const PEM_PRIVATE_KEY = /-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----/;
const PEM_PRIVATE_KEY_BLOCK = /-----BEGIN ([A-Z0-9 ]*)PRIVATE KEY-----[\s\S]*?-----END \1PRIVATE KEY-----/;

async function readCertificateFile(hostFs: HostFs, path: string): Promise<ParsedFile> {
  const empty = { x509: [], infos: [], omitted: 0, holdsPrivateKey: false };
  const raw = await hostFs.readFile(path, { maxBytes: MAX_CERT_FILE_BYTES });
  if (!raw.ok) return { ...empty, error: raw.error };
  const buf = raw.value;
  try {
    const text = buf.toString('latin1');
    const holdsPrivateKey = PEM_PRIVATE_KEY.test(text);
    const blocks: Array<string | Buffer> = text.match(PEM_CERT) ?? [];
    // A DER certificate (some tools write .crt files that way) starts with a SEQUENCE.
    if (blocks.length === 0 && buf[0] === 0x30) blocks.push(Buffer.from(buf));
    if (blocks.length === 0) {
      return { ...empty, holdsPrivateKey, error: { code: 'EPARSE', path, message: `${path} holds no certificate (neither PEM nor DER)` } };
    }
    const x509: X509Certificate[] = [];
    const infos: CertificateInfo[] = [];
    for (const b of blocks.slice(0, MAX_CERTS_PER_FILE)) {
      try {
        const cert = new X509Certificate(b);
        // describeCertificate reads the public key, which throws for a key type OpenSSL does not know.
        infos.push(describeCertificate(cert));
        x509.push(cert);
      } catch (err) {
        return { ...empty, holdsPrivateKey, error: { code: 'EPARSE', path, message: `${path}: certificate ${x509.length + 1} cannot be parsed (${(err as Error).message})` } };
      }
    }
    return { x509, infos, omitted: Math.max(0, blocks.length - MAX_CERTS_PER_FILE), holdsPrivateKey, error: null };
  } finally {
    // A certificate file may hold a key too (kubelet-client-current.pem): leave nothing behind.
    buf.fill(0);
  }
}

/** Walks from the leaf through the file's own intermediates to a certificate of the CA file. */
function verifyChain(leafFile: readonly X509Certificate[], caFile: readonly X509Certificate[]): boolean {
  const [leaf, ...intermediates] = leafFile;
  let current = leaf;
  for (let hops = 0; current !== undefined && hops <= intermediates.length; hops++) {
    const c = current;
    if (caFile.some((ca) => c.checkIssued(ca) && c.verify(ca.publicKey))) return true;
    current = intermediates.find((i) => i !== c && c.checkIssued(i) && c.verify(i.publicKey));
  }
  return false;
}

/** Opens a leaf key only to compare it with its certificate; the bytes are zeroed before returning. */
async function matchKey(hostFs: HostFs, keyPath: string, cert: X509Certificate): Promise<{ matches: boolean | null; reason: string }> {
  const raw = await hostFs.readFile(keyPath, { maxBytes: MAX_KEY_FILE_BYTES });
  if (!raw.ok) return { matches: null, reason: raw.error.message };
  try {
    // The key may share its file with certificates (kubelet-client-current.pem), which the
    // PEM decoder does not skip: hand it the private key block alone.
    const block = PEM_PRIVATE_KEY_BLOCK.exec(raw.value.toString('latin1'))?.[0];
    if (block === undefined) return { matches: null, reason: `${keyPath} holds no PEM private key` };
    let key;
    try {
      key = createPrivateKey({ key: block, format: 'pem' });
    } catch (err) {
      const encrypted = /ENCRYPTED/.test(block);
      return { matches: null, reason: encrypted ? `${keyPath} is encrypted with a passphrase, which no Kubernetes component can use` : `${keyPath} holds no readable PEM private key (${(err as Error).message.split('\n')[0] ?? ''})` };
    }
    return cert.checkPrivateKey(key)
      ? { matches: true, reason: 'the certificate\'s public key is this key\'s public half' }
      : { matches: false, reason: 'the certificate\'s public key is not this key\'s public half' };
  } finally {
    raw.value.fill(0);
  }
}

export interface CertificateInputs {
  readonly hostFs: HostFs;
  readonly users: UserDb;
  readonly kubelet: KubeletFacts | null;
  readonly controlPlane: ControlPlaneFacts | undefined;
}

export async function collectCertificates(input: CertificateInputs): Promise<CertificateFacts> {
  const { hostFs, users, kubelet, controlPlane } = input;
  const errors: FactError[] = [];
  const cp = controlPlaneNamings(controlPlane, errors);
  const kl = await kubeletNamings(hostFs, kubelet);
  const certNamings = [...cp.certs, ...kl.certs];
  const named = new Set<string>([...certNamings.flatMap((n) => [n.at.path, ...(n.key ? [n.key.path] : [])]), ...cp.keys.map((k) => k.at.path)]);
  const layout = controlPlane === undefined ? KUBEADM_LAYOUT : layoutByName(controlPlane.distribution);
  const pkiDirs = [...new Set([...KUBEADM_LAYOUT.pkiDirs, ...layout.pkiDirs])];
  // A flag may name a PKI file through a link: the walk must know it by its real path too,
  // or the same certificate would be judged twice under two subjects.
  for (const p of [...named]) {
    const r = await hostFs.resolve(p);
    if (r.ok) named.add(r.value.path);
  }
  const pki = await pkiNamings(hostFs, users, pkiDirs, named, errors);
  certNamings.push(...pki.certs);

  const statOf = async (at: Located): Promise<FileFacts> =>
    pki.stats.get(at.path) ?? (at.error !== null
      ? { path: at.path, realPath: null, stat: null, owner: null, group: null, error: at.error }
      : await collectFileFacts(hostFs, users, at.path));

  // Certificates, one fact per file however many components name it.
  const byPath = new Map<string, { naming: CertNaming[]; file: FileFacts; parsed: ParsedFile }>();
  for (const n of certNamings) {
    const seen = byPath.get(n.at.path);
    if (seen !== undefined) {
      seen.naming.push(n);
      continue;
    }
    const file = await statOf(n.at);
    const parsed: ParsedFile = file.error !== null
      ? { x509: [], infos: [], omitted: 0, holdsPrivateKey: false, error: file.error }
      : await readCertificateFile(hostFs, n.at.path);
    byPath.set(n.at.path, { naming: [n], file, parsed });
  }
  const caByRole = new Map<CertificateRole, { path: string; setting: string }>();
  for (const n of certNamings) if (n.role.endsWith('-ca') && !caByRole.has(n.role)) caByRole.set(n.role, { path: n.at.path, setting: n.at.setting });

  const certificates: CertificateFileFact[] = [];
  for (const [path, { naming, file, parsed }] of byPath) {
    const uses = naming.map((n): CertificateUse => ({
      role: n.role, component: n.component, setting: n.at.setting, where: n.at.where,
      key: n.key?.path ?? null, ca: n.caRole === null ? null : caByRole.get(n.caRole) ?? null,
    }));
    const chain: ChainFact[] = [];
    for (const ca of new Map(uses.flatMap((u) => (u.ca === null ? [] : [[u.ca.path, u.ca] as const]))).values()) {
      const caFile = byPath.get(ca.path)?.parsed;
      if (parsed.x509.length === 0) continue;
      if (caFile === undefined || caFile.error !== null) {
        chain.push({ ca: ca.path, setting: ca.setting, verified: null, reason: `the CA file ${ca.path} (${ca.setting}) cannot be read: ${caFile?.error?.message ?? 'not collected'}` });
        continue;
      }
      const ok = verifyChain(parsed.x509, caFile.x509);
      chain.push({
        ca: ca.path, setting: ca.setting, verified: ok,
        reason: ok ? `signed by a certificate in ${ca.path} (${ca.setting})` : `not signed by any of the ${caFile.x509.length} certificate(s) in ${ca.path} (${ca.setting})`,
      });
    }
    certificates.push({
      path, file, uses, certificates: parsed.infos, omitted: parsed.omitted, holdsPrivateKey: parsed.holdsPrivateKey,
      error: parsed.error, chain,
    });
  }

  // Keys: decide the kind from every naming first, and open a file only when it is a leaf key.
  const keyNamings: KeyNaming[] = [...cp.keys];
  for (const n of certNamings) {
    if (n.key === null) continue;
    const cert = byPath.get(n.at.path)?.parsed.infos[0];
    const isCa = n.keyKind === 'ca' || cert?.isCa === true;
    keyNamings.push({
      at: n.key, component: n.component, kind: isCa ? 'ca' : 'leaf', certificate: n.at.path,
      kindReason: isCa ? `the key of the CA certificate ${n.at.path} (${n.key.setting})` : `the key of ${n.at.path} (${n.key.setting})`,
    });
  }
  for (const k of pki.keys) {
    const base = posix.basename(k.at.path);
    const sibling = byPath.get(k.at.path.replace(KEY_FILE, '.crt'));
    const siblingInfo = sibling?.parsed.infos[0];
    if (base === 'sa.key') keyNamings.push({ ...k, kind: 'service-account', kindReason: 'a service-account signing key (sa.key)' });
    else if (CA_KEY_NAME.test(base) || siblingInfo?.isCa === true) keyNamings.push({ ...k, kind: 'ca', kindReason: `a CA key (${CA_KEY_NAME.test(base) ? 'by its name' : `its certificate ${sibling?.file.path ?? ''} is a CA`})` });
    // A certificate beside it that is not a CA: its pair (opened only once the certificate is known not to be a CA).
    else if (sibling !== undefined) keyNamings.push({ ...k, kind: 'leaf', certificate: sibling.file.path, kindReason: `the key beside ${sibling.file.path}` });
    else keyNamings.push({ ...k, kind: 'unpaired', kindReason: 'a key with no certificate beside it, which no component names' });
  }

  const keysByPath = new Map<string, KeyNaming[]>();
  for (const n of keyNamings) keysByPath.set(n.at.path, [...(keysByPath.get(n.at.path) ?? []), n]);
  const keys: KeyFileFact[] = [];
  for (const [path, naming] of keysByPath) {
    const first = naming[0] as KeyNaming;
    const file = await statOf(first.at);
    // A key any naming calls a CA or service-account key is never opened.
    const never = naming.find((n) => n.kind === 'ca' || n.kind === 'service-account');
    const kindOf = never ?? naming.find((n) => n.kind === 'leaf') ?? first;
    const matches: KeyMatchFact[] = [];
    let read = false;
    if (kindOf.kind === 'leaf' && file.error === null) {
      for (const certPath of new Set(naming.flatMap((n) => (n.certificate === null ? [] : [n.certificate])))) {
        const cert = byPath.get(certPath)?.parsed;
        const leaf = cert?.x509[0];
        if (leaf === undefined) {
          matches.push({ certificate: certPath, matches: null, reason: `its certificate ${certPath} cannot be read: ${cert?.error?.message ?? 'not collected'}` });
          continue;
        }
        read = true;
        matches.push({ certificate: certPath, ...(await matchKey(hostFs, path, leaf)) });
      }
    }
    keys.push({
      path, file, kind: kindOf.kind, kindReason: kindOf.kindReason, read, matches,
      uses: naming.map((n) => ({ component: n.component, setting: n.at.setting, where: n.at.where, certificate: n.certificate })),
    });
  }

  const filesRead = new Set<string>([...kl.read, ...pki.walked]);
  for (const f of [...certificates.map((c) => c.file), ...keys.map((k) => k.file)]) {
    filesRead.add(f.path);
    if (f.realPath !== null) filesRead.add(f.realPath);
  }
  return {
    certificates: certificates.sort((a, b) => a.path.localeCompare(b.path)),
    keys: keys.sort((a, b) => a.path.localeCompare(b.path)),
    pkiDirs: pkiDirs.filter((d) => pki.walked.includes(d)),
    dropped: pki.dropped,
    errors,
    filesRead: [...filesRead].filter((p) => p.startsWith('/')).sort(),
  };
}

/** Bounded list for the node inventory (the hello's HostInfo.certificates): each file's earliest expiry. */
export const MAX_INVENTORY_CERTIFICATES = 256;

export function certificateExpiries(facts: CertificateFacts | undefined): Array<{ path: string; notAfterMs: number }> {
  const out: Array<{ path: string; notAfterMs: number }> = [];
  for (const c of facts?.certificates ?? []) {
    const times = c.certificates.map((i) => Date.parse(i.notAfter)).filter((t) => !Number.isNaN(t));
    if (times.length > 0) out.push({ path: c.path, notAfterMs: Math.min(...times) });
  }
  return out.sort((a, b) => a.notAfterMs - b.notAfterMs || a.path.localeCompare(b.path)).slice(0, MAX_INVENTORY_CERTIFICATES);
}

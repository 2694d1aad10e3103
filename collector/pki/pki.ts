// The nodeward PKI: one private CA, a server certificate for the collector and a client
// certificate per node, all for the mTLS channel between agents and the collector.
//
//   DIR/ca.crt  ca.key                 (self-signed CA, ECDSA P-256)
//   DIR/collector.crt  collector.key   (EKU serverAuth, SANs = collector hosts)
//   DIR/agents/<node>.crt  <node>.key  (EKU clientAuth, CN and DNS SAN = node name)
//
// `initPki` is what `nodeward pki init DIR` runs; it is idempotent and additive. The
// lower-level `createCa` / `issueClientCertificate` / `issueServerCertificate` exist for
// tests that need unusual certificates (expired, wrong CN, foreign CA, wrong EKU).

import { X509Certificate as NodeX509Certificate } from 'node:crypto';
import { open, readdir, readFile, stat, unlink } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import * as x509 from './x509.js';
import { CERT_MODE, ensurePrivateDir, isErrno, KEY_MODE, pathExists, writeFileWithMode } from './files.js';
import {
  type CryptoKey,
  type CryptoKeyPair,
  ensureCryptoProvider,
  errMessage,
  generateKeyPair,
  importSigningKey,
  keyMatchesCertificate,
  privateKeyToPem,
  randomSerialHex,
  SIGNING_HASH,
} from './keys.js';
import { checkNodeNames, splitHosts } from './names.js';

export const CA_CERT_FILE = 'ca.crt';
export const CA_KEY_FILE = 'ca.key';
export const COLLECTOR_CERT_FILE = 'collector.crt';
export const COLLECTOR_KEY_FILE = 'collector.key';
export const AGENTS_DIR = 'agents';

/** Hosts a local (dev / test) collector is reached by. */
export const DEFAULT_COLLECTOR_HOSTS: readonly string[] = ['localhost', '127.0.0.1', '::1'];
export const DEFAULT_CA_VALID_DAYS = 3650;
export const DEFAULT_LEAF_VALID_DAYS = 365;
export const DEFAULT_CA_COMMON_NAME = 'nodeward CA';
export const DEFAULT_COLLECTOR_COMMON_NAME = 'nodeward collector';
/** notBefore is set this far before "now" so small clock skew between machines is tolerated. */
export const CLOCK_SKEW_MS = 5 * 60 * 1000;

const DAY_MS = 24 * 60 * 60 * 1000;

export interface AgentPaths {
  readonly cert: string;
  readonly key: string;
}

export interface PkiPaths {
  readonly dir: string;
  readonly caCert: string;
  readonly caKey: string;
  readonly collectorCert: string;
  readonly collectorKey: string;
  /** Keyed by node name. */
  readonly agents: Record<string, AgentPaths>;
}

/** A CA held in files. A `PkiPaths` is one, so `initPki`'s result can be passed as a CA. */
export interface CaFiles {
  readonly caCert: string;
  readonly caKey: string;
}

/** A CA held in memory as PEM. A `CertificateAuthority` from `createCa` is one. */
export interface CaPem {
  readonly certPem: string;
  readonly keyPem: string;
}

export type CaSource = CaFiles | CaPem;

export interface CertificateAuthority extends CaPem {
  readonly serialNumber: string;
  readonly notBefore: Date;
  readonly notAfter: Date;
  /** Where it was written, when `createCa` was given a directory. */
  readonly files?: CaFiles;
}

export interface IssuedCertificate {
  readonly certPem: string;
  /** PKCS#8 PEM. */
  readonly keyPem: string;
  readonly serialNumber: string;
  readonly notBefore: Date;
  readonly notAfter: Date;
  /** Where it was written, when `out` was given. */
  readonly files?: AgentPaths;
}

export interface ValidityOptions {
  /** Lifetime from `now`; default 3650 for a CA, 365 for a leaf. Ignored when `notAfter` is given. */
  readonly validDays?: number;
  /** The issuing clock; default the current time. */
  readonly now?: Date;
  /** Explicit start of validity; default `now` minus CLOCK_SKEW_MS. */
  readonly notBefore?: Date;
  /**
   * Explicit end of validity. Without it a leaf's end is `now + validDays`, but never
   * later than its CA's notAfter.
   */
  readonly notAfter?: Date;
}

export interface CreateCaOptions extends ValidityOptions {
  /** Subject CN; default "nodeward CA". */
  readonly commonName?: string;
}

export type KeyPurpose = 'serverAuth' | 'clientAuth';

export interface IssueOptions extends ValidityOptions {
  /** Subject CN; default the node name (client) or "nodeward collector" (server). */
  readonly commonName?: string;
  /** Extended key usages; default ['clientAuth'] (client) or ['serverAuth'] (server). */
  readonly extendedKeyUsages?: readonly KeyPurpose[];
  /** Also write the certificate (0644) and key (0600) to these paths. */
  readonly out?: AgentPaths;
  /** Replace files at `out` that already exist; by default that is an error. */
  readonly overwrite?: boolean;
}

export interface ClientCertificateOptions extends IssueOptions {
  /** DNS SANs; default [node]. An empty list leaves the SAN extension out. */
  readonly dnsNames?: readonly string[];
}

export type ServerCertificateOptions = IssueOptions;

export interface InitPkiOptions {
  readonly nodes: readonly string[];
  readonly collectorHosts: readonly string[];
  /** Lifetime of newly issued leaf certificates; default 365. */
  readonly validDays?: number;
  /** Lifetime of a newly created CA; default max(3650, validDays). */
  readonly caValidDays?: number;
  readonly now?: Date;
}

export interface InitPkiResult extends PkiPaths {
  /** Files this run wrote (absolute paths); empty when everything already existed. */
  readonly created: string[];
}

/** The paths of a PKI in `dir`, without touching the filesystem. */
export function pkiPaths(dir: string, nodes: readonly string[] = []): PkiPaths {
  const root = resolve(dir);
  const agents: Record<string, AgentPaths> = {};
  for (const node of nodes) agents[node] = agentPaths(root, node);
  return {
    dir: root,
    caCert: join(root, CA_CERT_FILE),
    caKey: join(root, CA_KEY_FILE),
    collectorCert: join(root, COLLECTOR_CERT_FILE),
    collectorKey: join(root, COLLECTOR_KEY_FILE),
    agents,
  };
}

function agentPaths(root: string, node: string): AgentPaths {
  return { cert: join(root, AGENTS_DIR, `${node}.crt`), key: join(root, AGENTS_DIR, `${node}.key`) };
}

// ---------------------------------------------------------------------------------
// CA

/**
 * Creates a self-signed CA: ECDSA P-256, basicConstraints CA:true (critical, pathLen 0),
 * keyUsage keyCertSign + cRLSign (critical). With a `dir` it also writes DIR/ca.key
 * (0600) and DIR/ca.crt (0644), creating DIR with mode 0700; an existing CA there is
 * never overwritten (that is an error). With `null` it stays in memory.
 */
export async function createCa(dir: string | null, opts: CreateCaOptions = {}): Promise<CertificateAuthority> {
  ensureCryptoProvider();
  let files: CaFiles | undefined;
  if (dir !== null) {
    const paths = pkiPaths(dir);
    files = { caCert: paths.caCert, caKey: paths.caKey };
    for (const p of [files.caCert, files.caKey]) {
      if (await pathExists(p)) throw new Error(`a CA already exists in ${paths.dir} (${p}); refusing to overwrite it`);
    }
  }
  const { notBefore, notAfter } = validity(opts, DEFAULT_CA_VALID_DAYS, undefined);
  const keys = await generateKeyPair();
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: randomSerialHex(),
    name: [{ CN: [opts.commonName ?? DEFAULT_CA_COMMON_NAME] }],
    notBefore,
    notAfter,
    keys,
    signingAlgorithm: { name: 'ECDSA', hash: SIGNING_HASH },
    extensions: [
      new x509.BasicConstraintsExtension(true, 0, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
    ],
  });
  const ca: CertificateAuthority = {
    certPem: pem(cert),
    keyPem: await privateKeyToPem(keys.privateKey),
    serialNumber: cert.serialNumber,
    notBefore: cert.notBefore,
    notAfter: cert.notAfter,
    ...(files ? { files } : {}),
  };
  if (files) {
    await ensurePrivateDir(dirname(files.caCert));
    // Key first: a present ca.crt then always has its key beside it.
    await writeFileWithMode(files.caKey, ca.keyPem, KEY_MODE);
    await writeFileWithMode(files.caCert, ca.certPem, CERT_MODE);
  }
  return ca;
}

interface LoadedCa {
  readonly cert: x509.X509Certificate;
  readonly nodeCert: NodeX509Certificate;
  readonly signingKey: CryptoKey;
  readonly label: string;
}

async function loadCa(source: CaSource): Promise<LoadedCa> {
  ensureCryptoProvider();
  let certPem: string;
  let keyPem: string;
  let label: string;
  if ('certPem' in source) {
    ({ certPem, keyPem } = source);
    label = 'CA';
  } else {
    label = source.caCert;
    try {
      certPem = await readFile(source.caCert, 'utf8');
      keyPem = await readFile(source.caKey, 'utf8');
    } catch (err) {
      throw new Error(`cannot read CA: ${errMessage(err)}`);
    }
  }
  let nodeCert: NodeX509Certificate;
  let cert: x509.X509Certificate;
  try {
    nodeCert = new NodeX509Certificate(certPem);
    cert = new x509.X509Certificate(certPem);
  } catch (err) {
    throw new Error(`${label}: not a readable PEM certificate (${errMessage(err)})`);
  }
  if (!nodeCert.ca) throw new Error(`${label}: not a CA certificate (basicConstraints CA:true is missing)`);
  const signingKey = await importSigningKey(keyPem, `${label} key`);
  if (!keyMatchesCertificate(keyPem, nodeCert)) throw new Error(`${label}: the CA key does not belong to the CA certificate`);
  return { cert, nodeCert, signingKey, label };
}

// ---------------------------------------------------------------------------------
// Leaves

/**
 * Issues an agent (client) certificate for `node` from `ca`: subject CN = node, SAN
 * DNS = node, EKU clientAuth, keyUsage digitalSignature, CA:false, fresh P-256 key.
 * Every part can be overridden through `opts` for tests; the node name is always checked
 * to be a DNS-1123 subdomain.
 */
export async function issueClientCertificate(
  ca: CaSource,
  node: string,
  opts: ClientCertificateOptions = {},
): Promise<IssuedCertificate> {
  checkNodeNames([node]);
  const dnsNames = opts.dnsNames ?? [node];
  return issueLeaf(await loadCa(ca), {
    commonName: opts.commonName ?? node,
    sans: dnsNames.map((value) => ({ type: 'dns', value })),
    purposes: opts.extendedKeyUsages ?? ['clientAuth'],
    opts,
  });
}

/**
 * Issues a collector (server) certificate from `ca` for `hosts`: each host becomes a DNS
 * SAN or, when it is an IPv4/IPv6 address, an IP SAN. EKU serverAuth, keyUsage
 * digitalSignature, CA:false, fresh P-256 key.
 */
export async function issueServerCertificate(
  ca: CaSource,
  hosts: readonly string[],
  opts: ServerCertificateOptions = {},
): Promise<IssuedCertificate> {
  const { dns, ips } = splitHosts(hosts);
  return issueLeaf(await loadCa(ca), {
    commonName: opts.commonName ?? DEFAULT_COLLECTOR_COMMON_NAME,
    sans: [...dns.map((value) => ({ type: 'dns' as const, value })), ...ips.map((value) => ({ type: 'ip' as const, value }))],
    purposes: opts.extendedKeyUsages ?? ['serverAuth'],
    opts,
  });
}

const PURPOSE_OID: Record<KeyPurpose, string> = {
  serverAuth: x509.ExtendedKeyUsage.serverAuth,
  clientAuth: x509.ExtendedKeyUsage.clientAuth,
};

interface LeafSpec {
  readonly commonName: string;
  readonly sans: readonly { type: 'dns' | 'ip'; value: string }[];
  readonly purposes: readonly KeyPurpose[];
  readonly opts: IssueOptions;
}

async function issueLeaf(ca: LoadedCa, spec: LeafSpec): Promise<IssuedCertificate> {
  const { opts } = spec;
  if (opts.out && !opts.overwrite) {
    for (const p of [opts.out.cert, opts.out.key]) {
      if (await pathExists(p)) throw new Error(`refusing to overwrite existing ${p}`);
    }
  }
  const { notBefore, notAfter } = validity(opts, DEFAULT_LEAF_VALID_DAYS, ca.cert.notAfter);
  const keys: CryptoKeyPair = await generateKeyPair();
  const extensions: x509.Extension[] = [
    new x509.BasicConstraintsExtension(false, undefined, true),
    new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
  ];
  if (spec.purposes.length > 0) {
    extensions.push(new x509.ExtendedKeyUsageExtension(spec.purposes.map((p) => PURPOSE_OID[p]), false));
  }
  if (spec.sans.length > 0) {
    extensions.push(new x509.SubjectAlternativeNameExtension(spec.sans.map((s) => ({ type: s.type, value: s.value })), false));
  }
  extensions.push(await x509.SubjectKeyIdentifierExtension.create(keys.publicKey));
  const caSki = ca.cert.getExtension(x509.SubjectKeyIdentifierExtension);
  extensions.push(
    caSki ? new x509.AuthorityKeyIdentifierExtension(caSki.keyId) : await x509.AuthorityKeyIdentifierExtension.create(ca.cert.publicKey),
  );
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: randomSerialHex(),
    subject: [{ CN: [spec.commonName] }],
    issuer: ca.cert.subjectName,
    notBefore,
    notAfter,
    publicKey: keys.publicKey,
    signingKey: ca.signingKey,
    signingAlgorithm: { name: ca.signingKey.algorithm.name, hash: SIGNING_HASH },
    extensions,
  });
  const issued: IssuedCertificate = {
    certPem: pem(cert),
    keyPem: await privateKeyToPem(keys.privateKey),
    serialNumber: cert.serialNumber,
    notBefore: cert.notBefore,
    notAfter: cert.notAfter,
    ...(opts.out ? { files: { cert: opts.out.cert, key: opts.out.key } } : {}),
  };
  if (opts.out) {
    await ensureParentDir(opts.out.key);
    await ensureParentDir(opts.out.cert);
    await writeFileWithMode(opts.out.key, issued.keyPem, KEY_MODE, opts.overwrite ?? false);
    await writeFileWithMode(opts.out.cert, issued.certPem, CERT_MODE, opts.overwrite ?? false);
  }
  return issued;
}

/** Creates a missing parent directory as 0700; an existing one is left as it is. */
async function ensureParentDir(path: string): Promise<void> {
  const parent = dirname(path);
  if (!(await pathExists(parent))) await ensurePrivateDir(parent);
}

// ---------------------------------------------------------------------------------
// initPki

/**
 * Brings the PKI in `dir` up to date: creates the directory (0700) and agents/ (0700),
 * creates the CA if there is none (an existing CA is reused, never replaced), issues the
 * collector certificate if missing, and issues a client certificate for every node in
 * `opts.nodes` that has none. Existing certificates are checked to be issued by the CA
 * (and the collector's to cover every requested host); a mismatch is an error rather
 * than a silent re-issue. All names are validated before anything is written.
 *
 * The result lists every agent certificate present in agents/, not only `opts.nodes`.
 */
export async function initPki(dir: string, opts: InitPkiOptions): Promise<InitPkiResult> {
  const nodes = checkNodeNames(opts.nodes);
  const hosts = splitHosts(opts.collectorHosts);
  const leafDays = opts.validDays ?? DEFAULT_LEAF_VALID_DAYS;
  checkDays(leafDays, 'validDays');
  const caDays = opts.caValidDays ?? Math.max(DEFAULT_CA_VALID_DAYS, leafDays);
  checkDays(caDays, 'caValidDays');
  const now = opts.now ?? new Date();
  checkDate(now, 'now');

  const paths = pkiPaths(dir);
  await ensurePrivateDir(paths.dir);
  await ensurePrivateDir(join(paths.dir, AGENTS_DIR));

  return withDirLock(paths.dir, async () => {
    const created: string[] = [];
    const caFiles: CaFiles = { caCert: paths.caCert, caKey: paths.caKey };
    const caState = await pairState(paths.caCert, paths.caKey);
    if (caState === 'absent') {
      await createCa(paths.dir, { validDays: caDays, now });
      created.push(paths.caKey, paths.caCert);
    } else if (caState !== 'present') {
      throw new Error(`incomplete CA in ${paths.dir}: ${caState} exists without its partner; restore or remove it`);
    }
    const ca = await loadCa(caFiles);

    const collector = { cert: paths.collectorCert, key: paths.collectorKey };
    const collectorState = await pairState(collector.cert, collector.key);
    if (collectorState === 'absent') {
      await issueServerCertificate(caFiles, [...hosts.dns, ...hosts.ips], { validDays: leafDays, now, out: collector });
      created.push(collector.key, collector.cert);
    } else if (collectorState === 'present') {
      const leaf = await checkExistingLeaf(ca, collector);
      const missing = [...hosts.dns.filter((h) => leaf.checkHost(h) === undefined), ...hosts.ips.filter((ip) => leaf.checkIP(ip) === undefined)];
      if (missing.length > 0) {
        throw new Error(
          `${collector.cert} does not cover collector host${missing.length > 1 ? 's' : ''} ${missing.join(', ')}; ` +
            `remove ${collector.cert} and ${collector.key} to have it re-issued`,
        );
      }
    } else {
      throw new Error(`incomplete collector certificate: ${collectorState} exists without its partner; remove it to have the pair re-issued`);
    }

    for (const node of nodes) {
      const agent = agentPaths(paths.dir, node);
      const state = await pairState(agent.cert, agent.key);
      if (state === 'absent') {
        await issueClientCertificate(caFiles, node, { validDays: leafDays, now, out: agent });
        created.push(agent.key, agent.cert);
      } else if (state === 'present') {
        await checkExistingLeaf(ca, agent);
      } else {
        throw new Error(`incomplete agent certificate for node ${node}: ${state} exists without its partner; remove it to have the pair re-issued`);
      }
    }

    const agents: Record<string, AgentPaths> = {};
    for (const node of await listAgents(paths.dir)) agents[node] = agentPaths(paths.dir, node);
    return { ...paths, agents, created };
  });
}

/** 'absent', 'present', or the path of the one file of the pair that exists. */
async function pairState(cert: string, key: string): Promise<'absent' | 'present' | string> {
  const [c, k] = await Promise.all([pathExists(cert), pathExists(key)]);
  if (c && k) return 'present';
  if (!c && !k) return 'absent';
  return c ? cert : key;
}

async function checkExistingLeaf(ca: LoadedCa, files: AgentPaths): Promise<NodeX509Certificate> {
  let leaf: NodeX509Certificate;
  let keyPem: string;
  try {
    leaf = new NodeX509Certificate(await readFile(files.cert));
    keyPem = await readFile(files.key, 'utf8');
  } catch (err) {
    throw new Error(`${files.cert}: unreadable (${errMessage(err)}); remove it and its key to have them re-issued`);
  }
  if (!leaf.checkIssued(ca.nodeCert) || !leaf.verify(ca.nodeCert.publicKey)) {
    throw new Error(`${files.cert} was not issued by ${ca.label}; remove it and its key to have them re-issued`);
  }
  let matches: boolean;
  try {
    matches = keyMatchesCertificate(keyPem, leaf);
  } catch (err) {
    throw new Error(`${files.key}: unreadable private key (${errMessage(err)})`);
  }
  if (!matches) throw new Error(`${files.key} does not belong to ${files.cert}`);
  return leaf;
}

/** Node names that have both agents/<node>.crt and agents/<node>.key. */
async function listAgents(root: string): Promise<string[]> {
  const entries = await readdir(join(root, AGENTS_DIR));
  const names = new Set(entries);
  return entries
    .filter((e) => e.endsWith('.crt'))
    .map((e) => e.slice(0, -'.crt'.length))
    .filter((n) => names.has(`${n}.key`) && checkNodeNamesQuietly(n))
    .sort();
}

function checkNodeNamesQuietly(n: string): boolean {
  try {
    checkNodeNames([n]);
    return true;
  } catch {
    return false;
  }
}

// Serialises initPki runs on one directory, within this process (a promise chain) and
// across processes (an O_EXCL lock file; one older than LOCK_STALE_MS is taken over).
const LOCK_FILE = '.pki.lock';
const LOCK_STALE_MS = 60_000;
const LOCK_WAIT_MS = 30_000;
const inProcess = new Map<string, Promise<unknown>>();

async function withDirLock<T>(dir: string, fn: () => Promise<T>): Promise<T> {
  const prev = inProcess.get(dir) ?? Promise.resolve();
  const run = prev.catch(() => undefined).then(() => withLockFile(dir, fn));
  const tail = run.catch(() => undefined);
  inProcess.set(dir, tail);
  try {
    return await run;
  } finally {
    if (inProcess.get(dir) === tail) inProcess.delete(dir);
  }
}

async function withLockFile<T>(dir: string, fn: () => Promise<T>): Promise<T> {
  const lock = join(dir, LOCK_FILE);
  const deadline = Date.now() + LOCK_WAIT_MS;
  for (;;) {
    try {
      const fh = await open(lock, 'wx', 0o600);
      await fh.writeFile(`${process.pid}\n`);
      await fh.close();
      break;
    } catch (err) {
      if (!isErrno(err, 'EEXIST')) throw err;
      const st = await stat(lock).catch(() => undefined);
      if (st && Date.now() - st.mtimeMs > LOCK_STALE_MS) {
        await unlink(lock).catch(() => undefined);
        continue;
      }
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${lock} (another "pki init" running? remove it if not)`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  try {
    return await fn();
  } finally {
    await unlink(lock).catch(() => undefined);
  }
}

// ---------------------------------------------------------------------------------
// helpers

function validity(opts: ValidityOptions, defaultDays: number, caNotAfter: Date | undefined): { notBefore: Date; notAfter: Date } {
  const now = opts.now ?? new Date();
  checkDate(now, 'now');
  const days = opts.validDays ?? defaultDays;
  checkDays(days, 'validDays');
  const notBefore = opts.notBefore ?? new Date(now.getTime() - CLOCK_SKEW_MS);
  checkDate(notBefore, 'notBefore');
  let notAfter: Date;
  if (opts.notAfter) {
    notAfter = opts.notAfter;
    checkDate(notAfter, 'notAfter');
  } else {
    notAfter = new Date(now.getTime() + days * DAY_MS);
    if (caNotAfter && notAfter > caNotAfter) notAfter = caNotAfter;
  }
  // X.509 dates have one-second resolution; keep what is returned equal to what is encoded.
  const range = { notBefore: wholeSeconds(notBefore), notAfter: wholeSeconds(notAfter) };
  if (range.notAfter.getTime() <= range.notBefore.getTime()) {
    throw new Error(
      `certificate validity is empty: notAfter ${range.notAfter.toISOString()} is not after notBefore ${range.notBefore.toISOString()}`,
    );
  }
  return range;
}

function wholeSeconds(d: Date): Date {
  return new Date(Math.floor(d.getTime() / 1000) * 1000);
}

function checkDays(days: number, name: string): void {
  if (!Number.isFinite(days) || days <= 0) throw new Error(`${name} must be a positive number of days, got ${days}`);
}

function checkDate(d: Date, name: string): void {
  if (!(d instanceof Date) || Number.isNaN(d.getTime())) throw new Error(`${name} is not a valid date`);
}

function pem(cert: x509.X509Certificate): string {
  const text = cert.toString('pem');
  return text.endsWith('\n') ? text : `${text}\n`;
}

// The certificate facts of the model (model.ts): certificate and key files the components
// name, and those under the PKI directories, as certificates.ts collects them. Types only.
import type { ControlPlaneComponent } from './control-plane-types.js';
import type { FactError, FileFacts } from './host-facts.js';
import type { CertificateInfo } from './x509-info.js';

export type { CertificateInfo } from './x509-info.js';

export type CertComponent = ControlPlaneComponent | 'kubelet' | 'pki-dir';

export type CertificateRole =
  | 'etcd-server' | 'etcd-peer' | 'etcd-client-ca' | 'etcd-peer-ca'
  | 'apiserver-serving' | 'apiserver-etcd-client' | 'apiserver-kubelet-client' | 'apiserver-proxy-client'
  | 'apiserver-etcd-ca' | 'apiserver-client-ca' | 'apiserver-requestheader-ca' | 'apiserver-kubelet-ca'
  | 'cluster-signing-ca' | 'root-ca'
  | 'kubelet-serving' | 'kubelet-client' | 'kubelet-client-ca'
  /** Found under a PKI directory; no component names it. */
  | 'pki';

/** One way a component uses a certificate file. */
export interface CertificateUse {
  readonly role: CertificateRole;
  readonly component: CertComponent;
  /** The setting that names it as the component spells it (`--cert-file`, `tlsCertFile`), or the directory it was found in. */
  readonly setting: string;
  /** Where that setting was read, in words. */
  readonly where: string;
  /** The key named with it, as a host path; null when none. */
  readonly key: string | null;
  /** The CA file its verifier uses (named by the same group of flags, or by the peer that verifies it); null when none is named. */
  readonly ca: { readonly path: string; readonly setting: string } | null;
}

export interface ChainFact {
  readonly ca: string;
  readonly setting: string;
  /** null: could not be told (the CA file is missing or unreadable); `reason` says why. */
  readonly verified: boolean | null;
  readonly reason: string;
}

export interface CertificateFileFact {
  /** The host path as named (or, when it has no host path, the value as the component names it). */
  readonly path: string;
  readonly file: FileFacts;
  readonly uses: readonly CertificateUse[];
  /** In file order; the first is the file's own certificate, the rest its chain or bundle. */
  readonly certificates: readonly CertificateInfo[];
  /** Certificates in the file beyond MAX_CERTS_PER_FILE, not described. */
  readonly omitted: number;
  /** The file also holds a private key (which was not parsed). */
  readonly holdsPrivateKey: boolean;
  /** Set when the file is missing, unreadable, or holds no certificate. */
  readonly error: FactError | null;
  /** One entry per CA named for it. */
  readonly chain: readonly ChainFact[];
}

/**
 * `leaf`: the key half of a non-CA pair, read only to match it. `ca`, `service-account`:
 * stat'ed, never read. `unpaired`: found under a PKI directory with nothing to pair it with;
 * stat'ed, never read.
 */
export type KeyKind = 'leaf' | 'ca' | 'service-account' | 'unpaired';

export interface KeyUse {
  readonly component: CertComponent;
  readonly setting: string;
  readonly where: string;
  /** The certificate it is paired with; null for CA and service-account keys named alone. */
  readonly certificate: string | null;
}

export interface KeyMatchFact {
  readonly certificate: string;
  /** null: could not be told (`reason`). */
  readonly matches: boolean | null;
  readonly reason: string;
}

export interface KeyFileFact {
  readonly path: string;
  readonly file: FileFacts;
  readonly kind: KeyKind;
  /** Why it has that kind, in words. */
  readonly kindReason: string;
  readonly uses: readonly KeyUse[];
  /** Leaf keys: whether the key is the partner of each certificate it is paired with. */
  readonly matches: readonly KeyMatchFact[];
  /** Whether the agent opened it (only leaf keys are ever opened). */
  readonly read: boolean;
}

export interface CertificateFacts {
  readonly certificates: readonly CertificateFileFact[];
  readonly keys: readonly KeyFileFact[];
  /** PKI directories walked (those that exist). */
  readonly pkiDirs: readonly string[];
  /** Certificate and key files under the PKI directories left out over MAX_PKI_FILES. */
  readonly dropped: number;
  readonly errors: readonly FactError[];
  /** Host paths read or stat'ed (files as named and after links, directories walked), for a watcher. */
  readonly filesRead: readonly string[];
}

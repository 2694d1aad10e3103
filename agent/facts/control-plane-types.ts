// The control plane as facts: which components run on this node and how they were found,
// their arguments with where each came from, the documents they name (read and reduced to
// what the checks need, with key material removed), and the files the benchmark asks about.
// Plain, JSON-serialisable data; every failure is a FactError where it happened.
import type { CliFlag } from './cli-flags.js';
import type { EnvEntry } from './environ.js';
import type { ConfigDoc, FactError, FileFacts } from './host-facts.js';
import type { DistributionName } from './layouts.js';

export type { DistributionName } from './layouts.js';
export type { EnvEntry } from './environ.js';

/** An env entry that takes its value from a ConfigMap, Secret or field: not visible in the file. */
export const VALUE_FROM = '<valueFrom>';

export const CONTROL_PLANE_COMPONENTS = ['kube-apiserver', 'kube-controller-manager', 'kube-scheduler', 'etcd'] as const;
export type ControlPlaneComponent = (typeof CONTROL_PLANE_COMPONENTS)[number];

/** Where one argument was read: the running process, its static pod manifest, a config file. */
export type ArgSource = 'flag' | 'manifest' | 'config';

export interface ComponentArg extends CliFlag {
  readonly source: ArgSource;
  /** The manifest or configuration file it came from; '' for the process's own argv. */
  readonly file: string;
}

/** A hostPath volume of a static pod: what the container sees at `containerPath` is `hostPath` on the host. */
export interface VolumeMapping {
  readonly containerPath: string;
  readonly hostPath: string;
}

/** A path-valued setting of a component, translated to a host path. */
export interface ComponentPath {
  /** The setting, e.g. `audit-policy-file`, `data-dir`. */
  readonly setting: string;
  /** The value as the component has it (a path in its own mount namespace). */
  readonly value: string;
  /** The same file as a host path; null when it cannot be known. */
  readonly hostPath: string | null;
  /** How the host path was found, in words. */
  readonly how: string;
  readonly error: FactError | null;
}

/**
 * `process`: a running process, found by argv[0]. `manifest`: only a static pod manifest (no
 * process seen). `embedded`: inside the process the layout names (`k3s server`; `embeddedIn`).
 */
export type ComponentOrigin = 'process' | 'manifest' | 'embedded';

export interface ComponentFacts {
  readonly component: ControlPlaneComponent;
  readonly origin: ComponentOrigin;
  /** With origin `embedded`: the process that runs it (`k3s server`). */
  readonly embeddedIn?: string;
  /** The process judged (the lowest pid when several match); null for a manifest only. */
  readonly pid: number | null;
  readonly otherPids: readonly number[];
  /** Redacted argv of the process, or the manifest's command + args. */
  readonly argv: readonly string[];
  /**
   * The process's command line (for k3s: the server's) was longer than the agent reads
   * (proc.ts MAX_CMDLINE_BYTES): `args` from it are only a beginning, and no setting is judged.
   */
  readonly argvTruncated: boolean;
  /** The component's arguments in the order it applies them (the last one of a name wins). */
  readonly args: readonly ComponentArg[];
  /** The static pod manifest that runs it, as a host path; null when there is none. */
  readonly manifest: string | null;
  /** Its static pod's hostPath mounts; null when its paths are host paths (not containerised). */
  readonly mounts: readonly VolumeMapping[] | null;
  /** Working directory (in the component's own mount namespace); null when unknown. */
  readonly cwd: string | null;
  /** etcd only: its `ETCD_*` variables (nothing else of the environment is kept). */
  readonly env: readonly EnvEntry[] | null;
  readonly envError: FactError | null;
  /** The component's own configuration file (scheduler --config, etcd --config-file), reduced. */
  readonly config: ConfigDoc | null;
  /** Path-valued settings as host paths. */
  readonly paths: readonly ComponentPath[];
  /** Set when the component's settings are partly invisible (k3s sets flags internally): why. */
  readonly hidden: string | null;
  readonly errors: readonly FactError[];
}

export interface ComponentAbsence {
  /** `not-found`: the process table was read and no manifest runs it. `unknown`: nobody can tell. */
  readonly status: 'not-found' | 'unknown';
  readonly reason: string;
}

/** One static pod manifest seen, and which component its first container runs. */
export interface ManifestFact {
  readonly path: string;
  readonly component: string | null;
  readonly error: FactError | null;
}

export interface EncryptionProviderFact {
  /** identity, aescbc, aesgcm, secretbox, kms. */
  readonly type: string;
  /** kms: the plugin's name; '' otherwise. */
  readonly name: string;
  /** kms: `v1` or `v2` (v1 when unset, as the API server reads it); '' otherwise. */
  readonly apiVersion: string;
  /**
   * For each key the provider lists, the bytes its secret decodes to (base64, as the API
   * server decodes it), or null when it is not valid base64. Only lengths: the keys
   * themselves are never kept.
   */
  readonly keyLengths: readonly (number | null)[];
}

export interface EncryptionResourceFact {
  readonly resources: readonly string[];
  readonly providers: readonly EncryptionProviderFact[];
}

/** The --encryption-provider-config file, reduced to its structure: no key material. */
export interface EncryptionConfigFacts {
  readonly path: string;
  readonly error: FactError | null;
  readonly resources: readonly EncryptionResourceFact[];
}

export interface AuditGroupResources {
  readonly group: string;
  readonly resources: readonly string[];
  readonly resourceNames: readonly string[];
}

export interface AuditRuleFact {
  readonly level: string;
  readonly users: readonly string[];
  readonly userGroups: readonly string[];
  readonly verbs: readonly string[];
  readonly namespaces: readonly string[];
  readonly resources: readonly AuditGroupResources[];
  readonly nonResourceURLs: readonly string[];
}

/** The --audit-policy-file, its rules in order (the first rule that matches a request wins). */
export interface AuditPolicyFacts {
  readonly path: string;
  readonly error: FactError | null;
  readonly rules: readonly AuditRuleFact[];
}

/** The --authorization-config file (structured authorization): its authorizers in order. */
export interface AuthorizationConfigFacts {
  readonly path: string;
  readonly error: FactError | null;
  readonly authorizers: readonly { readonly type: string; readonly name: string }[];
}

/** The --authentication-config file, reduced to its anonymous section. */
export interface AuthenticationConfigFacts {
  readonly path: string;
  readonly error: FactError | null;
  /** null when the file has no anonymous section (the --anonymous-auth flag then applies). */
  readonly anonymous: { readonly enabled: boolean; readonly conditions: readonly string[] } | null;
}

/** Documents the API server names; null when it does not name one (or it cannot be seen). */
export interface ApiServerDocs {
  readonly encryption: EncryptionConfigFacts | null;
  /** The encryption config file stat'ed (mode, owner): it holds keys. Null when none is named or it has no host path. */
  readonly encryptionFile: FileFacts | null;
  readonly auditPolicy: AuditPolicyFacts | null;
  readonly authorization: AuthorizationConfigFacts | null;
  readonly authentication: AuthenticationConfigFacts | null;
}

export const FILE_SET_NAMES = [
  'kube-apiserver-pod-spec',
  'kube-controller-manager-pod-spec',
  'kube-scheduler-pod-spec',
  'etcd-pod-spec',
  'cni',
  'etcd-data-dir',
  'admin-kubeconfig',
  'scheduler-kubeconfig',
  'controller-manager-kubeconfig',
  'pki',
] as const;
export type FileSetName = (typeof FILE_SET_NAMES)[number];

/** Where each file set is found, in words (the check reference, docs/checks.md). */
export const FILE_SET_DESCRIPTIONS: { readonly [S in FileSetName]: string } = {
  'kube-apiserver-pod-spec': 'the static pod manifest that runs kube-apiserver',
  'kube-controller-manager-pod-spec': 'the static pod manifest that runs kube-controller-manager',
  'kube-scheduler-pod-spec': 'the static pod manifest that runs kube-scheduler',
  'etcd-pod-spec': 'the static pod manifest that runs etcd',
  cni: "every file under the distribution's CNI directories (kubeadm: /etc/cni/net.d, /var/lib/cni/networks)",
  'etcd-data-dir': "etcd's data directory, from its --data-dir",
  'admin-kubeconfig': "the distribution's administrator kubeconfigs (kubeadm: /etc/kubernetes/admin.conf, super-admin.conf)",
  'scheduler-kubeconfig': "the kubeconfig kube-scheduler's --kubeconfig or --config names, else the distribution's (kubeadm: /etc/kubernetes/scheduler.conf)",
  'controller-manager-kubeconfig': "the kubeconfig kube-controller-manager's --kubeconfig names, else the distribution's (kubeadm: /etc/kubernetes/controller-manager.conf)",
  pki: "every file and directory under the distribution's PKI directories (kubeadm: /etc/kubernetes/pki)",
};

/**
 * The files one group of checks judges. `none`: there is nothing of the kind on this node
 * (a worker has no API server pod spec). `unknown`: it could not be told.
 */
export type FileSet =
  | { readonly status: 'found'; readonly locatedBy: string; readonly files: readonly FileFacts[] }
  | { readonly status: 'none'; readonly reason: string }
  | { readonly status: 'unknown'; readonly reason: string };

/** The k3s server as far as it can be seen (never its token or datastore credentials). */
export interface K3sFacts {
  readonly pid: number;
  /** k3s rewrites its process title: its own command-line flags are then not visible. */
  readonly argsHidden: boolean;
  /** Configuration files read, in the order k3s merges them. */
  readonly configFiles: readonly { readonly path: string; readonly error: FactError | null }[];
  /** Components switched off (`disable-apiserver`, ...). */
  readonly disabled: readonly string[];
  readonly clusterInit: boolean;
  /** `datastore-endpoint` is set (its value, which may hold credentials, is not kept). */
  readonly externalDatastore: boolean;
  readonly secretsEncryption: boolean;
}

export interface ControlPlaneFacts {
  readonly distribution: DistributionName;
  /** Why this distribution was chosen. */
  readonly distributionEvidence: string;
  /** Set when the process table could not be listed. */
  readonly processTableError: FactError | null;
  readonly components: { readonly [C in ControlPlaneComponent]: ComponentFacts | null };
  /** Why a component is null. */
  readonly absence: { readonly [C in ControlPlaneComponent]: ComponentAbsence | null };
  readonly manifests: readonly ManifestFact[];
  readonly apiServer: ApiServerDocs;
  readonly fileSets: { readonly [S in FileSetName]: FileSet };
  readonly k3s: K3sFacts | null;
  /** Host paths read or stat'ed for the control plane, for a watcher. */
  readonly filesRead: readonly string[];
  readonly errors: readonly FactError[];
}

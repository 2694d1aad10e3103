// What a distribution layout says, as plain data: where each component's files, systemd units,
// flag files and drop-ins live, which processes run it (its own, or a distribution process
// that embeds it), the signs that identify the distribution on a node, and the name of the
// benchmark that judges it. The facts code reads paths from the chosen layout and never asks
// which distribution it is; adding one is a file here, a fixture and a benchmark mapping.

export type DistributionName =
  | 'kubeadm'
  | 'eks-al2'
  | 'eks-al2023'
  | 'eks-bottlerocket'
  | 'gke-cos'
  | 'gke-ubuntu'
  | 'aks-ubuntu'
  | 'aks-azurelinux'
  | 'k3s'
  | 'rke2'
  | 'microk8s';

/**
 * A process by its command line: argv[0]'s base name and, when given, its first argument
 * (`k3s agent`). A process that rewrote its title into argv[0] (`/usr/local/bin/k3s agent`
 * followed by empty arguments, as k3s and rke2 do) matches too.
 */
export interface ProcessShape {
  readonly command: string;
  readonly subcommand?: string;
}

/**
 * A component that runs inside another process (k3s's kubelet inside `k3s agent`, microk8s's
 * inside `kubelite`): where its flags come from, in the order they apply (a later one wins).
 */
export interface Embedding {
  /** The processes that embed it. */
  readonly processes: readonly ProcessShape[];
  /** Flags the distribution passes itself, as its documentation gives them. */
  readonly implicitArgs: readonly string[];
  /**
   * The embedding process's option that passes one flag through (`kubelet-arg`), read from the
   * distribution's configuration files (Layout.serverConfig) and then its command line.
   */
  readonly argOption: string | null;
  /** The embedding process's option naming a file of flags, one a line (`kubelet-args-file`). */
  readonly argsFileOption: string | null;
  /** That file when the option is not seen (the distribution's default). */
  readonly argsFile: string | null;
  /**
   * Boolean options of the embedding process (command line or configuration files) that turn
   * the component off (`disable-agent`, `disable-kube-proxy`): when one is true it does not run.
   */
  readonly disableOptions: readonly string[];
}

/** The control-plane components a distribution's process can run inside it. */
export type EmbeddedComponentName = 'kube-apiserver' | 'kube-controller-manager' | 'kube-scheduler' | 'etcd';

/**
 * A control plane that runs inside one distribution process (`k3s server`): which process, and
 * the options of it that pass flags to each component or switch one off. Everything else the
 * process sets for its components itself, out of sight.
 */
export interface EmbeddedControlPlane {
  readonly processes: readonly ProcessShape[];
  /** The option that passes one flag to a component (`kube-apiserver-arg`). */
  readonly argOptions: { readonly [C in EmbeddedComponentName]: string };
  /** The option that switches a component off (`disable-apiserver`). */
  readonly disableOptions: { readonly [C in EmbeddedComponentName]: string };
}

/** Where one node component (the kubelet, kube-proxy) keeps its files on a distribution. */
export interface ComponentLayout {
  /** Its own process is not there: it runs inside this one. Null: a process of its own. */
  readonly embeddedIn: Embedding | null;
  /** systemd units that start it (or the process embedding it), in the order looked for. */
  readonly units: readonly string[];
  /** Environment files its unit reads flags from (/etc/default/kubelet, /etc/sysconfig/kubelet). */
  readonly flagsFiles: readonly string[];
  /** The variable or option users add flags with (KUBELET_EXTRA_ARGS, --kubelet-arg); '' when none. */
  readonly extraArgs: string;
  /** Its configuration files as the distribution writes them. */
  readonly configFiles: readonly string[];
  /** Its configuration drop-in directories (--config-dir). */
  readonly configDirs: readonly string[];
  /** Its kubeconfigs (and bootstrap kubeconfigs). */
  readonly kubeconfigs: readonly string[];
}

/** A node label (optionally with its value) that names the distribution. */
export interface LabelSign {
  readonly key: string;
  readonly value?: string;
}

/** /etc/os-release's ID (and VERSION_ID's major part when given). */
export interface OsSign {
  readonly id: string;
  readonly version?: string;
}

export interface Detection {
  /** Paths whose existence is evidence (any one of them). */
  readonly paths: readonly string[];
  /** Processes whose presence is evidence. */
  readonly processes: readonly ProcessShape[];
  /** Node labels that are evidence (given by the collector). */
  readonly labels: readonly LabelSign[];
  /**
   * The operating systems the layout is for; empty: any. Not evidence on its own: it tells the
   * images of one platform apart (EKS on Amazon Linux 2, 2023 or Bottlerocket).
   */
  readonly os: readonly OsSign[];
  /**
   * Its signs are shared by other layouts (kubeadm's manifests directory is on GKE nodes too):
   * it is chosen on them only when no other layout's signs are seen.
   */
  readonly shared?: boolean;
}

export interface Layout {
  readonly name: DistributionName;
  /** Who builds it and on which image, in a few words. */
  readonly title: string;
  /** The benchmark that judges its nodes, as kube-bench names it (e.g. `cis-eks-1.7`). */
  readonly benchmark: string;
  readonly kubelet: ComponentLayout;
  readonly kubeProxy: ComponentLayout;
  /** Values of `${NAME}` in an args file (microk8s's `${SNAP_DATA}`). */
  readonly argsFileVariables: { readonly [name: string]: string };
  readonly detect: Detection;
  /** Directories of static pod manifests (after the kubelet's own staticPodPath). */
  readonly manifestDirs: readonly string[];
  /** Certificate and key directories, walked recursively for CIS 1.1.19-1.1.21. */
  readonly pkiDirs: readonly string[];
  /** Administrator kubeconfigs; each one that exists is judged (CIS 1.1.13/1.1.14). */
  readonly adminKubeconfigs: readonly string[];
  /** The scheduler's kubeconfig when its own flags do not name one. */
  readonly schedulerKubeconfigs: readonly string[];
  /** The controller manager's kubeconfig when its own flags do not name one. */
  readonly controllerManagerKubeconfigs: readonly string[];
  /** CNI configuration and state directories (CIS 1.1.9/1.1.10), walked recursively. */
  readonly cniDirs: readonly string[];
  /** The distribution's own configuration file and its drop-in directory, if any. */
  readonly serverConfig: { readonly file: string; readonly dropinDir: string } | null;
  /** An embedded etcd's configuration file, written by the distribution (k3s). */
  readonly embeddedEtcdConfig: string | null;
  /** A control plane run inside a distribution process; null when its components are processes or static pods. */
  readonly embeddedControlPlane: EmbeddedControlPlane | null;
}

/** A managed platform's node: no control plane of its own. */
export const NO_CONTROL_PLANE = {
  pkiDirs: [],
  adminKubeconfigs: [],
  schedulerKubeconfigs: [],
  controllerManagerKubeconfigs: [],
  serverConfig: null,
  embeddedEtcdConfig: null,
  embeddedControlPlane: null,
} as const;

/** A managed platform's worker: no control plane, static pods and CNI configuration where kubeadm keeps them, no args files. */
export const MANAGED_WORKER = {
  ...NO_CONTROL_PLANE,
  manifestDirs: ['/etc/kubernetes/manifests'],
  cniDirs: ['/etc/cni/net.d'],
  argsFileVariables: {},
} as const;

/** The kubelet and kube-proxy as separate processes, with no systemd unit for kube-proxy (a pod). */
export const OWN_PROCESS = { embeddedIn: null, flagsFiles: [], extraArgs: '', configDirs: [] } as const;

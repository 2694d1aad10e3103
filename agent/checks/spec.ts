// What a check IS (immutable data), apart from what it FOUND (proto/domain.ts Result).
import type { Category, Result, Severity } from '../../proto/domain.js';
import type { ControlPlaneComponent, FileSetName, HostFacts } from '../facts/index.js';
import type { KubeletSetting, ValueSpec } from '../facts/component-settings.js';
import type { Test } from './operators.js';

export type { KubeletSetting, SettingType, ValueSpec } from '../facts/component-settings.js';

export interface CheckMeta {
  /** Stable id, e.g. `cis-4.2.1`. */
  readonly id: string;
  /**
   * The benchmark controls this check decides, each `<benchmark>:<control>` (e.g.
   * `cis-1.12:4.2.1`; proto/benchmark-refs.ts); empty for a check no benchmark names. One check
   * per problem: when two benchmarks (or a managed distribution's benchmark) name the same
   * problem, it is one check with both references, never two checks. A check may leave a
   * reference off the results it does not apply to (cert-key-file names cis-1.12:1.1.21 only on
   * the key files of the PKI directories).
   */
  readonly references: readonly string[];
  readonly title: string;
  readonly category: Category;
  /** Default severity; a result may raise it. */
  readonly severity: Severity;
  /** Automated (true: a failure is `fail`) or manual (false: a failure is `warn`). */
  readonly scored: boolean;
  readonly remediation: string;
  /**
   * What the agent also probes on the wire for this problem (agent/checks/wire-evidence.ts): the
   * kubelet's API or read-only port, etcd's client URLs. One result still: an exposure the probe
   * confirms fails it and raises its severity; otherwise the probe's words join its reason.
   */
  readonly wire?: WireEvidence;
}

/** The wire probes a check can add to its setting (agent/checks/wire-evidence.ts). */
export type WireEvidence = 'kubelet-anonymous-api' | 'kubelet-read-only-port' | 'etcd-client-cert-auth' | 'etcd-plaintext';

export interface KubeletSettingCheck extends CheckMeta {
  readonly kind: 'kubelet-setting';
  readonly setting: KubeletSetting;
  readonly test: Test;
  /**
   * What the setting acts on, when a kubelet may not have it. `client-certificate`: the
   * certificate the kubelet authenticates to the API server with; a kubelet whose kubeconfig
   * authenticates otherwise (a bearer token, an exec or auth-provider plugin) has none, and
   * the check skips, saying how it authenticates.
   */
  readonly actsOn?: 'client-certificate';
}

/**
 * Where a file check finds its file: the facts phase has resolved and stat'ed it, and
 * agent/checks/dependencies.ts knows from the locator exactly which host paths it can be.
 */
export type FileLocator = KubeletFlagFile | NodeFileLocator;

/** A file named by one path-valued kubelet flag (and, with `withDropins`, the --config-dir drop-ins). */
export interface KubeletFlagFile {
  readonly from: 'kubelet-flag';
  /** Path-valued kubelet flag, e.g. `kubeconfig`. */
  readonly flag: string;
  /** Why the check does not apply when the flag is not set (and, with `withDropins`, no drop-in is read). */
  readonly unsetReason: string;
  /**
   * Also every drop-in of the kubelet's --config-dir (`*.conf`, which the kubelet reads over its
   * --config file): one result per file, each drop-in its own subject.
   */
  readonly withDropins?: boolean;
}

/**
 * The worker's files that no single kubelet flag names: the kubelet's systemd unit and its
 * drop-ins (one result per file), kube-proxy's kubeconfig (inside kube-proxy's own root) and
 * the client CA the kubelet uses (--client-ca-file or its config file's clientCAFile).
 */
export type NodeFileLocator =
  | { readonly from: 'kubelet-unit' }
  | { readonly from: 'kube-proxy-kubeconfig' }
  | {
    readonly from: 'kubelet-client-ca';
    /**
     * A control-plane file check that asks the same of the same file when the file is in its
     * file set (the kubelet's client CA is the PKI's ca.crt on kubeadm): there it is one
     * problem, judged by that check, whose result carries this check's references (its spec's
     * `sharedWith` says so); this check then skips the file, saying where it is judged.
     */
    readonly sharedWith?: { readonly check: string; readonly fileSet: FileSetName; readonly nameSuffix?: string };
  };

export type FileProperty = 'mode' | 'owner';

/** What a file check asks of a file: the property and its test (`mode` at most 644, `owner` root:root). */
export interface FileJudgement {
  readonly property: FileProperty;
  readonly test: Test;
}

export interface FileCheck extends CheckMeta {
  readonly kind: 'file';
  readonly file: FileLocator;
  readonly property: FileProperty;
  readonly test: Test;
}

/** A check that cannot be expressed as data brings its own pure evaluation. */
export interface CustomCheck extends CheckMeta {
  readonly kind: 'custom';
  /** What the check reads, in words: the check reference (docs/checks.md) shows it. */
  readonly reads: string;
  evaluate(facts: HostFacts, now: Date): readonly Result[];
  /**
   * The host paths its results depend on (as named and after links), for the file watcher.
   * Leave it out and the check depends on every path read: re-evaluated on any change.
   */
  dependsOn?(facts: HostFacts): readonly string[];
}

export type CheckSpec = KubeletSettingCheck | FileCheck | CustomCheck | ComponentSettingCheck | ControlPlaneFileCheck;

// Check specs for the control plane (CIS 1, 2, 3.2): immutable data over the operator set.

/** A flag of a control-plane component (for etcd also its ETCD_* variable and config file). */
export interface ComponentSettingCheck extends CheckMeta {
  readonly kind: 'component-setting';
  readonly component: ControlPlaneComponent;
  /** One setting, or several that must all hold (a certificate and its key): one result. */
  readonly settings: readonly ValueSpec[];
  readonly test: Test;
}

/** Mode or owner of every file in one of the control plane's file sets: one result per file. */
export interface ControlPlaneFileCheck extends CheckMeta {
  readonly kind: 'control-plane-file';
  readonly fileSet: FileSetName;
  /** Only entries whose name ends with this (`.crt`); directories are then left out. */
  readonly nameSuffix?: string;
  readonly property: FileProperty;
  readonly test: Test;
  /**
   * Entries whose name ends with `nameSuffix` fail at `severity` instead, for `why` (the owner of
   * a private key can read it: cis-1.1.19 on the PKI's *.key files, whose mode cert-key-file
   * judges).
   */
  readonly raise?: { readonly nameSuffix: string; readonly severity: Severity; readonly why: string };
  /**
   * A node file check that asks the same of one of this set's files (`locate` finds it): on
   * that file this check's result also carries `references`, one result for one problem (the
   * kubelet's client CA is the PKI's ca.crt on kubeadm: CIS 4.1.7 and 1.1.20 ask the same of it).
   */
  readonly sharedWith?: { readonly locate: 'kubelet-client-ca'; readonly check: string; readonly references: readonly string[] };
}

// Check specs for the control plane (CIS 1, 2, 3.2): immutable data over the operator set.
import type { ValueSpec } from '../facts/component-settings.js';
import type { ControlPlaneComponent, FileSetName } from '../facts/index.js';
import type { Severity } from '../../proto/domain.js';
import type { Test } from './operators.js';
import type { CheckMeta, FileProperty } from './spec.js';

export type { ValueSpec } from '../facts/component-settings.js';

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

// The check registry and the public surface of the evaluate phase.
import { KUBELET_CHECKS } from './catalog/kubelet.js';
import { KUBE_PROXY_CHECKS } from './catalog/kube-proxy.js';
import { NODE_EXTRA_CHECKS } from './catalog/node-extras.js';
import { CONTROL_PLANE_EXTRA_CHECKS } from './catalog/control-plane-extras.js';
import { NODE_FILE_CHECKS } from './catalog/node-files.js';
import { CERTIFICATE_CHECKS } from './catalog/certificates.js';
import { CONTROL_PLANE_FILE_CHECKS } from './catalog/control-plane-files.js';
import { API_SERVER_CHECKS } from './catalog/api-server.js';
import { AUDIT_CHECKS, CONTROLLER_MANAGER_CHECKS, ETCD_CHECKS, SCHEDULER_CHECKS } from './catalog/control-plane-components.js';
import { EXPOSURE_CHECKS } from './catalog/exposure.js';
import type { CheckSpec } from './spec.js';

export { evaluate } from './evaluate.js';
export { selectChecks, UnknownCheckError } from './select.js';
export { resolveKubeletSetting } from '../facts/component-settings.js';
export { checkDependencies, dependencyIndex } from './dependencies.js';
export type { Dependencies } from './dependencies.js';
export type { EffectiveSetting, Resolution } from '../facts/component-settings.js';
export type { CheckSpec, CheckMeta, KubeletSettingCheck, FileCheck, CustomCheck, KubeletSetting, ComponentSettingCheck, ControlPlaneFileCheck } from './spec.js';
export type { Test } from './operators.js';

/** Every check, in CIS order. */
export const CATALOG: readonly CheckSpec[] = [
  ...CONTROL_PLANE_FILE_CHECKS, ...API_SERVER_CHECKS, ...CONTROLLER_MANAGER_CHECKS, ...SCHEDULER_CHECKS,
  ...ETCD_CHECKS, ...AUDIT_CHECKS,
  ...NODE_FILE_CHECKS, ...KUBELET_CHECKS, ...KUBE_PROXY_CHECKS,
  // Beyond the benchmark (no CIS number).
  ...NODE_EXTRA_CHECKS,
  ...CONTROL_PLANE_EXTRA_CHECKS,
  ...CERTIFICATE_CHECKS,
  ...EXPOSURE_CHECKS,
];

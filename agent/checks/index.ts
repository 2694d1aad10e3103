// The check registry and the public surface of the evaluate phase.
import { KUBELET_SETTING_CHECKS } from './catalog/kubelet.js';
import { NODE_FILE_CHECKS } from './catalog/node-files.js';
import type { CheckSpec } from './spec.js';

export { evaluate } from './evaluate.js';
export { selectChecks, UnknownCheckError } from './select.js';
export { resolveKubeletSetting } from './kubelet-settings.js';
export type { EffectiveSetting, Resolution } from './kubelet-settings.js';
export type { CheckSpec, CheckMeta, KubeletSettingCheck, FileCheck, CustomCheck, KubeletSetting } from './spec.js';
export type { Test } from './operators.js';

/** Every check, in CIS order. */
export const CATALOG: readonly CheckSpec[] = [...NODE_FILE_CHECKS, ...KUBELET_SETTING_CHECKS];

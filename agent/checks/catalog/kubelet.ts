// CIS 4.2: kubelet settings. Each record names the flag, the KubeletConfiguration path, both
// built-in defaults (command line / config file), the test and our default severity.
import type { KubeletSettingCheck } from '../spec.js';

export const KUBELET_SETTING_CHECKS: readonly KubeletSettingCheck[] = [
  {
    kind: 'kubelet-setting',
    id: 'cis-4.2.1',
    cis: '4.2.1',
    title: 'Kubelet refuses anonymous requests',
    category: 'kubelet',
    severity: 'high',
    scored: true,
    setting: {
      flag: 'anonymous-auth',
      configPath: ['authentication', 'anonymous', 'enabled'],
      type: 'bool',
      flagDefault: 'true',
      configDefault: 'false',
    },
    test: { op: 'eq', value: 'false' },
    remediation:
      'Turn anonymous access off: set authentication.anonymous.enabled to false in the kubelet config file ' +
      '(or pass --anonymous-auth=false), remove any command-line flag or drop-in that turns it back on, and restart the kubelet.',
  },
  {
    kind: 'kubelet-setting',
    id: 'cis-4.2.2',
    cis: '4.2.2',
    title: 'Kubelet authorization mode is not AlwaysAllow',
    category: 'kubelet',
    severity: 'critical',
    scored: true,
    setting: {
      flag: 'authorization-mode',
      configPath: ['authorization', 'mode'],
      type: 'string',
      flagDefault: 'AlwaysAllow',
      configDefault: 'Webhook',
    },
    test: { op: 'nothave', value: 'AlwaysAllow' },
    remediation:
      'Have the kubelet ask the API server before serving a request: set authorization.mode to Webhook in the kubelet ' +
      'config file (or --authorization-mode=Webhook), drop any AlwaysAllow override, and restart the kubelet.',
  },
  {
    kind: 'kubelet-setting',
    id: 'cis-4.2.4',
    cis: '4.2.4',
    title: 'Kubelet read-only port is disabled',
    category: 'kubelet',
    severity: 'medium',
    scored: false,
    setting: {
      flag: 'read-only-port',
      configPath: ['readOnlyPort'],
      type: 'int',
      flagDefault: '10255',
      configDefault: '0',
    },
    test: { op: 'eq', value: '0' },
    remediation:
      'Close the unauthenticated read-only API: set readOnlyPort to 0 in the kubelet config file (or --read-only-port=0) ' +
      'and restart the kubelet; point anything still scraping port 10255 at the authenticated port instead.',
  },
];

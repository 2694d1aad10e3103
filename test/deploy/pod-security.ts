// The Pod Security Standards (https://kubernetes.io/docs/concepts/security/pod-security-standards/),
// `baseline` and `restricted`, as checks over a pod spec: what the `enforce` label would
// refuse, so the tests can say which rule a pod departs from and why that is documented.
import { allContainers, type Container, type PodSpec, type SecurityContext } from './manifests.js';

export interface Violation {
  /** The control's name in the standard, e.g. `hostNamespaces`, `hostPathVolumes`. */
  readonly control: string;
  /** What departs: a field, a volume's host path, a capability, ... */
  readonly detail: string;
}

/** Capabilities `baseline` allows to be added (the container runtimes' default set). */
export const BASELINE_CAPABILITIES: ReadonlySet<string> = new Set([
  'AUDIT_WRITE', 'CHOWN', 'DAC_OVERRIDE', 'FOWNER', 'FSETID', 'KILL', 'MKNOD', 'NET_BIND_SERVICE',
  'SETFCAP', 'SETGID', 'SETPCAP', 'SETUID', 'SYS_CHROOT',
]);

const SAFE_SYSCTLS: ReadonlySet<string> = new Set([
  'kernel.shm_rmid_forced', 'net.ipv4.ip_local_port_range', 'net.ipv4.ip_unprivileged_port_start',
  'net.ipv4.tcp_syncookies', 'net.ipv4.ping_group_range', 'net.ipv4.ip_local_reserved_ports',
  'net.ipv4.tcp_keepalive_time', 'net.ipv4.tcp_fin_timeout', 'net.ipv4.tcp_keepalive_intvl',
  'net.ipv4.tcp_keepalive_probes',
]);

const SELINUX_TYPES: ReadonlySet<string> = new Set(['', 'container_t', 'container_init_t', 'container_kvm_t', 'container_engine_t']);

const RESTRICTED_VOLUME_SOURCES: ReadonlySet<string> = new Set([
  'configMap', 'csi', 'downwardAPI', 'emptyDir', 'ephemeral', 'persistentVolumeClaim', 'projected', 'secret',
]);

function contexts(pod: PodSpec): Array<{ where: string; sc: SecurityContext | undefined }> {
  return [
    { where: 'pod', sc: pod.securityContext },
    ...allContainers(pod).map((c) => ({ where: `container ${c.name}`, sc: c.securityContext })),
  ];
}

export function baselineViolations(pod: PodSpec, annotations: Record<string, string> = {}): Violation[] {
  const out: Violation[] = [];
  const add = (control: string, detail: string): void => {
    out.push({ control, detail });
  };
  for (const { where, sc } of contexts(pod)) {
    if (sc?.windowsOptions?.hostProcess) add('hostProcess', where);
    if (sc?.seLinuxOptions) {
      if (!SELINUX_TYPES.has(sc.seLinuxOptions.type ?? '')) add('seLinux', `${where}: type ${sc.seLinuxOptions.type}`);
      if (sc.seLinuxOptions.user) add('seLinux', `${where}: user`);
      if (sc.seLinuxOptions.role) add('seLinux', `${where}: role`);
    }
    if (sc?.seccompProfile?.type === 'Unconfined') add('seccomp', `${where}: Unconfined`);
    if (sc?.appArmorProfile?.type === 'Unconfined') add('appArmor', `${where}: Unconfined`);
  }
  for (const ns of ['hostNetwork', 'hostPID', 'hostIPC'] as const) {
    if (pod[ns]) add('hostNamespaces', ns);
  }
  for (const c of allContainers(pod)) {
    const sc = c.securityContext;
    if (sc?.privileged) add('privileged', c.name);
    for (const cap of sc?.capabilities?.add ?? []) {
      if (!BASELINE_CAPABILITIES.has(cap)) add('capabilities', cap);
    }
    if (sc?.procMount && sc.procMount !== 'Default') add('procMount', `${c.name}: ${sc.procMount}`);
    for (const p of c.ports ?? []) {
      if (p.hostPort) add('hostPorts', `${c.name}: ${p.hostPort}`);
    }
  }
  for (const v of pod.volumes ?? []) {
    if (v.hostPath) add('hostPathVolumes', v.hostPath.path);
  }
  for (const s of pod.securityContext?.sysctls ?? []) {
    if (!SAFE_SYSCTLS.has(s.name)) add('sysctls', s.name);
  }
  for (const [key, value] of Object.entries(annotations)) {
    if (key.startsWith('container.apparmor.security.beta.kubernetes.io/') && value !== 'runtime/default' && !value.startsWith('localhost/')) {
      add('appArmor', `${key}: ${value}`);
    }
  }
  return out;
}

export function restrictedViolations(pod: PodSpec, annotations: Record<string, string> = {}): Violation[] {
  const out: Violation[] = baselineViolations(pod, annotations);
  const add = (control: string, detail: string): void => {
    out.push({ control, detail });
  };
  for (const v of pod.volumes ?? []) {
    const sources = Object.keys(v).filter((k) => k !== 'name');
    for (const s of sources) if (!RESTRICTED_VOLUME_SOURCES.has(s)) add('volumeTypes', `${v.name}: ${s}`);
  }
  const podSc = pod.securityContext;
  if (podSc?.runAsUser === 0) add('runAsUser', 'pod');
  for (const c of allContainers(pod)) {
    const sc: SecurityContext | undefined = c.securityContext;
    if (sc?.allowPrivilegeEscalation !== false) add('allowPrivilegeEscalation', c.name);
    const nonRoot = sc?.runAsNonRoot ?? podSc?.runAsNonRoot;
    if (nonRoot !== true) add('runAsNonRoot', c.name);
    if (sc?.runAsUser === 0) add('runAsUser', c.name);
    const seccomp = sc?.seccompProfile?.type ?? podSc?.seccompProfile?.type;
    if (seccomp !== 'RuntimeDefault' && seccomp !== 'Localhost') add('seccomp', `${c.name}: ${seccomp ?? 'unset'}`);
    if (!(sc?.capabilities?.drop ?? []).includes('ALL')) add('capabilities', `${c.name}: does not drop ALL`);
    for (const cap of sc?.capabilities?.add ?? []) {
      if (cap !== 'NET_BIND_SERVICE' && BASELINE_CAPABILITIES.has(cap)) add('capabilities', cap);
    }
  }
  return out;
}

export function containerNamed(pod: PodSpec, name: string): Container {
  const c = allContainers(pod).find((x) => x.name === name);
  if (!c) throw new Error(`no container ${name}`);
  return c;
}

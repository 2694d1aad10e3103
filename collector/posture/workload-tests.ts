// The closed set of tests the workload checks (workload-checks.ts) are written with, each a
// pure function of one pod (and its ServiceAccount) to what in it violates: the container,
// the field and the value. A value is short and stable (a capability, a path, a port, `unset`)
// because the allowlist (workload-defaults.ts) compares it: nodeward's own DaemonSet is
// expected to add these four capabilities and mount these two host paths, and no other.
import type { ContainerFacts, PodFacts, ServiceAccountObj } from './cluster-objects.js';
import type { WorkloadTest } from './workload-checks.js';

export interface Violation {
  /** '' for the pod's own fields. */
  readonly container: string;
  readonly field: string;
  readonly value: string;
}

export interface PodContext {
  /** The pod's ServiceAccount, when the watch holds it. */
  readonly serviceAccount?: ServiceAccountObj;
}

/** The capabilities `restricted` lets a container add. */
const RESTRICTED_ADD = new Set(['NET_BIND_SERVICE']);
const cap = (c: string): string => (c.toUpperCase().startsWith('CAP_') ? c.toUpperCase().slice(4) : c.toUpperCase());

const each = (pod: PodFacts, f: (c: ContainerFacts) => readonly Omit<Violation, 'container'>[]): Violation[] =>
  pod.containers.flatMap((c) => f(c).map((v) => ({ container: c.name, ...v })));

/** The ServiceAccount a pod runs as: admission fills in `default` when the pod names none. */
export const serviceAccountOf = (pod: PodFacts): string => (pod.serviceAccount === '' ? 'default' : pod.serviceAccount);

export function podViolations(test: WorkloadTest, pod: PodFacts, ctx: PodContext): Violation[] {
  switch (test.op) {
    case 'pod-flag':
      return pod[test.field] ? [{ container: '', field: `spec.${test.field}`, value: 'true' }] : [];
    case 'privileged':
      return each(pod, (c) => (c.privileged === true ? [{ field: 'securityContext.privileged', value: 'true' }] : []));
    case 'escalation':
      return each(pod, (c) => (c.allowPrivilegeEscalation === false ? [] : [{ field: 'securityContext.allowPrivilegeEscalation', value: c.allowPrivilegeEscalation === true ? 'true' : 'unset' }]));
    case 'root':
      return each(pod, (c) => {
        const user = c.runAsUser ?? pod.runAsUser;
        const nonRoot = c.runAsNonRoot ?? pod.runAsNonRoot;
        if (user === 0) return [{ field: 'securityContext.runAsUser', value: '0' }];
        if (user === undefined && nonRoot !== true) return [{ field: 'securityContext.runAsNonRoot', value: nonRoot === false ? 'false' : 'unset' }];
        return [];
      });
    case 'net-raw':
      return each(pod, (c) => {
        if (c.privileged === true) return [{ field: 'securityContext.privileged', value: 'true' }];
        const added = c.capAdd.map(cap).find((x) => x === 'NET_RAW' || x === 'ALL');
        if (added) return [{ field: 'securityContext.capabilities.add', value: added }];
        const dropped = c.capDrop.map(cap).some((x) => x === 'NET_RAW' || x === 'ALL');
        return dropped ? [] : [{ field: 'securityContext.capabilities.drop', value: 'without NET_RAW or ALL' }];
      });
    case 'capabilities':
      return each(pod, (c) => {
        const out: Omit<Violation, 'container'>[] = [];
        if (!c.capDrop.map(cap).includes('ALL')) out.push({ field: 'securityContext.capabilities.drop', value: 'without ALL' });
        for (const a of c.capAdd.map(cap)) if (!RESTRICTED_ADD.has(a)) out.push({ field: 'securityContext.capabilities.add', value: a });
        return out;
      });
    case 'host-process': {
      const out: Violation[] = pod.hostProcess === true ? [{ container: '', field: 'spec.securityContext.windowsOptions.hostProcess', value: 'true' }] : [];
      return [...out, ...each(pod, (c) => (c.hostProcess === true ? [{ field: 'securityContext.windowsOptions.hostProcess', value: 'true' }] : []))];
    }
    case 'host-path':
      return pod.hostPaths.map((h) => ({ container: '', field: `spec.volumes[${h.volume}].hostPath.path`, value: h.path }));
    case 'host-port':
      return each(pod, (c) => c.hostPorts.map((p) => ({ field: 'ports[].hostPort', value: String(p) })));
    case 'proc-mount':
      return each(pod, (c) => (c.procMount !== undefined && c.procMount !== 'Default' ? [{ field: 'securityContext.procMount', value: c.procMount }] : []));
    case 'seccomp':
      return each(pod, (c) => {
        const type = c.seccomp ?? pod.seccomp;
        if (type === 'RuntimeDefault' || type === 'Localhost') return [];
        return [{ field: c.seccomp !== undefined ? 'securityContext.seccompProfile.type' : 'spec.securityContext.seccompProfile.type', value: type ?? 'unset' }];
      });
    case 'secret-env':
      return each(pod, (c) => c.secretEnv.map((e) => (e.key === '*'
        ? { field: `envFrom ${e.variable}`, value: `secret ${e.secret} (every key)` }
        : { field: `env ${e.variable}`, value: `secret ${e.secret} key ${e.key}` })));
    case 'default-service-account':
      // A static pod's mirror runs as no ServiceAccount.
      return !pod.mirror && serviceAccountOf(pod) === 'default' ? [{ container: '', field: 'spec.serviceAccountName', value: 'default' }] : [];
    case 'token-automount': {
      if (pod.mirror) return [];
      if (pod.automountToken === false) return [];
      if (pod.automountToken === true) return [{ container: '', field: 'spec.automountServiceAccountToken', value: 'pod:true' }];
      const sa = ctx.serviceAccount?.automountToken;
      if (sa === false) return [];
      return sa === true
        ? [{ container: '', field: `ServiceAccount ${serviceAccountOf(pod)} automountServiceAccountToken`, value: 'serviceaccount:true' }]
        : [{ container: '', field: `automountServiceAccountToken (pod and ServiceAccount ${serviceAccountOf(pod)})`, value: 'unset' }];
    }
    case 'in-namespace':
      return pod.namespace === test.namespace ? [{ container: '', field: 'metadata.namespace', value: test.namespace }] : [];
  }
}

/** `container web: securityContext.privileged=true`, `spec.hostNetwork=true`. */
export const describeViolation = (v: Violation): string => `${v.container === '' ? '' : `container ${v.container}: `}${v.field}=${v.value}`;

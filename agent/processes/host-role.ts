// Which host baseline this node's processes outside containers are judged against:
// `host/control-plane` on a node that runs control-plane components, `host/worker` on any
// other. Control-plane nodes run host binaries a worker never should (etcd, kube-apiserver,
// ...); one cluster-wide `host` baseline would let a worker adopt them.
//
// The rule, over the control-plane facts the checks use (agent/facts/control-plane.ts):
//   control-plane  a static pod manifest on this node runs kube-apiserver,
//                  kube-controller-manager, kube-scheduler or etcd; or one of them (or the k3s
//                  server that embeds them) runs as a host process, outside any container.
//   worker         otherwise. A component in a pod that no static manifest runs (an
//                  application's etcd StatefulSet) does not make a node a control-plane node.
//                  A process table that cannot be read also gives `worker`: taken for a worker,
//                  a control-plane node reports its components as unexpected (loudly); the other
//                  mistake would allow them on a worker silently.
//
// The agent decides it from its first scan's snapshot (hostRoleFromFacts): nothing is collected
// again for it.
//
// Stability: decided once, when the agent starts, and fixed for its lifetime. Manifests stay
// while a static pod restarts, so a component restarting at that moment does not change the
// answer. A node changes role only when it is re-provisioned (kubeadm reset, join
// --control-plane), which replaces its pods, the agent's among them; re-keying a running
// agent's baselines would buy nothing but a window in which neither key is locked. The agent
// setting processes.hostRole pins the role where this rule cannot see it.
import { HOST_ROLES, hostKeyOf, type HostRole } from '../../proto/baseline-key.js';
import { componentOf } from '../facts/components.js';
import { CONTROL_PLANE_COMPONENTS, type ControlPlaneFacts } from '../facts/control-plane-types.js';
import { collectFacts, type HostFacts } from '../facts/index.js';
import { containerFromCgroup } from './cgroup.js';
import { createProcReader } from './proc-reader.js';

export { HOST_ROLES, type HostRole };

/** `auto` detects the role at start; a role pins it. */
export type HostRoleSetting = HostRole | 'auto';

export interface HostRoleDecision {
  readonly role: HostRole;
  /** The baseline key of the node's host processes. */
  readonly key: string;
  /** Why, for the log. */
  readonly evidence: string;
}

const decision = (role: HostRole, evidence: string): HostRoleDecision => ({ role, key: hostKeyOf(role), evidence });

/** The role from the control-plane facts; `isHostProcess(pid)`: the process runs outside any container. Pure. */
export function hostRoleOf(cp: Pick<ControlPlaneFacts, 'components' | 'manifests' | 'processTableError'>, isHostProcess: (pid: number) => boolean): HostRoleDecision {
  const manifest = cp.manifests.find((m) => m.error === null && (CONTROL_PLANE_COMPONENTS as readonly (string | null)[]).includes(m.component));
  if (manifest) return decision('control-plane', `the static pod manifest ${manifest.path} runs ${manifest.component}`);
  for (const name of CONTROL_PLANE_COMPONENTS) {
    const c = cp.components[name];
    if (c === null || c.origin === 'manifest') continue;
    const pid = [c.pid, ...c.otherPids].find((p) => p !== null && isHostProcess(p));
    if (pid != null) return decision('control-plane', `${name} runs as a host process (pid ${pid}${c.origin === 'embedded' ? `, a ${c.embeddedIn ?? ''}` : ''})`);
  }
  if (cp.processTableError !== null) {
    return decision('worker', `no static pod manifest runs a control-plane component, and the process table cannot be read (${cp.processTableError.message})`);
  }
  return decision('worker', 'no static pod manifest runs a control-plane component and none runs as a host process');
}

/** The facts the role is decided from: a scan's snapshot. */
export type HostRoleFacts = Pick<HostFacts, 'controlPlane' | 'procRoot'>;

/**
 * The role from a scan's snapshot: its control-plane facts, and the cgroups of the component
 * processes it found (read from its proc root: is each one outside any container?).
 */
export function hostRoleFromFacts(facts: HostRoleFacts): HostRoleDecision {
  const cp = facts.controlPlane;
  if (cp === undefined) return decision('worker', 'the scan collected no control-plane facts');
  const reader = createProcReader(facts.procRoot);
  return hostRoleOf(cp, (pid) => {
    const r = reader.read(pid);
    // A cgroup that cannot be read (the process is gone) is no evidence of a host process.
    return r !== null && !r.missing.includes('cgroup') && containerFromCgroup(r.cgroup) === null;
  });
}

/** The role of the node under `hostRoot` / `procRoot`, from a collection of the checks' facts (no probe). */
export async function detectHostRole(hostRoot: string, procRoot: string): Promise<HostRoleDecision> {
  return hostRoleFromFacts(await collectFacts({ hostRoot, procRoot }));
}

/** The executable of a control-plane component, judged by its name as the facts judge argv[0]. */
export function isControlPlaneExecutable(exe: string): boolean {
  const c = componentOf([exe])?.component;
  return c !== undefined && (CONTROL_PLANE_COMPONENTS as readonly string[]).includes(c);
}

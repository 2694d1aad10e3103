// What the built manifests grant, in the ledger's terms, and the difference between the two.
import type { ApiGrant, Ledger } from './ledger.js';
import { allContainers, type KubeObject, type Workload } from './manifests.js';

export interface HostPathMount {
  readonly volume: string;
  readonly path: string;
  readonly mountPaths: readonly string[];
  /** Some mount of it is not read-only. */
  readonly writable: boolean;
}

export interface PodPrivileges {
  readonly capabilities: ReadonlySet<string>;
  /** Containers that do not drop ALL. */
  readonly notDroppingAll: readonly string[];
  readonly privileged: readonly string[];
  readonly hostNamespaces: ReadonlySet<string>;
  readonly hostPaths: readonly HostPathMount[];
  /** Container and host ports the pod listens on. */
  readonly ports: ReadonlySet<number>;
}

export function podPrivileges(w: Workload): PodPrivileges {
  const containers = allContainers(w.pod);
  const capabilities = new Set(containers.flatMap((c) => c.securityContext?.capabilities?.add ?? []));
  const notDroppingAll = containers.filter((c) => !(c.securityContext?.capabilities?.drop ?? []).includes('ALL')).map((c) => c.name);
  const privileged = containers.filter((c) => c.securityContext?.privileged === true).map((c) => c.name);
  const hostNamespaces = new Set((['hostPID', 'hostNetwork', 'hostIPC'] as const).filter((k) => w.pod[k] === true));
  const hostPaths: HostPathMount[] = [];
  for (const v of w.pod.volumes ?? []) {
    if (!v.hostPath) continue;
    const mounts = containers.flatMap((c) => (c.volumeMounts ?? []).filter((m) => m.name === v.name));
    hostPaths.push({
      volume: v.name,
      path: v.hostPath.path,
      mountPaths: mounts.map((m) => m.mountPath),
      writable: mounts.some((m) => m.readOnly !== true),
    });
  }
  const ports = new Set(containers.flatMap((c) => (c.ports ?? []).flatMap((p) => [p.containerPort, ...(p.hostPort ? [p.hostPort] : [])])));
  return { capabilities, notDroppingAll, privileged, hostNamespaces, hostPaths, ports };
}

function isUnder(path: string, dir: string): boolean {
  return dir === '/' || path === dir || path.startsWith(`${dir.replace(/\/$/, '')}/`);
}

/** Everything the agent's pod holds that the ledger does not explain, and the reverse. */
export function diffPodAgainstLedger(p: PodPrivileges, ledger: Ledger): string[] {
  const problems: string[] = [];
  for (const cap of p.capabilities) if (!ledger.capabilities.has(cap)) problems.push(`capability ${cap} is held but not in the ledger`);
  for (const cap of ledger.capabilities) if (!p.capabilities.has(cap)) problems.push(`capability ${cap} is in the ledger but not granted`);
  for (const c of p.notDroppingAll) problems.push(`container ${c} does not drop ALL capabilities`);
  for (const c of p.privileged) problems.push(`container ${c} is privileged`);
  for (const ns of p.hostNamespaces) if (!ledger.hostNamespaces.has(ns)) problems.push(`${ns} is held but not in the ledger`);
  for (const ns of ledger.hostNamespaces) if (!p.hostNamespaces.has(ns)) problems.push(`${ns} is in the ledger but not set`);
  for (const h of p.hostPaths) {
    const grant = ledger.hostPaths.find((g) => g.path === h.path);
    if (!grant) problems.push(`host path ${h.path} (volume ${h.volume}) is mounted but not in the ledger`);
    else if (h.writable && !grant.writable) problems.push(`host path ${h.path} is mounted writable; the ledger grants it read-only`);
    if (h.mountPaths.length === 0) problems.push(`host path volume ${h.volume} is declared but never mounted`);
  }
  for (const g of ledger.hostPaths) {
    const covering = p.hostPaths.filter((h) => isUnder(g.path, h.path) && h.mountPaths.length > 0);
    if (covering.length === 0) problems.push(`the ledger's ${g.path} is under no mounted host path`);
    else if (g.writable && !covering.some((h) => h.writable)) problems.push(`the ledger's ${g.path} is read-write but mounted read-only`);
  }
  for (const port of p.ports) if (!ledger.inboundPorts.has(port)) problems.push(`port ${port} is opened but the ledger lists no such inbound port`);
  return problems;
}

/** Every (service account, group, resource, namespace, verb) the RBAC objects grant. */
export function rbacGrants(objects: readonly KubeObject[]): { grants: ApiGrant[]; problems: string[] } {
  const problems: string[] = [];
  const grants: ApiGrant[] = [];
  type Rule = { apiGroups?: string[]; resources?: string[]; resourceNames?: string[]; verbs: string[]; nonResourceURLs?: string[] };
  type Binding = { roleRef: { kind: string; name: string }; subjects?: Array<{ kind: string; name: string; namespace?: string }> };
  for (const b of objects) {
    if (b.kind !== 'RoleBinding' && b.kind !== 'ClusterRoleBinding') continue;
    const binding = b as unknown as KubeObject & Binding;
    const bindingNs = b.kind === 'RoleBinding' ? (b.metadata.namespace ?? 'default') : '';
    const role = objects.find((r) => r.kind === binding.roleRef.kind && r.metadata.name === binding.roleRef.name &&
      (r.kind === 'ClusterRole' || r.metadata.namespace === bindingNs)) as (KubeObject & { rules?: Rule[] }) | undefined;
    if (!role) {
      problems.push(`${b.kind} ${b.metadata.name} binds ${binding.roleRef.kind} ${binding.roleRef.name}, which the manifests do not define`);
      continue;
    }
    for (const s of binding.subjects ?? []) {
      if (s.kind !== 'ServiceAccount') {
        problems.push(`${b.kind} ${b.metadata.name} binds a ${s.kind} (${s.name}); only ServiceAccounts are expected`);
        continue;
      }
      const sa = `${s.namespace ?? bindingNs}/${s.name}`;
      for (const rule of role.rules ?? []) {
        if (rule.nonResourceURLs?.length) problems.push(`${role.kind} ${role.metadata.name} grants non-resource URLs`);
        for (const apiGroup of rule.apiGroups ?? []) {
          for (const resource of rule.resources ?? []) {
            grants.push({ serviceAccount: sa, apiGroup, resource, namespace: bindingNs, verbs: rule.verbs, resourceNames: rule.resourceNames ?? [] });
          }
        }
      }
    }
  }
  return { grants, problems };
}

/** One line per verb and object: `secrets/<name>` for a grant limited by name, `secrets` for every one. */
function flatten(grants: readonly ApiGrant[]): Set<string> {
  const out = new Set<string>();
  for (const g of grants) {
    const objects = g.resourceNames.length > 0 ? g.resourceNames.map((n) => `${g.resource}/${n}`) : [g.resource];
    for (const o of objects) {
      for (const verb of g.verbs) out.add(`${g.serviceAccount} ${g.apiGroup || '(core)'} ${o} in ${g.namespace || '(cluster)'}: ${verb}`);
    }
  }
  return out;
}

export function diffRbacAgainstLedger(objects: readonly KubeObject[], ledger: Ledger): string[] {
  const { grants, problems } = rbacGrants(objects);
  const held = flatten(grants);
  const documented = flatten(ledger.apiAccess);
  for (const h of held) if (!documented.has(h)) problems.push(`RBAC grants ${h}, which the ledger does not list`);
  for (const d of documented) if (!held.has(d)) problems.push(`the ledger lists ${d}, which RBAC does not grant`);
  return problems;
}

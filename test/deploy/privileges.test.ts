// The manifests hold no privilege that docs/privileges.md does not explain, and grant every
// one it lists: capabilities, host namespaces, host paths, ports and RBAC.
import test from 'ava';
import { parse as parseYaml } from 'yaml';
import { buildKustomization, clone, findObject, findWorkload, kubectlTest, type KubeObject } from './manifests.js';
import { codeSpans, parseLedger, parseTables, readLedger } from './ledger.js';
import { diffPodAgainstLedger, diffRbacAgainstLedger, podPrivileges } from './privileges.js';

async function agent() {
  return findWorkload(await buildKustomization(), 'DaemonSet', 'nodeward-agent');
}

test('the ledger parses into the privileges it explains', (t) => {
  const ledger = readLedger();
  t.true(ledger.capabilities.has('SYS_PTRACE'));
  t.true(ledger.hostNamespaces.has('hostPID'));
  t.true(ledger.hostNamespaces.has('hostNetwork'));
  t.true(ledger.capabilities.has('NET_ADMIN'));
  t.true(ledger.hostPaths.some((h) => h.path === '/' && !h.writable), 'the host root, read-only');
  t.true(ledger.hostPaths.some((h) => h.path === '/var/lib/nodeward' && h.writable), 'the state directory, read-write');
  t.true(ledger.apiAccess.length > 0);
});

test('the table parser keeps code spans with pipes whole and ignores prose', (t) => {
  const tables = parseTables([
    '# title', 'prose | with a pipe', '', '## Capabilities', '', '| capability | why |', '|---|---|',
    '| `CAP_NET_ADMIN` | the `a|b` case |', '| `CAP_SYS_PTRACE`, `CAP_DAC_READ_SEARCH` | two |', '',
    '## Host namespaces', '| namespace | why |', '|---|---|', '| Network (`hostNetwork: true`) | exec events |',
    '## Host paths', '| path | access |', '|---|---|', '| the kubelet config | read |',
  ].join('\n'));
  t.deepEqual(tables.get('Capabilities')?.map((r) => r['why']), ['the `a|b` case', 'two']);
  t.deepEqual(codeSpans(tables.get('Capabilities')?.[1]?.['capability'] ?? ''), ['CAP_SYS_PTRACE', 'CAP_DAC_READ_SEARCH']);
  const ledger = parseLedger(['## Capabilities', '| capability | why |', '|---|---|', '| `CAP_NET_ADMIN` | x |',
    '## Host namespaces', '| namespace | why |', '|---|---|', '| Network (`hostNetwork: true`) | x |',
    '## Host paths', '| path | access |', '|---|---|', '| the kubelet config | read |'].join('\n'));
  t.deepEqual([...ledger.capabilities], ['NET_ADMIN']);
  t.deepEqual([...ledger.hostNamespaces], ['hostNetwork']);
  t.deepEqual(ledger.hostPaths, [], 'a path described in words grants no mount');
});

kubectlTest('the agent holds exactly the capabilities, host namespaces, host paths and ports the ledger explains', async (t) => {
  t.deepEqual(diffPodAgainstLedger(podPrivileges(await agent()), readLedger()), []);
});

kubectlTest('the collector holds no host access and no capability at all', async (t) => {
  const p = podPrivileges(findWorkload(await buildKustomization(), 'StatefulSet', 'nodeward-collector'));
  t.deepEqual([...p.capabilities], []);
  t.deepEqual(p.notDroppingAll, []);
  t.deepEqual([...p.hostNamespaces], []);
  t.deepEqual(p.hostPaths, []);
  t.deepEqual([...p.ports].sort(), [7443, 7444, 8443]);
});

kubectlTest('RBAC grants exactly what the ledger lists, to ServiceAccounts only', async (t) => {
  t.deepEqual(diffRbacAgainstLedger(await buildKustomization(), readLedger()), []);
});

kubectlTest('a privilege the ledger does not explain is reported', async (t) => {
  const ledger = readLedger();
  const w = clone(await agent());
  const c = w.pod.containers[0]!;
  (c.securityContext!.capabilities!.add as string[]).push('SYS_ADMIN');
  (w.pod as { hostIPC?: boolean }).hostIPC = true;
  w.pod.volumes!.push({ name: 'runtime', hostPath: { path: '/run/containerd/containerd.sock' } });
  c.volumeMounts!.push({ name: 'runtime', mountPath: '/run/containerd/containerd.sock' });
  (c.volumeMounts!.find((m) => m.name === 'host-root') as { readOnly?: boolean }).readOnly = false;
  (c as { ports?: unknown[] }).ports = [{ containerPort: 9090 }];
  const problems = diffPodAgainstLedger(podPrivileges(w), ledger);
  t.log(problems.join('\n'));
  for (const expected of [
    'capability SYS_ADMIN is held but not in the ledger',
    'hostIPC is held but not in the ledger',
    'host path /run/containerd/containerd.sock (volume runtime) is mounted but not in the ledger',
    'host path / is mounted writable; the ledger grants it read-only',
    'port 9090 is opened but the ledger lists no such inbound port',
  ]) {
    t.true(problems.includes(expected), expected);
  }
});

kubectlTest('a ledger privilege the manifests do not grant is reported too', async (t) => {
  const ledger = readLedger();
  const w = clone(await agent());
  const c = w.pod.containers[0]!;
  c.securityContext!.capabilities!.add!.splice(0);
  (w.pod as { hostPID?: boolean }).hostPID = false;
  (w.pod as { hostNetwork?: boolean }).hostNetwork = false;
  (c.volumeMounts!.find((m) => m.name === 'state') as { readOnly?: boolean }).readOnly = true;
  const problems = diffPodAgainstLedger(podPrivileges(w), ledger);
  t.log(problems.join('\n'));
  t.true(problems.includes('capability SYS_PTRACE is in the ledger but not granted'));
  t.true(problems.includes('hostPID is in the ledger but not set'));
  t.true(problems.includes('capability NET_ADMIN is in the ledger but not granted'));
  t.true(problems.includes('hostNetwork is in the ledger but not set'));
  t.true(problems.includes("the ledger's /var/lib/nodeward is read-write but mounted read-only"));
});

kubectlTest('an RBAC verb, a foreign role or a group subject the ledger does not explain is reported', async (t) => {
  const objects = clone(await buildKustomization()) as KubeObject[];
  const role = findObject(objects, 'Role', 'nodeward-collector-agent-pods') as unknown as { rules: Array<{ verbs: string[] }> };
  role.rules[0]!.verbs.push('list', 'watch');
  objects.push(parseYaml(`
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: extra}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: system:auth-delegator}
subjects: [{kind: ServiceAccount, name: nodeward-agent, namespace: nodeward-agent}]
`) as KubeObject, parseYaml(`
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: group}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: nodeward-collector-tokenreview}
subjects: [{kind: Group, name: system:serviceaccounts}]
`) as KubeObject);
  const problems = diffRbacAgainstLedger(objects, readLedger());
  t.log(problems.join('\n'));
  t.true(problems.includes('RBAC grants nodeward-collector/nodeward-collector (core) pods in nodeward-agent: list, which the ledger does not list'));
  t.true(problems.includes('RBAC grants nodeward-collector/nodeward-collector (core) pods in nodeward-agent: watch, which the ledger does not list'));
  t.true(problems.some((p) => p.includes('system:auth-delegator, which the manifests do not define')));
  t.true(problems.some((p) => p.includes('binds a Group (system:serviceaccounts)')));
});

kubectlTest('a Secret or ConfigMap grant widened beyond its names, or given create, is reported', async (t) => {
  const objects = clone(await buildKustomization()) as KubeObject[];
  const pki = findObject(objects, 'Role', 'nodeward-collector-pki') as unknown as { rules: Array<{ resourceNames?: string[]; verbs: string[] }> };
  delete pki.rules[0]!.resourceNames;
  const ca = findObject(objects, 'Role', 'nodeward-collector-ca-publisher') as unknown as { rules: Array<{ verbs: string[] }> };
  ca.rules[0]!.verbs.push('create');
  const problems = diffRbacAgainstLedger(objects, readLedger());
  t.log(problems.join('\n'));
  t.true(problems.includes('RBAC grants nodeward-collector/nodeward-collector (core) secrets in nodeward-collector: get, which the ledger does not list'), 'every Secret of the namespace');
  t.true(problems.includes('the ledger lists nodeward-collector/nodeward-collector (core) secrets/nodeward-pki in nodeward-collector: get, which RBAC does not grant'));
  t.true(problems.includes('RBAC grants nodeward-collector/nodeward-collector (core) configmaps/nodeward-ca in nodeward-agent: create, which the ledger does not list'));
});

kubectlTest("the agent's config reads where the manifests mount: hostRoot, procRoot and stateDir", async (t) => {
  const objects = await buildKustomization();
  const w = findWorkload(objects, 'DaemonSet', 'nodeward-agent');
  const cm = objects.find((o) => o.kind === 'ConfigMap' && o.metadata.name.startsWith('nodeward-agent-config-')) as KubeObject & { data: Record<string, string> };
  const config = parseYaml(cm.data['agent.yaml'] ?? '') as { hostRoot: string; procRoot: string; stateDir: string };
  const p = podPrivileges(w);
  t.deepEqual(p.hostPaths.find((h) => h.path === '/')?.mountPaths, [config.hostRoot], 'hostRoot is the host / mount');
  t.deepEqual(p.hostPaths.find((h) => h.path === '/var/lib/nodeward')?.mountPaths, [config.stateDir], 'stateDir is the state mount');
  // procRoot /proc shows the host's processes only in the host PID namespace (ledger: "Host namespaces").
  t.is(config.procRoot, '/proc');
  t.true(p.hostNamespaces.has('hostPID'));
});

// Policy on the built objects: Pod Security levels, images, resources, mounts, and the
// wiring between objects (names, ports, selectors, configs) that a typo would break.
import test from 'ava';
import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { Value } from '@sinclair/typebox/value';
import { AgentConfigSchema } from '../../agent/config.js';
import { CollectorConfigSchema } from '../../collector/config.js';
import {
  allContainers, buildKustomization, clone, findObject, findWorkload, kubectlTest, REPO_ROOT, workloads, type KubeObject, type PodSpec,
} from './manifests.js';
import { baselineViolations, restrictedViolations, type Violation } from './pod-security.js';
import { readLedger } from './ledger.js';

const show = (vs: readonly Violation[]): string[] => vs.map((v) => `${v.control}: ${v.detail}`).sort();

function namespaceLabels(objects: readonly KubeObject[], name: string): Record<string, string> {
  return findObject(objects, 'Namespace', name).metadata.labels ?? {};
}

kubectlTest('each namespace enforces its Pod Security level: collector restricted, agent privileged warning at baseline', async (t) => {
  const objects = await buildKustomization();
  const collector = namespaceLabels(objects, 'nodeward-collector');
  for (const mode of ['enforce', 'warn', 'audit']) t.is(collector[`pod-security.kubernetes.io/${mode}`], 'restricted');
  const agent = namespaceLabels(objects, 'nodeward-agent');
  t.is(agent['pod-security.kubernetes.io/enforce'], 'privileged');
  t.is(agent['pod-security.kubernetes.io/warn'], 'baseline');
  t.is(agent['pod-security.kubernetes.io/audit'], 'baseline');
  // Every namespaced object lives in one of the two.
  for (const o of objects) {
    if (o.metadata.namespace !== undefined) t.true(['nodeward-agent', 'nodeward-collector'].includes(o.metadata.namespace), `${o.kind} ${o.metadata.name}`);
  }
});

kubectlTest('the collector meets the restricted Pod Security Standard', async (t) => {
  const w = findWorkload(await buildKustomization(), 'StatefulSet', 'nodeward-collector');
  t.deepEqual(show(restrictedViolations(w.pod)), []);
});

kubectlTest("the agent's only departures from baseline are the ledger's host access", async (t) => {
  const ledger = readLedger();
  const w = findWorkload(await buildKustomization(), 'DaemonSet', 'nodeward-agent');
  const departures = baselineViolations(w.pod);
  const unexplained = departures.filter((v) =>
    !(v.control === 'hostNamespaces' && ledger.hostNamespaces.has(v.detail)) &&
    !(v.control === 'capabilities' && ledger.capabilities.has(v.detail)) &&
    !(v.control === 'hostPathVolumes' && ledger.hostPaths.some((h) => h.path === v.detail)));
  t.deepEqual(show(unexplained), []);
  // And the departures are really there: the standard's check is not vacuous.
  t.deepEqual(show(departures), [
    'capabilities: BPF', 'capabilities: NET_ADMIN', 'capabilities: PERFMON', 'capabilities: SYS_PTRACE', 'hostNamespaces: hostNetwork', 'hostNamespaces: hostPID',
    'hostPathVolumes: /', 'hostPathVolumes: /var/lib/nodeward',
  ]);
});

test('the Pod Security checks find what each level forbids', (t) => {
  const bad: PodSpec = {
    hostNetwork: true,
    hostIPC: true,
    securityContext: { seccompProfile: { type: 'Unconfined' }, sysctls: [{ name: 'kernel.msgmax', value: '1' }, { name: 'net.ipv4.tcp_syncookies', value: '1' }] },
    containers: [{
      name: 'c',
      ports: [{ containerPort: 80, hostPort: 80 }],
      securityContext: {
        privileged: true, procMount: 'Unmasked', runAsUser: 0, capabilities: { add: ['SYS_ADMIN', 'CHOWN'] },
        appArmorProfile: { type: 'Unconfined' }, seLinuxOptions: { type: 'spc_t' },
      },
    }],
    volumes: [{ name: 'h', hostPath: { path: '/etc' } }, { name: 'n', nfs: { server: 'x', path: '/' } }],
  };
  t.deepEqual(show(baselineViolations(bad)), [
    'appArmor: container c: Unconfined', 'capabilities: SYS_ADMIN', 'hostNamespaces: hostIPC', 'hostNamespaces: hostNetwork',
    'hostPathVolumes: /etc', 'hostPorts: c: 80', 'privileged: c', 'procMount: c: Unmasked', 'seLinux: container c: type spc_t',
    'seccomp: pod: Unconfined', 'sysctls: kernel.msgmax',
  ]);
  const restrictedOnly = show(restrictedViolations(bad)).filter((v) => !show(baselineViolations(bad)).includes(v));
  t.deepEqual(restrictedOnly, [
    'allowPrivilegeEscalation: c', 'capabilities: CHOWN', 'capabilities: c: does not drop ALL', 'runAsNonRoot: c', 'runAsUser: c',
    'seccomp: c: Unconfined', 'volumeTypes: h: hostPath', 'volumeTypes: n: nfs',
  ]);
  // A container's own setting overrides the pod's.
  const override: PodSpec = {
    securityContext: { runAsNonRoot: true, seccompProfile: { type: 'RuntimeDefault' } },
    containers: [{ name: 'c', securityContext: { runAsNonRoot: false, allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] } } }],
  };
  t.deepEqual(show(restrictedViolations(override)), ['runAsNonRoot: c']);
});

kubectlTest('no image is unpinned: every one has a version tag or a digest, never latest', async (t) => {
  const objects = await buildKustomization();
  let count = 0;
  for (const w of workloads(objects)) {
    for (const c of allContainers(w.pod)) {
      count++;
      const image = c.image ?? '';
      const digest = /@sha256:[0-9a-f]{64}$/.test(image);
      const tag = /:([\w][\w.-]{0,127})$/.exec(image.replace(/@sha256:.*$/, ''))?.[1];
      t.true(digest || (tag !== undefined && tag !== 'latest'), `${w.object.metadata.name}/${c.name}: ${image}`);
    }
  }
  t.is(count, 2);
  // The tag is the version in package.json, the one the images are built from.
  const { version } = JSON.parse(readFileSync(`${REPO_ROOT}package.json`, 'utf8')) as { version: string };
  for (const w of workloads(objects)) t.true(w.pod.containers.every((c) => c.image?.endsWith(`:${version}`)), w.object.metadata.name);
  // Named without a registry host or a namespace: a name like `nodeward/agent` is someone's on
  // Docker Hub, and whoever registers it would ship code to every node. A bare name fails to
  // pull from a public registry; the kustomization's `images:` points it elsewhere.
  const images = workloads(objects).flatMap((w) => allContainers(w.pod).map((c) => `${w.object.metadata.name}=${c.image ?? ''}`)).sort();
  t.deepEqual(images, [`nodeward-agent=nodeward-agent:${version}`, `nodeward-collector=nodeward-collector:${version}`]);
});

kubectlTest('every container has CPU and memory requests and limits, requests within limits', async (t) => {
  const toNumber = (q: string): number => {
    const m = /^(\d+(?:\.\d+)?)(m|Ki|Mi|Gi)?$/.exec(q);
    if (!m) throw new Error(`unexpected quantity ${q}`);
    const scale = { m: 1e-3, Ki: 2 ** 10, Mi: 2 ** 20, Gi: 2 ** 30 }[m[2] as 'm' | 'Ki' | 'Mi' | 'Gi'] ?? 1;
    return Number(m[1]) * scale;
  };
  for (const w of workloads(await buildKustomization())) {
    for (const c of allContainers(w.pod)) {
      for (const r of ['cpu', 'memory']) {
        const request = c.resources?.requests?.[r];
        const limit = c.resources?.limits?.[r];
        t.truthy(request, `${c.name}: requests.${r}`);
        t.truthy(limit, `${c.name}: limits.${r}`);
        if (request && limit) t.true(toNumber(request) <= toNumber(limit), `${c.name}: ${r} ${request} <= ${limit}`);
      }
    }
  }
});

kubectlTest("the agent's mounts are all read-only except its state volume; both root filesystems are read-only", async (t) => {
  const objects = await buildKustomization();
  const agent = findWorkload(objects, 'DaemonSet', 'nodeward-agent');
  const writable = allContainers(agent.pod).flatMap((c) => (c.volumeMounts ?? []).filter((m) => m.readOnly !== true).map((m) => m.name));
  t.deepEqual(writable, ['state']);
  t.deepEqual(agent.pod.volumes?.find((v) => v.name === 'state')?.hostPath?.path, '/var/lib/nodeward');
  t.is(allContainers(agent.pod)[0]?.volumeMounts?.find((m) => m.name === 'host-root')?.recursiveReadOnly, 'IfPossible');
  for (const w of workloads(objects)) {
    for (const c of allContainers(w.pod)) {
      t.is(c.securityContext?.readOnlyRootFilesystem, true, `${c.name}: readOnlyRootFilesystem`);
      t.is(c.securityContext?.allowPrivilegeEscalation, false, `${c.name}: allowPrivilegeEscalation`);
      t.is(c.securityContext?.seccompProfile?.type ?? w.pod.securityContext?.seccompProfile?.type, 'RuntimeDefault', `${c.name}: seccomp`);
    }
  }
  // The check itself: a second writable mount is caught.
  const changed = clone(agent);
  (changed.pod.containers[0]!.volumeMounts!.find((m) => m.name === 'config') as { readOnly?: boolean }).readOnly = false;
  t.deepEqual(changed.pod.containers[0]!.volumeMounts!.filter((m) => m.readOnly !== true).map((m) => m.name).sort(), ['config', 'state']);
});

kubectlTest('the agent runs on every node: control-plane tolerations, its priority class, its node name from the downward API', async (t) => {
  const objects = await buildKustomization();
  const { pod } = findWorkload(objects, 'DaemonSet', 'nodeward-agent');
  const tolerated = new Set((pod.tolerations ?? []).map((x) => `${x.key}:${x.effect}`));
  t.true(tolerated.has('node-role.kubernetes.io/control-plane:NoSchedule'));
  const pc = findObject(objects, 'PriorityClass', pod.priorityClassName ?? '') as KubeObject & { value: number };
  t.true(pc.value > 0 && pc.value < 2_000_000_000, 'above workloads, below the system classes');
  const env = pod.containers[0]?.env?.find((e) => e.name === 'NODE_NAME');
  t.is(env?.valueFrom?.fieldRef?.fieldPath, 'spec.nodeName');
});

kubectlTest('API tokens are mounted only where needed; the agent has only its collector-audience token', async (t) => {
  const objects = await buildKustomization();
  for (const sa of objects.filter((o) => o.kind === 'ServiceAccount')) t.is((sa as { automountServiceAccountToken?: boolean }).automountServiceAccountToken, false, sa.metadata.name);
  const agent = findWorkload(objects, 'DaemonSet', 'nodeward-agent');
  t.is(agent.pod.automountServiceAccountToken, false);
  const projected = agent.pod.volumes?.find((v) => v.projected) as { projected: { sources: Array<{ serviceAccountToken?: { audience?: string; expirationSeconds?: number } }> } } | undefined;
  const token = projected?.projected.sources[0]?.serviceAccountToken;
  t.is(token?.audience, 'nodeward-collector');
  t.true((token?.expirationSeconds ?? Infinity) <= 3600);
  // The collector checks that audience: the two configs agree.
  const collectorConfig = configOf(objects, 'nodeward-collector-config-', 'collector.yaml') as { enroll: { audience: string } };
  t.is<string | undefined, string | undefined>(collectorConfig.enroll.audience, token?.audience);
  const collector = findWorkload(objects, 'StatefulSet', 'nodeward-collector');
  t.is(collector.pod.automountServiceAccountToken, true, 'the collector calls the TokenReview API');
});

function configOf(objects: readonly KubeObject[], prefix: string, key: string): unknown {
  const cm = objects.find((o) => o.kind === 'ConfigMap' && o.metadata.name.startsWith(prefix)) as (KubeObject & { data?: Record<string, string> }) | undefined;
  const text = cm?.data?.[key];
  if (text === undefined) throw new Error(`no ${key} in a ConfigMap named ${prefix}*`);
  return parseYaml(text) as unknown;
}

kubectlTest('the ConfigMaps hold configs the programs accept, naming files inside their mounts', async (t) => {
  const objects = await buildKustomization();
  // The collector names only its data directory: its PKI and token come through the API.
  const cases = [
    { prefix: 'nodeward-agent-config-', key: 'agent.yaml', schema: AgentConfigSchema, workload: findWorkload(objects, 'DaemonSet', 'nodeward-agent'), minFiles: 3 },
    { prefix: 'nodeward-collector-config-', key: 'collector.yaml', schema: CollectorConfigSchema, workload: findWorkload(objects, 'StatefulSet', 'nodeward-collector'), minFiles: 1 },
  ];
  for (const { prefix, key, schema, workload, minFiles } of cases) {
    const config = configOf(objects, prefix, key);
    t.deepEqual([...Value.Errors(schema, Value.Default(schema, clone(config)))].map((e) => `${e.path}: ${e.message}`), [], key);
    const mounts = allContainers(workload.pod).flatMap((c) => c.volumeMounts ?? []).map((m) => m.mountPath);
    const files: string[] = [];
    JSON.stringify(config, (k, v: unknown) => {
      if (typeof v === 'string' && /(File|Dir|Root)$/.test(k) && v.startsWith('/')) files.push(v);
      return v;
    });
    t.true(files.length >= minFiles, `${key} names its files`);
    for (const f of files) {
      const covered = f === '/proc' || mounts.some((m) => f === m || f.startsWith(`${m}/`));
      t.true(covered, `${key}: ${f} is inside a mounted volume`);
    }
  }
});

kubectlTest('Services, probes and the NetworkPolicy use the ports and labels the pods have', async (t) => {
  const objects = await buildKustomization();
  const collector = findWorkload(objects, 'StatefulSet', 'nodeward-collector');
  const podLabels = (collector.object.spec as { template: { metadata: { labels: Record<string, string> } } }).template.metadata.labels;
  const c = collector.pod.containers[0]!;
  const portNames = new Set((c.ports ?? []).map((p) => p.name));
  const svc = findObject(objects, 'Service', 'nodeward-collector') as KubeObject & { spec: { selector: Record<string, string>; ports: Array<{ port: number; targetPort: string }> } };
  for (const [k, v] of Object.entries(svc.spec.selector)) t.is(podLabels[k], v, `service selector ${k}`);
  t.deepEqual(svc.spec.ports.map((p) => [p.port, p.targetPort]).sort(), [[7443, 'grpc'], [7444, 'enroll'], [8443, 'api']]);
  for (const p of svc.spec.ports) t.true(portNames.has(p.targetPort), p.targetPort);
  for (const probe of [c.livenessProbe, c.readinessProbe]) {
    t.truthy(probe?.httpGet, 'HTTP probe');
    t.is(probe?.httpGet?.host, undefined, 'the pod itself, not another host');
    t.true(portNames.has(String(probe?.httpGet?.port)));
  }
  const np = findObject(objects, 'NetworkPolicy', 'nodeward-collector') as KubeObject & {
    spec: { podSelector: { matchLabels: Record<string, string> }; ingress: Array<{ ports: Array<{ port: string }>; from: Array<{ namespaceSelector?: { matchLabels: Record<string, string> }; podSelector?: { matchLabels: Record<string, string> } }> }> };
  };
  for (const [k, v] of Object.entries(np.spec.podSelector.matchLabels)) t.is(podLabels[k], v, `policy selector ${k}`);
  const agent = findWorkload(objects, 'DaemonSet', 'nodeward-agent');
  const agentLabels = (agent.object.spec as { template: { metadata: { labels: Record<string, string> } } }).template.metadata.labels;
  const agentRule = np.spec.ingress.find((r) => r.ports.some((p) => p.port === 'grpc'));
  t.deepEqual(agentRule?.ports.map((p) => p.port).sort(), ['enroll', 'grpc']);
  if (agent.pod.hostNetwork) {
    // Host-network agents come from node addresses: private ranges, never the whole Internet.
    const blocks = (agentRule?.from ?? []).map((f) => (f as { ipBlock?: { cidr: string } }).ipBlock?.cidr);
    t.true(blocks.length > 0 && blocks.every((b) => b !== undefined), 'only address blocks');
    const privateV4 = /^(10\.|172\.(1[6-9]|2\d|3[01])\.|192\.168\.)[\d.]+\/(\d+)$/;
    for (const b of blocks) {
      const m = privateV4.exec(b ?? '');
      t.truthy(m, `${b} is a private range`);
      t.true(Number(m?.[3]) >= 8, `${b} is no wider than a /8`);
    }
    t.is(agent.pod.dnsPolicy, 'ClusterFirstWithHostNet', 'Service names resolve from the host network');
  } else {
    const from = agentRule?.from[0];
    t.is(from?.namespaceSelector?.matchLabels['kubernetes.io/metadata.name'], agent.object.metadata.namespace);
    for (const [k, v] of Object.entries(from?.podSelector?.matchLabels ?? {})) t.is(agentLabels[k], v, `agent selector ${k}`);
  }
  const apiRule = np.spec.ingress.find((r) => r.ports.some((p) => p.port === 'api'));
  t.true(apiRule?.from.every((f) => f.namespaceSelector !== undefined && f.podSelector === undefined), 'the API is admitted by namespace');
});

kubectlTest('the collector keeps its database on a PersistentVolumeClaim, with one replica', async (t) => {
  const sts = findObject(await buildKustomization(), 'StatefulSet', 'nodeward-collector') as KubeObject & {
    spec: { replicas: number; volumeClaimTemplates: Array<{ metadata: { name: string } }> };
  };
  t.is(sts.spec.replicas, 1);
  const { pod } = findWorkload(await buildKustomization(), 'StatefulSet', 'nodeward-collector');
  const dataMount = pod.containers[0]?.volumeMounts?.find((m) => m.mountPath === '/var/lib/nodeward-collector');
  t.is<string | undefined, string | undefined>(sts.spec.volumeClaimTemplates.map((v) => v.metadata.name).join(), dataMount?.name);
  t.true((pod.securityContext?.fsGroup ?? 0) > 0, 'the volume is made writable for the non-root user');
});

kubectlTest('the collector fills the PKI objects the manifests create empty, by the names RBAC grants, and mounts no Secret; the agents mount the CA ConfigMap', async (t) => {
  const objects = await buildKustomization();
  const { pod } = findWorkload(objects, 'StatefulSet', 'nodeward-collector');
  t.deepEqual((pod.volumes ?? []).filter((v) => v.secret !== undefined).map((v) => v.name), [], 'no Secret mounted: renewals reach the collector through the API');
  const config = Value.Default(CollectorConfigSchema, clone(configOf(objects, 'nodeward-collector-config-', 'collector.yaml'))) as {
    pki: { mode: string; namespace: string; secret: string; tokenSecret: string; caConfigMap: string }; enroll: { agentNamespace: string };
  };
  t.is(config.pki.mode, 'kubernetes');
  const expected = [
    ['Secret', config.pki.namespace, config.pki.secret], ['Secret', config.pki.namespace, config.pki.tokenSecret],
    ['ConfigMap', config.enroll.agentNamespace, config.pki.caConfigMap],
  ] as const;
  for (const [kind, namespace, name] of expected) {
    const o = objects.find((x) => x.kind === kind && x.metadata.name === name && x.metadata.namespace === namespace) as (KubeObject & { data?: unknown; stringData?: unknown }) | undefined;
    t.truthy(o, `${kind} ${namespace}/${name} is created`);
    t.is(o?.data, undefined, `${kind} ${name} is created empty: no key or token in the manifests, and apply leaves what the collector wrote`);
    t.is(o?.stringData, undefined);
    // get and update on exactly that name, nothing wider.
    const roles = objects.filter((r) => r.kind === 'Role' && r.metadata.namespace === namespace) as Array<KubeObject & { rules: Array<{ resources: string[]; resourceNames?: string[]; verbs: string[] }> }>;
    const rules = roles.flatMap((r) => r.rules).filter((r) => r.resources.includes(kind === 'Secret' ? 'secrets' : 'configmaps'));
    t.deepEqual(rules.map((r) => [r.resourceNames?.includes(name), [...r.verbs].sort()]), [[true, ['get', 'update']]], `${kind} ${name}: get and update by name only`);
  }
  const agent = findWorkload(objects, 'DaemonSet', 'nodeward-agent');
  const caVolume = (agent.pod.volumes ?? []).find((v) => (v.configMap as { name?: string } | undefined)?.name === config.pki.caConfigMap);
  t.truthy(caVolume, 'the agents mount the CA ConfigMap');
  const mount = agent.pod.containers[0]?.volumeMounts?.find((m) => m.name === caVolume?.name);
  const agentConfig = configOf(objects, 'nodeward-agent-config-', 'agent.yaml') as { collector: { caFile: string } };
  t.is(agentConfig.collector.caFile, `${mount?.mountPath}/ca.crt`, 'and read ca.crt from it');
  const install = readFileSync(`${REPO_ROOT}docs/install.md`, 'utf8');
  t.true(install.includes(`get secret ${config.pki.tokenSecret} -o jsonpath='{.data.admin}'`), 'docs/install.md says how to read the admin token');
});

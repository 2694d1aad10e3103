// The overlays under overlays/ change only what they say: the Bottlerocket overlay gives the
// agent's container the SELinux label that may read the host (super_t) and nothing else, and
// the privileges ledger explains it; the PostgreSQL overlay runs the collector as a
// Deployment of two replicas with a PodDisruptionBudget, on `store.driver: postgres` with the
// URL from a mounted Secret, the base's pod otherwise, and leaves every other object alone.
import test from 'ava';
import { readFileSync } from 'node:fs';
import { Value } from '@sinclair/typebox/value';
import { parse as parseYaml } from 'yaml';
import { CollectorConfigSchema } from '../../collector/config.js';
import { buildKustomization, clone, findObject, findWorkload, kubectlTest, REPO_ROOT, type KubeObject, type PodSpec } from './manifests.js';
import { createFieldChecker, validateWithModel } from './kube-schema.js';
import { readLedger } from './ledger.js';
import { restrictedViolations } from './pod-security.js';
import { diffPodAgainstLedger, podPrivileges } from './privileges.js';

const BOTTLEROCKET = `${REPO_ROOT}overlays/bottlerocket`;
const POSTGRES = `${REPO_ROOT}overlays/postgres`;

kubectlTest('the Bottlerocket overlay differs from the base only in the agent container\'s SELinux type', async (t) => {
  const [base, overlay] = await Promise.all([buildKustomization(), buildKustomization(BOTTLEROCKET)]);
  const agent = findWorkload(overlay, 'DaemonSet', 'nodeward-agent');
  const container = agent.pod.containers.find((c) => c.name === 'agent');
  t.deepEqual(container?.securityContext?.seLinuxOptions, { type: 'super_t' });
  // Remove that one field and the two builds are the same objects.
  const stripped: KubeObject[] = clone(overlay);
  const strippedAgent = findWorkload(stripped, 'DaemonSet', 'nodeward-agent').pod.containers.find((c) => c.name === 'agent');
  delete (strippedAgent?.securityContext as { seLinuxOptions?: unknown } | undefined)?.seLinuxOptions;
  t.deepEqual(stripped, base);
  // The rest of the agent's limits hold under the overlay as in the base.
  t.deepEqual(diffPodAgainstLedger(podPrivileges(agent), readLedger()), []);
  t.is(container?.securityContext?.privileged, false);
  t.is(container?.securityContext?.allowPrivilegeEscalation, false);
});

test('the ledger explains the SELinux label and names the overlay that asks for it', (t) => {
  const ledger = readFileSync(`${REPO_ROOT}docs/privileges.md`, 'utf8');
  const section = /^## SELinux\n([\s\S]*?)(?=^## )/m.exec(ledger)?.[1] ?? '';
  t.regex(section, /`super_t`/);
  t.regex(section, /overlays\/bottlerocket/);
  const overlay = readFileSync(`${BOTTLEROCKET}/kustomization.yaml`, 'utf8');
  t.regex(overlay, /type: super_t/);
});

/** The collector's config in a build: the generated ConfigMap's collector.yaml, parsed. */
function collectorConfig(objects: readonly KubeObject[]): Record<string, unknown> {
  const cms = objects.filter((o) => o.kind === 'ConfigMap' && o.metadata.name.startsWith('nodeward-collector-config-')) as Array<KubeObject & { data: Record<string, string> }>;
  if (cms.length !== 1) throw new Error(`${cms.length} collector ConfigMaps`);
  return parseYaml(cms[0]!.data['collector.yaml']!) as Record<string, unknown>;
}

interface DeploymentSpec {
  replicas: number;
  selector: { matchLabels: Record<string, string> };
  strategy?: { type: string; rollingUpdate?: { maxSurge: number | string; maxUnavailable: number | string } };
  template: { metadata: { labels: Record<string, string> }; spec: PodSpec & { topologySpreadConstraints?: Array<{ topologyKey: string; labelSelector: { matchLabels: Record<string, string> } }> } };
}

kubectlTest('the PostgreSQL overlay runs the collector as a Deployment of 2 replicas with a PodDisruptionBudget, and no ReadWriteOnce volume', async (t) => {
  const overlay = await buildKustomization(POSTGRES);
  t.false(overlay.some((o) => o.kind === 'StatefulSet'), 'the base\'s StatefulSet is gone');
  const deployment = findObject(overlay, 'Deployment', 'nodeward-collector') as KubeObject & { spec: DeploymentSpec };
  t.is(deployment.metadata.namespace, 'nodeward-collector');
  t.is(deployment.spec.replicas, 2);
  const podLabels = deployment.spec.template.metadata.labels;
  for (const [k, v] of Object.entries(deployment.spec.selector.matchLabels)) t.is(podLabels[k], v, `selector ${k}`);
  t.deepEqual(deployment.spec.strategy, { type: 'RollingUpdate', rollingUpdate: { maxSurge: 1, maxUnavailable: 0 } }, 'a rollout never drops below the replicas');
  const spread = deployment.spec.template.spec.topologySpreadConstraints ?? [];
  t.deepEqual(spread.map((c) => c.topologyKey), ['kubernetes.io/hostname']);
  t.deepEqual(spread[0]?.labelSelector.matchLabels, deployment.spec.selector.matchLabels);
  const pdb = findObject(overlay, 'PodDisruptionBudget', 'nodeward-collector') as KubeObject & { spec: { minAvailable: number; selector: { matchLabels: Record<string, string> } } };
  t.is(pdb.metadata.namespace, 'nodeward-collector');
  t.is(pdb.spec.minAvailable, 1);
  t.deepEqual(pdb.spec.selector.matchLabels, deployment.spec.selector.matchLabels);
  // The base keeps its SQLite file on a ReadWriteOnce claim; none of that is left here.
  const base = await buildKustomization();
  const sts = findObject(base, 'StatefulSet', 'nodeward-collector') as KubeObject & { spec: { volumeClaimTemplates: Array<{ spec: { accessModes: string[] } }> } };
  t.deepEqual(sts.spec.volumeClaimTemplates.map((v) => v.spec.accessModes), [['ReadWriteOnce']], 'the base uses a ReadWriteOnce volume');
  t.false(JSON.stringify(overlay).includes('ReadWriteOnce'));
  t.false(overlay.some((o) => o.kind === 'PersistentVolumeClaim'));
  const pod = deployment.spec.template.spec;
  t.deepEqual((pod.volumes ?? []).filter((v) => v['persistentVolumeClaim'] !== undefined || v['emptyDir'] !== undefined), []);
  t.deepEqual(restrictedViolations(pod).map((v) => `${v.control}: ${v.detail}`), [], 'restricted, as in the base');
  // The new objects are valid and have no unknown field.
  const fields = createFieldChecker(overlay);
  for (const o of [deployment, pdb]) {
    t.is(await validateWithModel(o), undefined, o.kind);
    t.deepEqual(fields.unknownFields(o), [], o.kind);
  }
});

kubectlTest('the PostgreSQL overlay\'s collector uses store.driver postgres, its URL file from the mounted Secret, and the base\'s config otherwise', async (t) => {
  const [base, overlay] = await Promise.all([buildKustomization(), buildKustomization(POSTGRES)]);
  const config = collectorConfig(overlay);
  t.deepEqual([...Value.Errors(CollectorConfigSchema, Value.Default(CollectorConfigSchema, clone(config)))].map((e) => `${e.path}: ${e.message}`), []);
  const store = config['store'] as { driver: string; postgres: { urlFile: string; sslMode: string } };
  t.is(store.driver, 'postgres');
  t.is(store.postgres.sslMode, 'verify-full');
  // The URL file lies in a read-only mount of the Secret nodeward-postgres.
  const { pod } = findWorkload(overlay, 'Deployment', 'nodeward-collector');
  const mounts = pod.containers[0]?.volumeMounts ?? [];
  const mount = mounts.find((m) => store.postgres.urlFile.startsWith(`${m.mountPath}/`));
  t.truthy(mount, `${store.postgres.urlFile} is inside a mount`);
  t.true(mount?.readOnly);
  const volume = (pod.volumes ?? []).find((v) => v.name === mount?.name) as { secret?: { secretName: string; defaultMode?: number } } | undefined;
  t.is(volume?.secret?.secretName, 'nodeward-postgres');
  t.is(volume?.secret?.defaultMode, 0o440, 'readable by the collector\'s group (fsGroup), nobody else');
  t.is(store.postgres.urlFile, `${mount?.mountPath}/url`);
  // The Secret's content is the operator's: this tree creates no Secret of that name and holds no URL.
  t.false(overlay.some((o) => o.kind === 'Secret' && o.metadata.name === 'nodeward-postgres'));
  t.false(/postgres(ql)?:\/\//.test(JSON.stringify(overlay)));
  // Everything else as in the base (the overlay's copy must follow it); the data directory
  // goes with the volume it named.
  const rest = (c: Record<string, unknown>): Record<string, unknown> => Object.fromEntries(Object.entries(c).filter(([k]) => k !== 'store' && k !== 'dataDir'));
  t.deepEqual(rest(config), rest(collectorConfig(base)));
  t.is(config['dataDir'], undefined);
});

kubectlTest('the PostgreSQL overlay\'s pod is the base\'s but for the data volume, SQLite\'s temporary directory, the Secret mount and the spread over nodes; every other object is the base\'s', async (t) => {
  const [base, overlay] = await Promise.all([buildKustomization(), buildKustomization(POSTGRES)]);
  const sts = findObject(base, 'StatefulSet', 'nodeward-collector') as KubeObject & { spec: DeploymentSpec };
  const deployment = findObject(overlay, 'Deployment', 'nodeward-collector') as KubeObject & { spec: DeploymentSpec };
  t.deepEqual(deployment.metadata, sts.metadata);
  t.deepEqual(deployment.spec.selector, sts.spec.selector);
  const expected = clone(sts.spec.template) as any;
  const c = expected.spec.containers[0];
  c.env = c.env.filter((e: { name: string }) => e.name !== 'SQLITE_TMPDIR');
  if (c.env.length === 0) delete c.env;
  c.volumeMounts = [...c.volumeMounts.filter((m: { name: string }) => m.name !== 'data'), { name: 'postgres', mountPath: '/etc/nodeward/postgres', readOnly: true }];
  expected.spec.volumes = [...expected.spec.volumes, { name: 'postgres', secret: { secretName: 'nodeward-postgres', defaultMode: 0o440 } }];
  expected.spec.topologySpreadConstraints = deployment.spec.template.spec.topologySpreadConstraints;
  const actual = clone(deployment.spec.template) as any;
  // The config's ConfigMap name carries a hash of its content, which differs.
  for (const p of [expected, actual]) {
    const v = p.spec.volumes.find((x: { name: string }) => x.name === 'config');
    t.regex(v.configMap.name, /^nodeward-collector-config-[a-z0-9]+$/);
    v.configMap.name = 'nodeward-collector-config';
  }
  t.deepEqual(actual, expected);
  // Every other object: the same as the base's.
  const others = (objects: readonly KubeObject[]): KubeObject[] => objects.filter((o) => !(o.metadata.name.startsWith('nodeward-collector') && ['StatefulSet', 'Deployment', 'PodDisruptionBudget'].includes(o.kind))
    && !(o.kind === 'ConfigMap' && o.metadata.name.startsWith('nodeward-collector-config-')));
  t.deepEqual(others(overlay), others(base));
});

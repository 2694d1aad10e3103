// Every object `kubectl kustomize manifests/` builds is valid against the Kubernetes schemas
// and has no field those schemas do not declare (method: test/deploy/kube-schema.ts).
import type { ExecutionContext } from 'ava';
import { buildKustomization, clone, findWorkload, kubectlTest, type KubeObject } from './manifests.js';
import { createFieldChecker, validateWithModel, type FieldChecker } from './kube-schema.js';

// One TypeScript program for the whole file: loading the model declarations takes seconds.
let checker: FieldChecker | undefined;
async function fieldChecker(objects: readonly KubeObject[]): Promise<FieldChecker> {
  checker ??= createFieldChecker(objects);
  return checker;
}

async function problemsOf(obj: KubeObject, fields: FieldChecker): Promise<string[]> {
  const invalid = await validateWithModel(obj);
  return [...(invalid ? [invalid] : []), ...fields.unknownFields(obj)];
}

function label(o: KubeObject): string {
  return `${o.kind} ${o.metadata.namespace ? `${o.metadata.namespace}/` : ''}${o.metadata.name}`;
}

kubectlTest('the kustomization builds offline into the objects the deployment needs', async (t) => {
  const objects = await buildKustomization();
  const kinds = new Set(objects.map((o) => `${o.kind}/${o.metadata.name}`));
  for (const expected of [
    'Namespace/nodeward-agent', 'Namespace/nodeward-collector', 'DaemonSet/nodeward-agent', 'StatefulSet/nodeward-collector',
    'Service/nodeward-collector', 'ServiceAccount/nodeward-agent', 'ServiceAccount/nodeward-collector',
    'NetworkPolicy/nodeward-collector', 'PriorityClass/nodeward-node-agent',
  ]) {
    t.true(kinds.has(expected), `missing ${expected}`);
  }
  t.true(objects.some((o) => o.kind === 'ConfigMap' && o.metadata.name.startsWith('nodeward-agent-config-')), 'generated agent ConfigMap');
  t.true(objects.some((o) => o.kind === 'ConfigMap' && o.metadata.name.startsWith('nodeward-collector-config-')), 'generated collector ConfigMap');
  // Kustomize rewrote the generated names where they are used.
  const agent = findWorkload(objects, 'DaemonSet', 'nodeward-agent');
  const configVolume = agent.pod.volumes?.find((v) => v.name === 'config') as { configMap?: { name: string } } | undefined;
  t.regex(configVolume?.configMap?.name ?? '', /^nodeward-agent-config-[a-z0-9]+$/);
});

kubectlTest('every object is valid against its Kubernetes schema and has no unknown field', async (t) => {
  const objects = await buildKustomization();
  t.true(objects.length >= 10);
  const fields = await fieldChecker(objects);
  for (const o of objects) {
    t.deepEqual(await problemsOf(o, fields), [], label(o));
  }
});

async function mutated(t: ExecutionContext, change: (ds: any) => void): Promise<string[]> {
  const objects = await buildKustomization();
  const fields = await fieldChecker(objects);
  const ds = clone(findWorkload(objects, 'DaemonSet', 'nodeward-agent').object) as any;
  change(ds);
  const problems = await problemsOf(ds, fields);
  t.log(problems.join('\n'));
  return problems;
}

kubectlTest('a misspelt field deep in a pod template is reported with its path', async (t) => {
  const problems = await mutated(t, (ds) => {
    ds.spec.template.spec.containers[0].securityContext.readOnlyRootFilesytem = true;
  });
  t.true(problems.some((p) => p.startsWith('.spec.template.spec.containers[0].securityContext.readOnlyRootFilesytem: unknown field')));
});

kubectlTest('unknown fields are found at every level, in arrays, maps and unions', async (t) => {
  const problems = await mutated(t, (ds) => {
    ds.spec.template.spec.hostPid = true; // hostPID
    ds.spec.template.spec.volumes[0].hostPath.readOnly = true; // not a hostPath field
    ds.spec.template.spec.containers[0].resources.limits['memory'] = '64Mi'; // a map value: fine
    ds.spec.template.metadata.labels['any-label'] = 'fine'; // a map key: fine
    ds.spec.updateStrategy.rollingUpdate.maxUnavailable = '10%'; // IntOrString as a string: fine
    ds.spec.template.spec.tolerations.push({ key: 'x', operator: 'Exists', effects: 'NoSchedule' });
    ds.status = { currentNumberScheduled: 1, numberMisscheduled: 0, desiredNumberScheduled: 1, numberReady: 1, bogus: 2 };
  });
  t.deepEqual(problems.map((p) => p.split(':')[0]).sort(), [
    '.spec.template.spec.hostPid',
    `.spec.template.spec.tolerations[2].effects`,
    '.spec.template.spec.volumes[0].hostPath.readOnly',
    '.status.bogus',
  ].sort());
});

kubectlTest('schema violations the models know about are reported too', async (t) => {
  const problems = await mutated(t, (ds) => {
    ds.spec.template.spec.containers[0].securityContext.runAsUser = 'root';
    delete ds.spec.selector;
  });
  t.true(problems.some((p) => /runAsUser/.test(p) && /must be integer/.test(p)), 'wrong type');
  t.true(problems.some((p) => /selector/.test(p)), 'missing required field');
});

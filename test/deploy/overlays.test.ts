// The overlays under overlays/ change only what they say: the Bottlerocket overlay gives the
// agent's container the SELinux label that may read the host (super_t) and nothing else, and
// the privileges ledger explains it.
import test from 'ava';
import { readFileSync } from 'node:fs';
import { buildKustomization, clone, findWorkload, kubectlTest, REPO_ROOT, type KubeObject } from './manifests.js';
import { readLedger } from './ledger.js';
import { diffPodAgainstLedger, podPrivileges } from './privileges.js';

const BOTTLEROCKET = `${REPO_ROOT}overlays/bottlerocket`;

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

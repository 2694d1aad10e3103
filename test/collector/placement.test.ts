// Which nodes the agent DaemonSet runs on, as a table (collector/kube/placement.ts): the
// scheduler's rules for nodeSelector, required node affinity (every operator, matchFields)
// and taints against tolerations (Equal/Exists, empty key, effects, the DaemonSet
// controller's own tolerations), and the nodes no agent can run on (Windows, virtual-kubelet,
// Fargate). Then the DaemonSet's pod template as the API sends it, the real manifest's among
// them, and Node objects as the API sends them.
import test from 'ava';
import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { placement, placementSpecOf, toleratesTaint, type PlacementSpec, type Toleration } from '../../collector/kube/placement.js';
import { readNode, type NodeInfo, type Taint } from '../../collector/kube/node-info.js';
import { REPO_ROOT } from '../deploy/manifests.js';
import { nodeObject } from './fake-pod-api.js';

const node = (over: Partial<NodeInfo> = {}): NodeInfo => ({
  name: 'node-1', uid: 'u1', labels: { 'kubernetes.io/os': 'linux', 'kubernetes.io/hostname': 'node-1' }, taints: [], ready: true,
  kubeletVersion: 'v1.31.0', osImage: '', kernel: '', arch: 'amd64', externalIps: [], ...over,
});
const spec = (over: Partial<PlacementSpec> = {}): PlacementSpec => ({ nodeSelector: {}, requiredTerms: null, tolerations: [], hostNetwork: false, ...over });
const labels = (l: Record<string, string>) => ({ labels: { 'kubernetes.io/os': 'linux', ...l } });
const taint = (key: string, effect: string, value = ''): Taint => ({ key, value, effect });
const tol = (key: string, operator: string, effect = '', value = ''): Toleration => ({ key, operator, value, effect });
const expr = (key: string, operator: string, values: string[] = []) => ({ matchExpressions: [{ key, operator, values }], matchFields: [] });
const field = (operator: string, values: string[], key = 'metadata.name') => ({ matchExpressions: [], matchFields: [{ key, operator, values }] });

/** The real DaemonSet's pod template (manifests/agent/daemonset.yaml), as the API server would return it. */
const manifest = (): PlacementSpec => {
  const ds = parseYaml(readFileSync(`${REPO_ROOT}manifests/agent/daemonset.yaml`, 'utf8')) as { spec: { template: { spec: unknown } } };
  const r = placementSpecOf(ds.spec.template.spec);
  if (r.kind !== 'spec') throw new Error(r.reason);
  return r.spec;
};

// [name, DaemonSet placement, node, runs (true) or the code of why not]
const TABLE: Array<[string, PlacementSpec, NodeInfo, true | string]> = [
  // nodeSelector
  ['no rules: every Linux node', spec(), node(), true],
  ['nodeSelector matched', spec({ nodeSelector: { 'kubernetes.io/os': 'linux' } }), node(), true],
  ['nodeSelector: a label with another value', spec({ nodeSelector: { pool: 'gpu' } }), node(labels({ pool: 'cpu' })), 'node-selector'],
  ['nodeSelector: a label the node lacks', spec({ nodeSelector: { pool: 'gpu' } }), node(), 'node-selector'],
  ['nodeSelector: every key must match', spec({ nodeSelector: { pool: 'gpu', zone: 'a' } }), node(labels({ pool: 'gpu', zone: 'b' })), 'node-selector'],
  ['nodeSelector: an empty value matches only an empty label', spec({ nodeSelector: { edge: '' } }), node(labels({ edge: '' })), true],
  // required node affinity: operators
  ['In: one of the values', spec({ requiredTerms: [expr('zone', 'In', ['a', 'b'])] }), node(labels({ zone: 'b' })), true],
  ['In: none of the values', spec({ requiredTerms: [expr('zone', 'In', ['a', 'b'])] }), node(labels({ zone: 'c' })), 'node-affinity'],
  ['In: the label is absent', spec({ requiredTerms: [expr('zone', 'In', ['a'])] }), node(), 'node-affinity'],
  ['NotIn: another value', spec({ requiredTerms: [expr('pool', 'NotIn', ['spot'])] }), node(labels({ pool: 'ondemand' })), true],
  ['NotIn: the label is absent', spec({ requiredTerms: [expr('pool', 'NotIn', ['spot'])] }), node(), true],
  ['NotIn: one of the values', spec({ requiredTerms: [expr('pool', 'NotIn', ['spot'])] }), node(labels({ pool: 'spot' })), 'node-affinity'],
  ['Exists: present (an empty value too)', spec({ requiredTerms: [expr('agents', 'Exists')] }), node(labels({ agents: '' })), true],
  ['Exists: absent', spec({ requiredTerms: [expr('agents', 'Exists')] }), node(), 'node-affinity'],
  ['DoesNotExist: absent', spec({ requiredTerms: [expr('no-agent', 'DoesNotExist')] }), node(), true],
  ['DoesNotExist: present', spec({ requiredTerms: [expr('no-agent', 'DoesNotExist')] }), node(labels({ 'no-agent': 'true' })), 'node-affinity'],
  ['Gt: greater', spec({ requiredTerms: [expr('gen', 'Gt', ['3'])] }), node(labels({ gen: '4' })), true],
  ['Gt: equal is not greater', spec({ requiredTerms: [expr('gen', 'Gt', ['3'])] }), node(labels({ gen: '3' })), 'node-affinity'],
  ['Gt: compared as integers, not text', spec({ requiredTerms: [expr('gen', 'Gt', ['9'])] }), node(labels({ gen: '10' })), true],
  ['Gt: a label that is not an integer', spec({ requiredTerms: [expr('gen', 'Gt', ['3'])] }), node(labels({ gen: 'four' })), 'node-affinity'],
  ['Gt: the label is absent', spec({ requiredTerms: [expr('gen', 'Gt', ['3'])] }), node(), 'node-affinity'],
  ['Lt: smaller, negative', spec({ requiredTerms: [expr('gen', 'Lt', ['0'])] }), node(labels({ gen: '-2' })), true],
  ['Lt: larger', spec({ requiredTerms: [expr('gen', 'Lt', ['3'])] }), node(labels({ gen: '5' })), 'node-affinity'],
  ['Lt: beyond int64 is not an integer', spec({ requiredTerms: [expr('gen', 'Lt', ['3'])] }), node(labels({ gen: '-99999999999999999999' })), 'node-affinity'],
  // required node affinity: invalid requirements match nothing
  ['Gt with two values: invalid', spec({ requiredTerms: [expr('gen', 'Gt', ['1', '2'])] }), node(labels({ gen: '4' })), 'node-affinity'],
  ['Gt with a value that is not an integer: invalid', spec({ requiredTerms: [expr('gen', 'Gt', ['x'])] }), node(labels({ gen: '4' })), 'node-affinity'],
  ['In without values: invalid', spec({ requiredTerms: [expr('zone', 'In', [])] }), node(labels({ zone: 'a' })), 'node-affinity'],
  ['NotIn without values: invalid (not "everything")', spec({ requiredTerms: [expr('zone', 'NotIn', [])] }), node(labels({ zone: 'a' })), 'node-affinity'],
  ['Exists with values: invalid', spec({ requiredTerms: [expr('zone', 'Exists', ['a'])] }), node(labels({ zone: 'a' })), 'node-affinity'],
  ['an unknown operator: invalid', spec({ requiredTerms: [expr('zone', 'Matches', ['a'])] }), node(labels({ zone: 'a' })), 'node-affinity'],
  // terms: ORed; requirements of a term: ANDed; an empty term matches nothing
  ['terms are ORed: the second matches', spec({ requiredTerms: [expr('zone', 'In', ['x']), expr('zone', 'In', ['a'])] }), node(labels({ zone: 'a' })), true],
  ['requirements are ANDed', spec({ requiredTerms: [{ matchExpressions: [{ key: 'zone', operator: 'In', values: ['a'] }, { key: 'pool', operator: 'Exists', values: [] }], matchFields: [] }] }), node(labels({ zone: 'a' })), 'node-affinity'],
  ['an empty term matches nothing', spec({ requiredTerms: [{ matchExpressions: [], matchFields: [] }] }), node(), 'node-affinity'],
  ['no terms at all matches nothing', spec({ requiredTerms: [] }), node(), 'node-affinity'],
  ['an invalid term does not spoil a valid one', spec({ requiredTerms: [expr('zone', 'Gt', ['a']), expr('zone', 'In', ['a'])] }), node(labels({ zone: 'a' })), true],
  // matchFields: metadata.name only
  ['matchFields metadata.name In', spec({ requiredTerms: [field('In', ['node-1', 'node-2'])] }), node(), true],
  ['matchFields metadata.name In, another node', spec({ requiredTerms: [field('In', ['node-2'])] }), node(), 'node-affinity'],
  ['matchFields metadata.name NotIn', spec({ requiredTerms: [field('NotIn', ['node-2'])] }), node(), true],
  ['matchFields on another field: invalid', spec({ requiredTerms: [field('In', ['node-1'], 'metadata.uid')] }), node(), 'node-affinity'],
  ['matchFields with Exists: invalid', spec({ requiredTerms: [field('Exists', [])] }), node(), 'node-affinity'],
  ['matchFields and matchExpressions together', spec({ requiredTerms: [{ ...field('In', ['node-1']), matchExpressions: [{ key: 'zone', operator: 'In', values: ['a'] }] }] }), node(labels({ zone: 'a' })), true],
  // taints and tolerations
  ['NoSchedule taint, no toleration', spec(), node({ taints: [taint('dedicated', 'NoSchedule', 'db')] }), 'taint'],
  ['NoExecute taint, no toleration', spec(), node({ taints: [taint('dedicated', 'NoExecute', 'db')] }), 'taint'],
  ['PreferNoSchedule is only a preference', spec(), node({ taints: [taint('dedicated', 'PreferNoSchedule', 'db')] }), true],
  ['Equal: same key, value and effect', spec({ tolerations: [tol('dedicated', 'Equal', 'NoSchedule', 'db')] }), node({ taints: [taint('dedicated', 'NoSchedule', 'db')] }), true],
  ['Equal: another value', spec({ tolerations: [tol('dedicated', 'Equal', 'NoSchedule', 'web')] }), node({ taints: [taint('dedicated', 'NoSchedule', 'db')] }), 'taint'],
  ['empty operator means Equal', spec({ tolerations: [tol('dedicated', '', 'NoSchedule', 'db')] }), node({ taints: [taint('dedicated', 'NoSchedule', 'db')] }), true],
  ['Exists: any value of the key', spec({ tolerations: [tol('dedicated', 'Exists', 'NoSchedule')] }), node({ taints: [taint('dedicated', 'NoSchedule', 'db')] }), true],
  ['Exists with the wrong effect', spec({ tolerations: [tol('dedicated', 'Exists', 'NoSchedule')] }), node({ taints: [taint('dedicated', 'NoExecute', 'db')] }), 'taint'],
  ['Exists with an empty effect: every effect', spec({ tolerations: [tol('dedicated', 'Exists')] }), node({ taints: [taint('dedicated', 'NoExecute', 'db'), taint('dedicated', 'NoSchedule', 'x')] }), true],
  ['Exists with an empty key: every taint', spec({ tolerations: [tol('', 'Exists')] }), node({ taints: [taint('a', 'NoExecute'), taint('b', 'NoSchedule', 'v')] }), true],
  ['empty key with Equal matches by value alone', spec({ tolerations: [tol('', 'Equal', '', 'db')] }), node({ taints: [taint('any', 'NoSchedule', 'db')] }), true],
  ['an unknown operator tolerates nothing', spec({ tolerations: [tol('dedicated', 'Matches', '', 'db')] }), node({ taints: [taint('dedicated', 'NoSchedule', 'db')] }), 'taint'],
  ['every taint must be tolerated', spec({ tolerations: [tol('a', 'Exists')] }), node({ taints: [taint('a', 'NoSchedule'), taint('b', 'NoSchedule')] }), 'taint'],
  // what the DaemonSet controller tolerates for every DaemonSet pod
  ['a NotReady node: the controller tolerates not-ready', spec(), node({ ready: false, taints: [taint('node.kubernetes.io/not-ready', 'NoExecute')] }), true],
  ['an unreachable node', spec(), node({ taints: [taint('node.kubernetes.io/unreachable', 'NoExecute')] }), true],
  ['memory, disk and PID pressure', spec(), node({ taints: ['memory', 'disk', 'pid'].map((p) => taint(`node.kubernetes.io/${p}-pressure`, 'NoSchedule')) }), true],
  ['a cordoned node', spec(), node({ taints: [taint('node.kubernetes.io/unschedulable', 'NoSchedule')] }), true],
  ['network-unavailable: tolerated for hostNetwork pods', spec({ hostNetwork: true }), node({ taints: [taint('node.kubernetes.io/network-unavailable', 'NoSchedule')] }), true],
  ['network-unavailable: not for others', spec(), node({ taints: [taint('node.kubernetes.io/network-unavailable', 'NoSchedule')] }), 'taint'],
  ['the controller tolerates pressure only NoSchedule', spec(), node({ taints: [taint('node.kubernetes.io/memory-pressure', 'NoExecute')] }), 'taint'],
  // nodes no agent can run on
  ['a Windows node, whatever the DaemonSet says', spec({ tolerations: [tol('', 'Exists')] }), node({ labels: { 'kubernetes.io/os': 'windows' } }), 'not-linux'],
  ['a Windows node by its beta label', spec(), node({ labels: { 'beta.kubernetes.io/os': 'windows' } }), 'not-linux'],
  ['a virtual-kubelet node by its label', spec({ tolerations: [tol('', 'Exists')] }), node(labels({ type: 'virtual-kubelet' })), 'virtual-kubelet'],
  ['a virtual-kubelet node by its taint', spec({ tolerations: [tol('', 'Exists')] }), node({ taints: [taint('virtual-kubelet.io/provider', 'NoSchedule', 'azure')] }), 'virtual-kubelet'],
  ['an EKS Fargate node', spec(), node(labels({ 'eks.amazonaws.com/compute-type': 'fargate' })), 'serverless'],
  ['an EKS node on EC2', spec(), node(labels({ 'eks.amazonaws.com/compute-type': 'ec2' })), true],
  ['type=other is no virtual node', spec(), node(labels({ type: 'worker' })), true],
  // the real manifest
  ['manifest: a Linux worker', manifest(), node(), true],
  ['manifest: a control-plane node (tolerated)', manifest(), node({ taints: [taint('node-role.kubernetes.io/control-plane', 'NoSchedule')] }), true],
  ['manifest: a dedicated node it does not tolerate', manifest(), node({ taints: [taint('dedicated', 'NoSchedule', 'gpu')] }), 'taint'],
  ['manifest: a node without the os label', manifest(), node({ labels: {} }), 'node-selector'],
  ['manifest: a Windows node', manifest(), node({ labels: { 'kubernetes.io/os': 'windows' } }), 'not-linux'],
];

test(`placement, the scheduler's rules as a table (${TABLE.length} rows)`, (t) => {
  for (const [name, s, n, want] of TABLE) {
    const p = placement(s, n);
    const got: true | string = p.runs ? true : p.code;
    t.is(got, want, name);
    if (!p.runs) t.true(p.reason.length > 10, `${name}: a reason an operator can read`);
  }
  t.is(new Set(TABLE.map(([n]) => n)).size, TABLE.length, 'each row is its own case');
});

test('the reasons name what decided', (t) => {
  const why = (s: PlacementSpec, n: NodeInfo): string => {
    const p = placement(s, n);
    return p.runs ? '' : p.reason;
  };
  t.regex(why(manifest(), node({ taints: [taint('dedicated', 'NoSchedule', 'gpu')] })), /taint dedicated=gpu:NoSchedule is not tolerated/);
  t.regex(why(spec({ nodeSelector: { pool: 'gpu' } }), node(labels({ pool: 'cpu' }))), /nodeSelector asks for pool=gpu; the node has pool=cpu/);
  t.regex(why(spec(), node({ labels: { 'kubernetes.io/os': 'windows' } })), /not a Linux node.*kubernetes\.io\/os=windows/);
  t.regex(why(spec(), node(labels({ 'eks.amazonaws.com/compute-type': 'fargate' }))), /Fargate/);
});

test('toleratesTaint follows the API: effect, then key, then operator', (t) => {
  t.true(toleratesTaint(tol('k', 'Exists', ''), taint('k', 'NoExecute', 'v')));
  t.false(toleratesTaint(tol('k', 'Exists', 'NoSchedule'), taint('k', 'NoExecute')));
  t.false(toleratesTaint(tol('other', 'Exists'), taint('k', 'NoSchedule')));
  t.true(toleratesTaint(tol('k', 'Equal', 'NoSchedule', ''), taint('k', 'NoSchedule')), 'an empty value equals an absent one');
});

test("the DaemonSet's pod template is read as the API sends it; one that cannot be read is refused with the reason", (t) => {
  const real = manifest();
  t.deepEqual(real.nodeSelector, { 'kubernetes.io/os': 'linux' });
  t.true(real.hostNetwork);
  t.deepEqual(real.tolerations.map((x) => `${x.key}:${x.operator}:${x.effect}`), ['node-role.kubernetes.io/control-plane:Exists:NoSchedule', 'node-role.kubernetes.io/master:Exists:NoSchedule']);
  t.is(real.requiredTerms, null);
  const withAffinity = placementSpecOf({
    affinity: { nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: [{ matchExpressions: [{ key: 'a', operator: 'In', values: ['b'] }] }] } } },
    tolerations: [{ operator: 'Exists' }],
  });
  t.like(withAffinity, { kind: 'spec', spec: { requiredTerms: [{ matchExpressions: [{ key: 'a', operator: 'In', values: ['b'] }], matchFields: [] }], tolerations: [{ key: '', operator: 'Exists', value: '', effect: '' }] } });
  const bad: Array<[unknown, RegExp]> = [
    [null, /no pod template spec/],
    [{ nodeSelector: ['a'] }, /nodeSelector is not a map/],
    [{ nodeSelector: { a: 7 } }, /not a string/],
    [{ tolerations: 'all' }, /tolerations is not a list/],
    [{ tolerations: [{ key: 7 }] }, /tolerations\[0\]/],
    [{ tolerations: Array.from({ length: 300 }, () => ({ operator: 'Exists' })) }, /more than 256/],
    [{ affinity: { nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: [{ matchExpressions: [{ operator: 'In' }] }] } } } }, /without a key/],
  ];
  for (const [s, why] of bad) {
    const r = placementSpecOf(s);
    t.is(r.kind, 'invalid', JSON.stringify(s).slice(0, 60));
    if (r.kind === 'invalid') t.regex(r.reason, why);
  }
});

test('Node objects as the API sends them: labels, taints, Ready, versions; the legacy unschedulable field is the taint; past the bounds is unreadable', (t) => {
  const r = readNode(nodeObject({ name: 'w-1', taints: [{ key: 'dedicated', value: 'db', effect: 'NoSchedule' }], ready: 'False', kubeletVersion: 'v1.30.4' }));
  t.is(r.kind, 'node');
  if (r.kind !== 'node') return;
  t.like(r.info, { name: 'w-1', ready: false, kubeletVersion: 'v1.30.4', osImage: 'Debian GNU/Linux 12 (bookworm)', arch: 'amd64' });
  t.deepEqual(r.info.taints, [{ key: 'dedicated', value: 'db', effect: 'NoSchedule' }]);
  t.is(r.info.labels['kubernetes.io/os'], 'linux');
  t.is((readNode(nodeObject({ name: 'w-2', ready: 'Unknown' })) as { info: NodeInfo }).info.ready, false, 'Unknown is not Ready');
  // What a node says of itself is free text: a NUL (which no PostgreSQL text holds) is written as \x00.
  const nul = readNode(nodeObject({ name: 'w-4', kubeletVersion: 'v1.31\u0000-x' }));
  t.is(nul.kind === 'node' ? nul.info.kubeletVersion : '', 'v1.31\\x00-x');
  const cordoned = readNode(nodeObject({ name: 'w-3', unschedulable: true }));
  t.deepEqual(cordoned.kind === 'node' ? cordoned.info.taints : [], [{ key: 'node.kubernetes.io/unschedulable', value: '', effect: 'NoSchedule' }]);
  const invalid: unknown[] = [
    null, 'node', { metadata: { uid: 'x' } }, { metadata: { name: 'x' } },
    { metadata: { name: 'x', uid: 'u', labels: [] } },
    { metadata: { name: 'x', uid: 'u', labels: { a: 1 } } },
    { metadata: { name: 'x', uid: 'u', labels: Object.fromEntries(Array.from({ length: 1025 }, (_, i) => [`l${i}`, 'v'])) } },
    { metadata: { name: 'x', uid: 'u' }, spec: { taints: { key: 'a' } } },
    { metadata: { name: 'x', uid: 'u' }, spec: { taints: [{ key: 'a' }] } },
    { metadata: { name: 'x'.repeat(254), uid: 'u' } },
  ];
  for (const v of invalid) t.is(readNode(v).kind, 'invalid', JSON.stringify(v)?.slice(0, 80));
});

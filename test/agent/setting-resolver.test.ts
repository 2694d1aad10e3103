// The one settings resolver (agent/facts/component-settings.ts), across components: whatever a
// host's command line or configuration document holds, resolution never throws and ends in a
// value or a refusal that says why; the same text on the kubelet's and on a control-plane
// component's command line types to the same value (or is refused by both); and the first
// place in a component's order that decides wins.
import test from 'ava';
import { resolveComponentValue, resolveKubeletSetting, resolveSetting, type KubeletSetting, type Step, type ValueSpec } from '../../agent/facts/component-settings.js';
import type { ComponentFacts } from '../../agent/facts/control-plane-types.js';
import type { JsonObject, JsonValue, KubeletFacts } from '../../agent/facts/index.js';
import { parseKubeletArgs } from '../../agent/facts/kubelet.js';
import { checkProperty, fc } from '../helpers/property.js';

function kubelet(args: readonly string[], config: JsonObject | null): KubeletFacts {
  return {
    pid: 100, argv: ['kubelet', ...args], argvTruncated: false, exe: '/usr/bin/kubelet', cwd: '/',
    flags: parseKubeletArgs([...args]), paths: [],
    config: config === null ? null : { path: '/var/lib/kubelet/config.yaml', data: config, error: null },
    dropins: null, otherPids: [], errors: [],
  };
}

function component(name: ComponentFacts['component'], args: ReadonlyArray<{ name: string; value: string }>, config: JsonObject | null): ComponentFacts {
  return {
    component: name, origin: 'process', pid: 200, otherPids: [], argv: [name], argvTruncated: false,
    args: args.map((a) => ({ ...a, form: 'equals' as const, source: 'flag' as const, file: '' })),
    manifest: null, mounts: null, cwd: '/', env: [], envError: null,
    config: config === null ? null : { path: '/etc/etcd/etcd.yaml', data: config, error: null },
    paths: [], hidden: null, errors: [],
  };
}

const TYPES = ['bool', 'int', 'string'] as const;
// Text a command line may hold: the words Go accepts, numbers in forms it may refuse, and anything.
const flagText = fc.oneof(
  fc.constantFrom('true', 'false', 'T', 'f', '1', '0', 'yes', '', '007', '-3', '0x10', '42', ' 1', '1e3'),
  fc.string({ maxLength: 12 }),
);
const jsonValue: fc.Arbitrary<JsonValue> = fc.jsonValue({ maxDepth: 2 }) as fc.Arbitrary<JsonValue>;

test('the same text on the kubelet\'s and on a control-plane command line types to the same value, or is refused by both', async (t) => {
  await checkProperty(t, fc.property(fc.constantFrom(...TYPES), flagText, (type, raw) => {
    const k = resolveKubeletSetting(kubelet([`--x=${raw}`], null), { flag: 'x', configPath: [], type, flagDefault: null, configDefault: null });
    const c = resolveComponentValue(component('kube-apiserver', [{ name: 'x', value: raw }], null), { flag: 'x', type, default: null });
    if (k.ok) return c.kind === 'value' && c.value === k.setting.value && k.setting.source === 'flag' && c.source === 'flag';
    return c.kind === 'error' && c.reason.endsWith(k.reason.slice(k.reason.indexOf(': ') + 2));
  }), 300);
});

test('a value in the kubelet\'s --config file and in etcd\'s --config-file types the same way, or is refused by both', async (t) => {
  await checkProperty(t, fc.property(fc.constantFrom(...TYPES), jsonValue, (type, v) => {
    const k = resolveKubeletSetting(kubelet([], { x: v }), { flag: 'x', configPath: ['x'], type, flagDefault: null, configDefault: 'dflt' });
    const c = resolveComponentValue(component('etcd', [], { x: v }), { flag: 'x', type, default: 'dflt', configPath: ['x'] });
    if (!k.ok) return c.kind === 'error' && c.reason.startsWith('x in /etc/etcd/etcd.yaml: ');
    if (c.kind !== 'value') return false;
    // Go's zero string and a null are "not set" in the kubelet (its default); etcd's file holds them as given.
    if (k.setting.source === 'default') return v === null || v === '' ? c.value === (v === null ? 'dflt' : '') : false;
    return k.setting.value === c.value;
  }), 300);
});

test('whatever a command line and a document hold, resolution never throws and a refusal says why', async (t) => {
  const settings: KubeletSetting[] = ['bool', 'int', 'string', 'list', 'duration'].map((type) => ({
    flag: 'x', configPath: ['a', 'x'], type: type as KubeletSetting['type'], flagDefault: null, configDefault: null, configZeroIsDefault: true, emptyIsUnset: true,
  }));
  const gate: KubeletSetting = { flag: 'feature-gates', flagKey: 'G', configPath: ['featureGates', 'G'], type: 'bool', flagDefault: 'true', configDefault: 'true' };
  const specs: ValueSpec[] = [{ flag: 'x', type: 'list', default: null, configPath: ['a', 'x'], env: 'ETCD_X' }, { flag: 'feature-gates', featureGate: 'G', type: 'bool', default: 'true' }];
  await checkProperty(t, fc.property(fc.array(fc.tuple(fc.constantFrom('x', 'feature-gates'), flagText), { maxLength: 4 }), jsonValue, fc.boolean(), (args, data, withConfig) => {
    const doc = { a: data, featureGates: data } as JsonObject;
    for (const s of [...settings, gate]) {
      const r = resolveKubeletSetting(kubelet(args.map(([n, v]) => `--${n}=${v}`), doc), s);
      if (!r.ok && r.reason === '') return false;
    }
    for (const s of specs) {
      const r = resolveComponentValue(component('etcd', args.map(([name, value]) => ({ name, value })), withConfig ? doc : null), s);
      if (r.kind !== 'value' && r.reason === '') return false;
    }
    return true;
  }), 300);
});

test('the first place that decides wins; none deciding leaves the default', (t) => {
  const value = (source: string, v: string): Step<string> => ({ kind: 'value', value: v, source, sourceFile: '', where: source });
  const unset: Step<string> = { kind: 'unset' };
  const dflt = () => ({ kind: 'value' as const, value: 'd', source: 'default', sourceFile: '', where: 'default' });
  t.deepEqual(resolveSetting([unset, value('flag', 'a'), value('config', 'b')], dflt), value('flag', 'a'));
  t.deepEqual(resolveSetting([unset, { kind: 'error', reason: 'bad', sourceFile: '/f' }, value('config', 'b')], dflt), { kind: 'error', reason: 'bad', sourceFile: '/f' });
  t.deepEqual(resolveSetting([unset, unset], dflt), dflt());
  // The steps are asked lazily: nothing after the deciding place is read.
  let asked = 0;
  function* steps(): Generator<Step<string>> { asked++; yield value('flag', 'a'); asked++; yield value('config', 'b'); }
  resolveSetting(steps(), dflt);
  t.is(asked, 1);
});

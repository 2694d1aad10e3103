import test from 'ava';
import { resolveKubeletSetting } from '../../agent/checks/index.js';
import type { KubeletSetting } from '../../agent/checks/index.js';
import { KUBELET_SETTING_CHECKS } from '../../agent/checks/catalog/kubelet.js';
import { parseKubeletArgs } from '../../agent/facts/kubelet.js';
import type { ConfigDoc, JsonObject, KubeletFacts } from '../../agent/facts/index.js';

const setting = (flag: string): KubeletSetting => {
  const spec = KUBELET_SETTING_CHECKS.find((c) => c.setting.flag === flag);
  if (spec === undefined) throw new Error(`no catalogue entry for --${flag}`);
  return spec.setting;
};
const ANON = setting('anonymous-auth');
const AUTHZ = setting('authorization-mode');
const PORT = setting('read-only-port');

const doc = (path: string, data: JsonObject | null, error: ConfigDoc['error'] = null): ConfigDoc => ({ path, data, error });

function kubelet(opts: { args?: string[]; config?: ConfigDoc | null; dropins?: ConfigDoc[] | null; dropinError?: boolean }): KubeletFacts {
  return {
    pid: 100,
    argv: ['kubelet', ...(opts.args ?? [])],
    argvTruncated: false,
    exe: '/usr/bin/kubelet',
    cwd: '/',
    flags: parseKubeletArgs(opts.args ?? []),
    paths: [],
    config: opts.config ?? null,
    dropins:
      opts.dropins === undefined || opts.dropins === null
        ? null
        : { dir: '/etc/kubelet.d', files: opts.dropins, error: opts.dropinError ? { code: 'EACCES', path: '/etc/kubelet.d', message: 'EACCES: /etc/kubelet.d' } : null },
    otherPids: [],
    errors: [],
  };
}

const CONFIG = doc('/var/lib/kubelet/config.yaml', { authorization: { mode: 'AlwaysAllow' }, readOnlyPort: 10255, authentication: { anonymous: { enabled: true } } });
const DROPIN_10 = doc('/etc/kubelet.d/10.conf', { authorization: { mode: 'Webhook' } });
const DROPIN_20 = doc('/etc/kubelet.d/20.conf', { authorization: { mode: 'AlwaysAllow' }, readOnlyPort: 0 });

function value(k: KubeletFacts, s: KubeletSetting): { value: string | null; source: string; sourceFile: string } | string {
  const r = resolveKubeletSetting(k, s);
  return r.ok ? { value: r.setting.value, source: r.setting.source, sourceFile: r.setting.sourceFile } : `error: ${r.reason}`;
}

test('a flag wins over the drop-ins and the config file', (t) => {
  const k = kubelet({ args: ['--authorization-mode=Webhook', '--read-only-port', '0'], config: CONFIG, dropins: [DROPIN_10, DROPIN_20] });
  t.deepEqual(value(k, AUTHZ), { value: 'Webhook', source: 'flag', sourceFile: '' });
  t.deepEqual(value(k, PORT), { value: '0', source: 'flag', sourceFile: '' });
});

test('a drop-in wins over the config file, and the later drop-in wins', (t) => {
  const k = kubelet({ config: CONFIG, dropins: [DROPIN_10, DROPIN_20] });
  t.deepEqual(value(k, AUTHZ), { value: 'AlwaysAllow', source: 'dropin', sourceFile: '/etc/kubelet.d/20.conf' });
  t.deepEqual(value(kubelet({ config: CONFIG, dropins: [DROPIN_20, DROPIN_10] }), AUTHZ), { value: 'Webhook', source: 'dropin', sourceFile: '/etc/kubelet.d/10.conf' });
  // Only 20.conf sets readOnlyPort; 10.conf being later would not matter.
  t.deepEqual(value(kubelet({ config: CONFIG, dropins: [DROPIN_20, DROPIN_10] }), PORT), { value: '0', source: 'dropin', sourceFile: '/etc/kubelet.d/20.conf' });
});

test('the config file is used when no flag or drop-in sets the value', (t) => {
  const k = kubelet({ config: CONFIG, dropins: [DROPIN_10] });
  t.deepEqual(value(k, ANON), { value: 'true', source: 'config', sourceFile: '/var/lib/kubelet/config.yaml' });
});

test('with --config, unset values take the config-file defaults', (t) => {
  const k = kubelet({ config: doc('/c.yaml', { kind: 'KubeletConfiguration' }) });
  t.deepEqual(value(k, ANON), { value: 'false', source: 'default', sourceFile: '' });
  t.deepEqual(value(k, AUTHZ), { value: 'Webhook', source: 'default', sourceFile: '' });
  t.deepEqual(value(k, PORT), { value: '0', source: 'default', sourceFile: '' });
});

test('without --config, unset values take the command-line defaults (also with only --config-dir)', (t) => {
  for (const k of [kubelet({}), kubelet({ dropins: [doc('/etc/kubelet.d/x.conf', { cgroupDriver: 'systemd' })] })]) {
    t.deepEqual(value(k, ANON), { value: 'true', source: 'default', sourceFile: '' });
    t.deepEqual(value(k, AUTHZ), { value: 'AlwaysAllow', source: 'default', sourceFile: '' });
    t.deepEqual(value(k, PORT), { value: '10255', source: 'default', sourceFile: '' });
  }
});

test('a null in a document counts as not set', (t) => {
  const k = kubelet({ config: doc('/c.yaml', { readOnlyPort: null, authentication: null }) });
  t.deepEqual(value(k, PORT), { value: '0', source: 'default', sourceFile: '' });
  t.deepEqual(value(k, ANON), { value: 'false', source: 'default', sourceFile: '' });
});

test('an unreadable config file is an error for values it would provide, not for flags', (t) => {
  const broken = doc('/c.yaml', null, { code: 'EPARSE', path: '/c.yaml', message: '/c.yaml: not valid YAML or JSON' });
  const k = kubelet({ args: ['--authorization-mode=Webhook'], config: broken });
  t.regex(value(k, ANON) as string, /^error: cannot read config file \/c\.yaml/);
  t.deepEqual(value(k, AUTHZ), { value: 'Webhook', source: 'flag', sourceFile: '' });
});

test('an unreadable drop-in (or drop-in directory) is an error unless a later drop-in or a flag decides', (t) => {
  const bad = doc('/etc/kubelet.d/15.conf', null, { code: 'ETOOBIG', path: '/etc/kubelet.d/15.conf', message: 'too big' });
  t.regex(value(kubelet({ config: CONFIG, dropins: [DROPIN_10, bad] }), AUTHZ) as string, /^error: cannot read drop-in/);
  t.deepEqual(value(kubelet({ config: CONFIG, dropins: [bad, DROPIN_20] }), AUTHZ), { value: 'AlwaysAllow', source: 'dropin', sourceFile: '/etc/kubelet.d/20.conf' });
  t.regex(value(kubelet({ config: CONFIG, dropins: [], dropinError: true }), ANON) as string, /^error: cannot read the drop-in directory/);
  t.deepEqual(value(kubelet({ args: ['--anonymous-auth=false'], config: CONFIG, dropins: [], dropinError: true }), ANON), { value: 'false', source: 'flag', sourceFile: '' });
});

test('values are typed as the kubelet reads them', (t) => {
  t.deepEqual(value(kubelet({ args: ['--anonymous-auth=F'] }), ANON), { value: 'false', source: 'flag', sourceFile: '' });
  t.deepEqual(value(kubelet({ args: ['--anonymous-auth'] }), ANON), { value: 'true', source: 'flag', sourceFile: '' });
  t.regex(value(kubelet({ args: ['--anonymous-auth=maybe'] }), ANON) as string, /is not a boolean/);
  t.regex(value(kubelet({ args: ['--read-only-port=0x0'] }), PORT) as string, /not a plain decimal integer/);
  t.regex(value(kubelet({ config: doc('/c.yaml', { authentication: { anonymous: { enabled: 'no' } } }) }), ANON) as string, /"no" is not a boolean/);
  t.regex(value(kubelet({ config: doc('/c.yaml', { readOnlyPort: '0' }) }), PORT) as string, /is not an integer/);
  t.regex(value(kubelet({ config: doc('/c.yaml', { authentication: 'on' }) }), ANON) as string, /authentication is not a mapping/);
});

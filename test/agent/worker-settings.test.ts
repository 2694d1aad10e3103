// Kubelet setting resolution for the 4.2 checks that need more than a plain flag: Go durations
// (parsed and printed as Go does), zeros the kubelet's defaulting replaces, map flags
// (--feature-gates), list flags that add up, command-line-only settings, empty values.
import test from 'ava';
import { formatGoDuration, parseGoDuration } from '../../agent/facts/go-duration.js';
import { resolveKubeletSetting } from '../../agent/checks/index.js';
import { KUBELET_SETTING_CHECKS } from '../../agent/checks/catalog/kubelet.js';
import type { KubeletSetting } from '../../agent/checks/index.js';
import { parseKubeletArgs } from '../../agent/facts/kubelet.js';
import type { ConfigDoc, JsonObject, KubeletFacts } from '../../agent/facts/index.js';

const durations: Array<[string, string | null]> = [
  ['0', '0s'],
  ['0s', '0s'],
  ['4h', '4h0m0s'],
  ['5m', '5m0s'],
  ['90m', '1h30m0s'],
  ['1.5h', '1h30m0s'],
  ['1h2m3.5s', '1h2m3.5s'],
  ['300ms', '300ms'],
  ['1.5us', '1.5\u00b5s'],
  ['2\u00b5s', '2\u00b5s'],
  ['42ns', '42ns'],
  ['-5m', '-5m0s'],
  ['.5s', '500ms'],
  ['5', null],
  ['', null],
  ['5x', null],
  ['h', null],
  ['1e3s', null],
];
for (const [text, want] of durations) {
  test(`Go duration ${JSON.stringify(text)} -> ${want ?? 'error'}`, (t) => {
    const d = parseGoDuration(text);
    t.is(d.ok ? formatGoDuration(d.ns) : null, want);
  });
}

const setting = (id: string): KubeletSetting => {
  const s = KUBELET_SETTING_CHECKS.find((c) => c.id === id)?.setting;
  if (s === undefined) throw new Error(`no ${id}`);
  return s;
};

const doc = (path: string, data: JsonObject): ConfigDoc => ({ path, data, error: null });

function kubelet(args: string[], config: JsonObject | null, dropins: JsonObject[] = []): KubeletFacts {
  return {
    pid: 1, argv: ['kubelet', ...args], argvTruncated: false, exe: '/usr/bin/kubelet', cwd: '/', flags: parseKubeletArgs(args), paths: [],
    config: config === null ? null : doc('/c.yaml', config),
    dropins: dropins.length === 0 ? null : { dir: '/d', files: dropins.map((d, i) => doc(`/d/${i}.conf`, d)), error: null },
    otherPids: [], errors: [],
  };
}

const value = (k: KubeletFacts, s: KubeletSetting) => {
  const r = resolveKubeletSetting(k, s);
  return r.ok ? [r.setting.value, r.setting.source, r.setting.sourceFile] : `error: ${r.reason}`;
};

test('4.2.5: a zero in a drop-in is replaced by the default too; a non-zero one is kept', (t) => {
  const s = setting('cis-4.2.5');
  t.deepEqual(value(kubelet([], { streamingConnectionIdleTimeout: '30m' }, [{ streamingConnectionIdleTimeout: '0s' }]), s), ['4h0m0s', 'default', '/d/0.conf']);
  t.deepEqual(value(kubelet([], { streamingConnectionIdleTimeout: '0s' }, [{ streamingConnectionIdleTimeout: '2h' }]), s), ['2h0m0s', 'dropin', '/d/0.conf']);
  t.deepEqual(value(kubelet([], null), s), ['4h0m0s', 'default', '']);
  t.regex(String(value(kubelet([], { streamingConnectionIdleTimeout: 300 }), s)), /error: .*is not a duration string/);
});

test('4.2.11: gates per key, flag over drop-in over config; other gates on the flag do not hide the config', (t) => {
  const s = setting('cis-4.2.11');
  const config = { featureGates: { RotateKubeletServerCertificate: false } };
  t.deepEqual(value(kubelet(['--feature-gates=A=true'], config), s), ['false', 'config', '/c.yaml']);
  t.deepEqual(value(kubelet([], config, [{ featureGates: { RotateKubeletServerCertificate: true } }]), s), ['true', 'dropin', '/d/0.conf']);
  t.deepEqual(value(kubelet(['--feature-gates= RotateKubeletServerCertificate = True ,B=false'], config), s), ['true', 'flag', '']);
  t.regex(String(value(kubelet(['--feature-gates=RotateKubeletServerCertificate=maybe'], null), s)), /is not a boolean/);
});

test('4.2.7: a command-line-only setting never reads the config file', (t) => {
  const s = setting('cis-4.2.7');
  t.deepEqual(value(kubelet([], { hostnameOverride: 'from-config', hostname: 'x' }), s), [null, 'none', '']);
  t.deepEqual(value(kubelet(['--hostname-override', 'n1'], {}), s), ['n1', 'flag', '']);
});

test('4.2.3: an empty path means not set; an empty string in the config is Go\'s zero value (unset)', (t) => {
  const s = setting('cis-4.2.3');
  t.deepEqual(value(kubelet(['--client-ca-file='], { authentication: { x509: { clientCAFile: '/ca.crt' } } }), s), [null, 'flag', '']);
  t.deepEqual(value(kubelet([], { authentication: { x509: { clientCAFile: '' } } }), s), [null, 'none', '']);
});

test('4.2.12: list settings, from a YAML list or comma-separated flags that add up', (t) => {
  const s = setting('cis-4.2.12');
  t.deepEqual(value(kubelet([], { tlsCipherSuites: ['A', 'B'] }), s), ['A,B', 'config', '/c.yaml']);
  t.deepEqual(value(kubelet(['--tls-cipher-suites=A, B', '--tls-cipher-suites', 'C'], { tlsCipherSuites: ['X'] }), s), ['A,B,C', 'flag', '']);
});

test('a kubelet found from its unit: a flag\'s source is the file it came from', (t) => {
  const k: KubeletFacts = { ...kubelet(['--rotate-certificates=false', '--v=2'], {}), pid: 0, origin: 'unit', flagSources: ['/etc/default/kubelet', '/unit'] };
  const r = resolveKubeletSetting(k, setting('cis-4.2.10'));
  if (!r.ok) return t.fail(r.reason);
  t.is(r.setting.sourceFile, '/etc/default/kubelet');
  t.regex(r.setting.where, /in the command line of the kubelet's systemd unit, from \/etc\/default\/kubelet/);
});

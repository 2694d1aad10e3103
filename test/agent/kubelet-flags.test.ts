import test from 'ava';
import { lastFlag, parseFlags } from '../../agent/facts/cli-flags.js';
import { KUBELET_BOOLEAN_FLAGS, parseKubeletArgs } from '../../agent/facts/kubelet.js';

test('--flag=value and --flag value forms', (t) => {
  const flags = parseKubeletArgs(['--config=/var/lib/kubelet/config.yaml', '--authorization-mode', 'AlwaysAllow']);
  t.deepEqual(flags, [
    { name: 'config', value: '/var/lib/kubelet/config.yaml', form: 'equals' },
    { name: 'authorization-mode', value: 'AlwaysAllow', form: 'space' },
  ]);
});

test('a bare boolean flag is true and does not swallow the next token', (t) => {
  const parsed = parseFlags(['--anonymous-auth', 'false', '--rotate-certificates', '--v', '2'], KUBELET_BOOLEAN_FLAGS);
  t.deepEqual(parsed.flags, [
    { name: 'anonymous-auth', value: 'true', form: 'bare' },
    { name: 'rotate-certificates', value: 'true', form: 'bare' },
    { name: 'v', value: '2', form: 'space' },
  ]);
  t.deepEqual(parsed.positional, ['false']);
});

test('a boolean with an explicit value keeps it', (t) => {
  t.is(lastFlag(parseKubeletArgs(['--anonymous-auth=false']), 'anonymous-auth')?.value, 'false');
});

test('--flag value only when the next token is not a flag', (t) => {
  const flags = parseKubeletArgs(['--node-labels', '--v=3', '--cloud-provider', '-x']);
  t.deepEqual(flags, [
    { name: 'node-labels', value: 'true', form: 'bare' },
    { name: 'v', value: '3', form: 'equals' },
    { name: 'cloud-provider', value: '-x', form: 'space' },
  ]);
});

test('the last occurrence wins, underscores normalise to dashes, -- ends the flags', (t) => {
  const parsed = parseFlags(['--read_only_port=0', '--read-only-port', '10255', '--', '--anonymous-auth=true'], KUBELET_BOOLEAN_FLAGS);
  t.is(lastFlag(parsed.flags, 'read-only-port')?.value, '10255');
  t.is(lastFlag(parsed.flags, 'anonymous-auth'), undefined);
  t.deepEqual(parsed.positional, ['--anonymous-auth=true']);
});

test('an empty value with = is kept as empty', (t) => {
  t.deepEqual(parseKubeletArgs(['--kubeconfig=']), [{ name: 'kubeconfig', value: '', form: 'equals' }]);
});

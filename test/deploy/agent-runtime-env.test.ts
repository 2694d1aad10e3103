// The agent's runtime environment (agent/runtime-env.ts): the agent image sets the values
// bench/agent-rss.ts measured, this Node.js accepts them and applies them, and `nodeward dev`
// merges them with the caller's environment without dropping what the caller set.
import test from 'ava';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { AGENT_NODE_ARGS, AGENT_RUNTIME_ENV, agentEnv } from '../../agent/runtime-env.js';
import { parseDockerfile } from './dockerfile.js';
import { REPO_ROOT } from './manifests.js';

/** The ENV of the agent image's final stage (KEY=value and KEY="value" pairs). */
function imageEnv(): Record<string, string> {
  const df = parseDockerfile(readFileSync(`${REPO_ROOT}Dockerfile.agent`, 'utf8'));
  const env: Record<string, string> = {};
  for (const i of df.stages.at(-1)!.instructions.filter((x) => x.keyword === 'ENV')) {
    for (const m of i.args.matchAll(/([A-Za-z_][A-Za-z0-9_]*)=(?:"([^"]*)"|(\S*))/g)) env[m[1]!] = m[2] ?? m[3] ?? '';
  }
  return env;
}

test('the agent image sets the runtime environment the benchmark measures', (t) => {
  const env = imageEnv();
  t.true(Object.keys(AGENT_RUNTIME_ENV).length > 0);
  for (const [k, v] of Object.entries(AGENT_RUNTIME_ENV)) t.is(env[k], v, `Dockerfile.agent ENV ${k}`);
});

test("the agent image starts Node.js with the agent's V8 options, and this Node.js applies them without a word", (t) => {
  const df = parseDockerfile(readFileSync(`${REPO_ROOT}Dockerfile.agent`, 'utf8'));
  const entry = df.stages.at(-1)!.instructions.filter((x) => x.keyword === 'ENTRYPOINT').at(-1);
  t.truthy(entry, 'the final stage has an ENTRYPOINT');
  const argv = JSON.parse(entry!.args) as string[];
  t.is(argv[0], 'node');
  t.deepEqual(argv.slice(1, 1 + AGENT_NODE_ARGS.length), [...AGENT_NODE_ARGS], 'the options come before the script');
  // A V8 that dropped or renamed an option would refuse to start ("bad option") or warn.
  const r = spawnSync(process.execPath, [...AGENT_NODE_ARGS, '-e', 'process.stdout.write(JSON.stringify(process.execArgv))'], { encoding: 'utf8' });
  t.is(r.status, 0, r.stderr);
  t.is(r.stderr, '', 'no warning');
  t.deepEqual((JSON.parse(r.stdout) as string[]).slice(0, AGENT_NODE_ARGS.length), [...AGENT_NODE_ARGS]);
  const bad = spawnSync(process.execPath, ['--max-opt=1', '--no-such-v8-option', '-e', ''], { encoding: 'utf8' });
  t.not(bad.status, 0, 'an option this V8 does not know stops Node.js: the check above could fail');
});

test("Node.js starts with the agent's NODE_OPTIONS and keeps the young generation within them", (t) => {
  const semiMiB = Number(/--max-semi-space-size=(\d+)/.exec(AGENT_RUNTIME_ENV.NODE_OPTIONS ?? '')?.[1]);
  t.true(semiMiB > 0, 'NODE_OPTIONS bounds the semi-spaces');
  // Brisk short-lived allocation, as the agent's exec events and scans make: without the
  // bound V8 grows the young generation to 2 x 16 MiB.
  const script = `
    let keep = [];
    for (let i = 0; i < 3e6; i++) { keep.push({ i, s: 'x' + i }); if (keep.length > 1000) keep = []; }
    const young = require('node:v8').getHeapSpaceStatistics().find((s) => s.space_name === 'new_space');
    process.stdout.write(String(young.space_size));`;
  const r = spawnSync(process.execPath, ['-e', script], { env: agentEnv({ PATH: process.env.PATH }), encoding: 'utf8' });
  t.is(r.status, 0, r.stderr);
  t.true(Number(r.stdout) > 0, r.stdout);
  t.true(Number(r.stdout) <= 2 * semiMiB * 1024 * 1024, `young generation ${r.stdout} bytes`);
});

test("agentEnv adds the agent's settings, joins NODE_OPTIONS with the caller's last, and keeps the rest", (t) => {
  t.deepEqual(agentEnv({}), { ...AGENT_RUNTIME_ENV });
  const env = agentEnv({ NODE_OPTIONS: '--inspect', MALLOC_MMAP_THRESHOLD_: '131072', HOME: '/root' });
  t.is(env.NODE_OPTIONS, `${AGENT_RUNTIME_ENV.NODE_OPTIONS} --inspect`);
  t.is(env.MALLOC_MMAP_THRESHOLD_, '131072');
  t.is(env.HOME, '/root');
});

// The agent's state directory (spool, baselines) is its own: created 0700, and an existing one
// that lets group or others in is tightened when the agent starts, with a warning.
import test from 'ava';
import { chmodSync, mkdirSync, statSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadAgentConfig } from '../../agent/config.js';
import { createAgent } from '../../agent/main.js';
import { captureLog } from '../enroll/helpers.js';

async function startAgent(t: import('ava').ExecutionContext, stateDir: string, hostRoot: string) {
  mkdirSync(join(hostRoot, 'proc'), { recursive: true });
  const logs = captureLog('agent');
  const config = loadAgentConfig({
    env: {},
    overrides: {
      node: 'node-a', stateDir, hostRoot, procRoot: join(hostRoot, 'proc'),
      // No collector answers here: the agent keeps its reports in the spool and retries.
      'collector.address': '127.0.0.1:1', 'collector.insecure': true, 'collector.backoffBaseMs': 60_000, 'collector.backoffMaxMs': 60_000,
      'scan.intervalSeconds': 0, 'scan.checks': ['cis-4.1.1'], 'watch.enabled': false, 'processes.enabled': false,
      'health.enabled': false, 'kubeletProbe.enabled': false, 'etcdProbe.enabled': false,
    },
  }, { needCollector: true });
  const agent = createAgent(config, { version: 'test', log: logs.log });
  t.teardown(() => agent.stop());
  await agent.start();
  return { agent, logs };
}

test('an existing state directory open to others (0755) is tightened to 0700 at start, and the agent says so', async (t) => {
  const root = await mkdtemp(join(tmpdir(), 'nodeward-state-'));
  t.teardown(() => rm(root, { recursive: true, force: true }));
  const state = join(root, 'var-lib-nodeward');
  mkdirSync(state);
  chmodSync(state, 0o755);
  const { agent, logs } = await startAgent(t, state, join(root, 'host'));
  t.is(statSync(state).mode & 0o777, 0o700);
  const line = logs.lines.find((l) => l.msg === 'state directory was open to other users; tightened');
  t.like(line, { dir: state, mode: '0755', now: '0700', level: 'warn' });
  t.is(statSync(join(state, 'spool.db')).mode & 0o777, 0o600);
  await agent.stop();

  // A fresh one is created private; nothing to say.
  const fresh = join(root, 'fresh', 'state');
  const again = await startAgent(t, fresh, join(root, 'host'));
  t.is(statSync(fresh).mode & 0o777, 0o700);
  t.is(again.logs.count('state directory was open to other users; tightened'), 0);
});

// At log level debug the agent says where its memory goes (process.memoryUsage(), once at
// start and then once a minute; bench/agent-rss.ts --agent-debug reads these lines); at info
// it says nothing of it.
import test from 'ava';
import { mkdirSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadAgentConfig } from '../../agent/config.js';
import { createAgent } from '../../agent/main.js';
import { createLogger } from '../../proto/support/logger.js';
import { captureLog } from '../enroll/helpers.js';

async function runAgent(t: import('ava').ExecutionContext, level: 'debug' | 'info') {
  const root = await mkdtemp(join(tmpdir(), 'nodeward-memlog-'));
  t.teardown(() => rm(root, { recursive: true, force: true }));
  mkdirSync(join(root, 'host', 'proc'), { recursive: true });
  const logs = captureLog('agent');
  const config = loadAgentConfig({
    env: {},
    overrides: {
      node: 'node-a', stateDir: join(root, 'state'), hostRoot: join(root, 'host'), procRoot: join(root, 'host', 'proc'),
      // No collector answers here: the agent keeps its reports in the spool and retries.
      'collector.address': '127.0.0.1:1', 'collector.insecure': true, 'collector.backoffBaseMs': 60_000, 'collector.backoffMaxMs': 60_000,
      'scan.intervalSeconds': 0, 'scan.checks': ['cis-4.1.1'], 'watch.enabled': false, 'processes.enabled': false,
      'health.enabled': false, 'kubeletProbe.enabled': false, 'etcdProbe.enabled': false,
    },
  }, { needCollector: true });
  // The capture's sink, at the level under test.
  const log = level === 'debug' ? logs.log : createLogger('agent', level, { write: (c: string) => logs.lines.push(JSON.parse(c) as Record<string, unknown>) } as unknown as NodeJS.WritableStream);
  const agent = createAgent(config, { version: 'test', log });
  t.teardown(() => agent.stop());
  await agent.start();
  await agent.stop();
  return logs.lines.filter((l) => l.msg === 'memory');
}

test('at debug the agent logs its resident memory and V8 heap when it starts', async (t) => {
  const lines = await runAgent(t, 'debug');
  t.is(lines.length, 1);
  const m = lines[0]!;
  for (const k of ['rss', 'heapTotal', 'heapUsed', 'external', 'arrayBuffers']) t.true(typeof m[k] === 'number' && (m[k] as number) >= 0, `${k}: ${String(m[k])}`);
  t.true((m.heapUsed as number) > 0 && (m.heapUsed as number) <= (m.heapTotal as number));
  t.true((m.rss as number) > (m.heapUsed as number));
});

test('at info the agent logs nothing of its memory', async (t) => {
  const lines = await runAgent(t, 'info');
  t.is(lines.length, 0);
});

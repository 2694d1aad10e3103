// One log format everywhere: a collector run as its own process writes only JSON lines on
// stdout, each with its level as a name ("level":"info", never pino's 30), and nothing on
// stderr, its stop on SIGTERM included (once a plain-text line, "collector: SIGTERM, stopping").
import test from 'ava';
import { join } from 'node:path';
import { initPki } from '../../collector/pki/pki.js';
import { testDir } from '../helpers/files.js';
import { startCollectorProcess, type NodewardProcess } from '../helpers/process.js';

const LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal'];

test('a collector process logs JSON lines with level names, its SIGTERM stop among them, and nothing else', async (t) => {
  const dir = await testDir(t, 'nodeward-log-lines-');
  const running: NodewardProcess[] = [];
  t.teardown(async () => {
    await Promise.all(running.map((p) => p.kill('SIGKILL')));
  });
  const pki = await initPki(join(dir, 'pki'), { nodes: ['node-a'], collectorHosts: ['localhost', '127.0.0.1'] });
  const { proc } = await startCollectorProcess({ dir, pki, adminToken: 'a'.repeat(43), running });
  await proc.kill('SIGTERM');
  t.is(proc.child.exitCode, 0, proc.output());

  const text = proc.output();
  const lines = text.split('\n').filter((l) => l.trim() !== '');
  t.true(lines.length >= 3, text);
  for (const line of lines) {
    let parsed: Record<string, unknown> | undefined;
    try {
      parsed = JSON.parse(line) as Record<string, unknown>;
    } catch {
      parsed = undefined;
    }
    t.truthy(parsed, `not a JSON line: ${line}`);
    t.true(LEVELS.includes(String(parsed?.level)), `level ${String(parsed?.level)} is a name: ${line}`);
    t.is(parsed?.name, 'collector', line);
  }
  t.like(proc.lines.find((l) => l.msg === 'SIGTERM, stopping'), { level: 'info', signal: 'SIGTERM' });
  t.true(proc.lines.some((l) => l.msg === 'API listening' && l.level === 'info'));
});

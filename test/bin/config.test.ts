// Configuration is validated once at start: an invalid config exits non-zero before any
// socket or database is opened, listing every problem at once.
import test from 'ava';
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { NODEWARD_BIN } from '../helpers/process.js';
import { loadCollectorConfig } from '../../collector/config.js';
import { loadAgentConfig } from '../../agent/config.js';
import { ConfigError } from '../../proto/support/config-loader.js';

const run = promisify(execFile);

async function nodeward(args: string[], env: Record<string, string> = {}): Promise<{ code: number; stderr: string }> {
  try {
    const r = await run(process.execPath, [NODEWARD_BIN, ...args], { env: { ...process.env, ...env }, timeout: 20_000 });
    return { code: 0, stderr: r.stderr };
  } catch (err) {
    const e = err as { code: number; stderr: string };
    return { code: e.code, stderr: e.stderr };
  }
}

async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

test('an invalid collector config exits 2 listing every problem, opening no socket and no database', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'nodeward-config-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const port = await freePort();
  const file = join(dir, 'collector.yaml');
  await writeFile(file, [
    `dataDir: ${dir}`,
    'grpc:',
    `  listen: 127.0.0.1:${port}`,
    '  certFile: /nope/collector.crt',
    '  maxMessageBytes: 12',
    'api:',
    '  listen: not-an-address',
    '  tokens: [{name: x, role: superuser, sha256: abc}]',
    'colour: blue',
  ].join('\n'));
  const { code, stderr } = await nodeward(['collector', '--config', file], { NODEWARD_LIMITS_MAX_OPEN_FINDINGS_PER_NODE: 'many' });
  t.is(code, 2);
  for (const expected of [/grpc\.maxMessageBytes/, /api\.tokens\.0\.role|api\.tokens/, /colour|additional/i, /limits\.maxOpenFindingsPerNode/]) {
    t.regex(stderr, expected);
  }
  t.false(existsSync(join(dir, 'nodeward.db')), 'no database was created');
  // The port it was told to use is still free: nothing listened on it.
  await t.notThrowsAsync(new Promise<void>((resolve, reject) => {
    const s = createServer().once('error', reject).listen(port, '127.0.0.1', () => s.close(() => resolve()));
  }));
});

test('file problems are reported together, after the schema passes', (t) => {
  const err = t.throws(() => loadCollectorConfig({ env: { NODEWARD_GRPC_CERT_FILE: '/nope/c.crt', NODEWARD_API_LISTEN: '127.0.0.1:99999' } }), { instanceOf: ConfigError }) as ConfigError;
  t.true(err.problems.some((p) => p.startsWith('grpc.caFile: required')));
  t.true(err.problems.some((p) => p.includes('/nope/c.crt') && p.includes('ENOENT')));
  t.true(err.problems.some((p) => p.startsWith('api.listen')));
});

test('environment overrides the file, with types converted and checked', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'nodeward-config-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const file = join(dir, 'agent.yaml');
  await writeFile(file, 'node: from-file\nscan:\n  intervalSeconds: 60\ncollector:\n  address: a:1\n  insecure: true\n');
  const c = loadAgentConfig({ file, env: { NODEWARD_SCAN_INTERVAL_SECONDS: '5', NODEWARD_SCAN_CHECKS: '4.2,cis-4.1.5' } }, { needCollector: true });
  t.is(c.node, 'from-file');
  t.is(c.scan.intervalSeconds, 5);
  t.deepEqual(c.scan.checks, ['4.2', 'cis-4.1.5']);
  t.is(c.spool.maxItems, 50_000, 'defaults come from the schema');
  const bad = t.throws(() => loadAgentConfig({ file, env: { NODEWARD_NODE: 'Not_A_Node', NODEWARD_COLLECTOR_INSECURE: 'maybe' } }, { needCollector: true }), { instanceOf: ConfigError }) as ConfigError;
  t.true(bad.problems.some((p) => p.includes('collector.insecure')));
});

test('the agent refuses to start without a collector address and certificates', (t) => {
  const err = t.throws(() => loadAgentConfig({ env: { NODEWARD_NODE: 'node-a' } }, { needCollector: true }), { instanceOf: ConfigError }) as ConfigError;
  t.true(err.problems.some((p) => p.startsWith('collector.address')));
  t.true(err.problems.some((p) => p.startsWith('collector.caFile')));
  t.true(err.problems.some((p) => p.startsWith('collector.certFile')));
});

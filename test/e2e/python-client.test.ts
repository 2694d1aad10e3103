// The .proto is the contract: a client generated from it in another language must work.
// Stubs are generated from proto/nodeward/v1/agent.proto when the test runs (Debian's
// grpc_tools), and test/e2e/python_client.py speaks to a real collector over mTLS.
import test from 'ava';
import { execFile } from 'node:child_process';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { fingerprint } from '../../proto/fingerprint.js';
import { ADMIN_TOKEN, startTestCollector, type TestCollector } from '../helpers/collector.js';
import { httpsJson } from '../helpers/https.js';
import { commandSucceeds, needs } from '../helpers/requirements.js';

const run = promisify(execFile);
const PYTHON = '/usr/bin/python3';
/** The repository root (this file runs as dist/test/e2e/python-client.test.js). */
const ROOT = fileURLToPath(new URL('../../../', import.meta.url));

const pyTest = needs({
  what: 'Python gRPC and its code generator',
  packages: ['python3-grpcio', 'python3-grpc-tools'],
  check: () => commandSucceeds(PYTHON, ['-c', 'import grpc, grpc_tools.protoc']),
});

let tc: TestCollector | undefined;
let stubs: string | undefined;
test.after.always(async () => {
  await tc?.close();
  if (stubs) await rm(stubs, { recursive: true, force: true });
});

async function python(args: string[], what: string): Promise<string> {
  try {
    const { stdout } = await run(PYTHON, args, { cwd: ROOT, timeout: 60_000, maxBuffer: 4 * 1024 * 1024 });
    return stdout;
  } catch (err) {
    const e = err as Error & { stdout?: string; stderr?: string; code?: unknown; signal?: unknown };
    throw new Error(`${what} failed (${String(e.code ?? e.signal)}): ${e.stderr || e.stdout || e.message}`);
  }
}

pyTest('a Python client generated from the .proto connects with mTLS, gets its batch acked and cannot speak for another node', async (t) => {
  tc = await startTestCollector({ nodes: ['node-a', 'node-b'] });
  stubs = await mkdtemp(join(tmpdir(), 'nodeward-pystubs-'));

  await python(['-m', 'grpc_tools.protoc', '-I', 'proto', `--python_out=${stubs}`, `--grpc_python_out=${stubs}`, 'nodeward/v1/agent.proto'], 'grpc_tools.protoc');
  t.true((await stat(join(stubs, 'nodeward', 'v1', 'agent_pb2_grpc.py'))).isFile(), 'protoc generated the gRPC stubs');

  const agent = tc.pki.agents['node-a'];
  if (!agent) throw new Error('the test PKI has no certificate for node-a');
  const subject = '/usr/local/bin/python-contract-probe';
  const stdout = await python([
    join(ROOT, 'test', 'e2e', 'python_client.py'),
    '--stubs', stubs,
    '--address', tc.grpcAddress,
    '--ca', tc.pki.caCert, '--cert', agent.cert, '--key', agent.key,
    '--node', 'node-a', '--other-node', 'node-b',
    '--subject', subject,
  ], 'python_client.py');

  let out: { ack?: { sequence: number; duplicate: boolean; code: number; message: string }; otherNode?: { code: string; details: string } };
  try {
    out = JSON.parse(stdout) as typeof out;
  } catch {
    throw new Error(`python_client.py did not print JSON: ${stdout}`);
  }
  t.deepEqual(out.ack, { sequence: 1, duplicate: false, code: 0, message: '' }, 'the batch is acknowledged as committed');
  t.is(out.otherNode?.code, 'PERMISSION_DENIED');
  t.regex(out.otherNode?.details ?? '', /node "node-a".*node "node-b"/);

  const res = await httpsJson<{ items: any[] }>(`${tc.apiUrl}/api/v1/findings?node=node-a`, { ca: tc.ca, token: ADMIN_TOKEN });
  t.is(res.status, 200, res.text);
  t.is(res.body.items.length, 1, JSON.stringify(res.body.items));
  t.like(res.body.items[0], {
    id: fingerprint('node-a', 'proc-unexpected', subject),
    node: 'node-a', checkId: 'proc-unexpected', subject, category: 'process', severity: 'critical', status: 'fail',
    state: 'open', count: 3, seen: 'event', title: 'Unexpected process (from the Python client)',
    detail: { pid: 4242, client: 'python' },
  });

  const nodes = await httpsJson<{ items: any[] }>(`${tc.apiUrl}/api/v1/nodes`, { ca: tc.ca, token: ADMIN_TOKEN });
  t.like(nodes.body.items.find((n) => n.name === 'node-a'), {
    agentVersion: 'python-contract-client', os: 'Python Test OS', kernel: '6.1.0-py', arch: 'x86_64', cpus: 4,
    memoryBytes: 2 * 2 ** 30, execCoverage: 'scan',
  });
  t.false(nodes.body.items.some((n) => n.name === 'node-b'), 'the refused hello for node-b left no trace');
});

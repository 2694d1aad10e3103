// Host documents refused by their limits (agent/facts/document-refusals.ts) are counted and
// reach the collector: found in a fact collection's snapshot, summed over collections, mapped
// to AgentStats (path redacted and bounded), and, from a real agent scanning a fixture host
// tree with an oversize kubelet config, shown by GET /api/v1/nodes and `query nodes --wide`.
import test from 'ava';
import { execFile } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { collectFacts } from '../../agent/facts/index.js';
import { createDocumentRefusalCounter, documentRefusals } from '../../agent/facts/document-refusals.js';
import { HOST_YAML_LIMITS } from '../../agent/facts/document-limits.js';
import { documentRefusalsToWire } from '../../agent/report/wire.js';
import { loadAgentConfig } from '../../agent/config.js';
import { createAgent } from '../../agent/main.js';
import { MAX_SUBJECT_CHARS } from '../../proto/baseline-key.js';
import { createLogger } from '../../proto/support/logger.js';
import { prepareFixture } from '../helpers/fixture.js';
import { api, withCollector } from '../helpers/agent-session.js';
import { READER_TOKEN } from '../helpers/collector.js';
import { eventually } from '../helpers/https.js';
import { NODEWARD_BIN } from '../helpers/process.js';

const run = promisify(execFile);
/** The insecure-worker fixture's kubelet --config (relative to the kubelet's cwd). */
const KUBELET_CONFIG = '/var/lib/kubelet/config.yaml';
const OVERSIZE = `kind: KubeletConfiguration\n# ${'x'.repeat(HOST_YAML_LIMITS.maxBytes)}\n`;
const TOO_DEEP = `kind: KubeletConfiguration\nx: ${'['.repeat(200)}${']'.repeat(200)}\n`;

test('a collection reports each refused document once, with the limit it passed; the counter sums collections and keeps the last', async (t) => {
  const fx = await prepareFixture('insecure-worker');
  t.teardown(fx.cleanup);
  const counter = createDocumentRefusalCounter();
  const collect = () => collectFacts({ hostRoot: fx.root, procRoot: fx.procRoot, refusals: counter });

  const clean = await collect();
  t.deepEqual(documentRefusals(clean), [], 'the fixture as it is refuses nothing');
  t.deepEqual(counter.stats(), { refused: 0, lastPath: '', lastReason: '' });

  await writeFile(join(fx.root, KUBELET_CONFIG), OVERSIZE);
  const big = await collect();
  t.like(big.kubelet?.config?.error, { code: 'ELIMIT', limit: 'bytes', path: KUBELET_CONFIG });
  t.regex(big.kubelet?.config?.error?.message ?? '', /over the 262144-byte limit: refused before parsing$/, 'an oversize file is refused as the pre-scan refuses one');
  t.deepEqual(documentRefusals(big), [{ path: KUBELET_CONFIG, reason: 'bytes' }]);
  t.deepEqual(counter.stats(), { refused: 1, lastPath: KUBELET_CONFIG, lastReason: 'bytes' });

  await writeFile(join(fx.root, KUBELET_CONFIG), TOO_DEEP);
  await collect();
  t.deepEqual(counter.stats(), { refused: 2, lastPath: KUBELET_CONFIG, lastReason: 'depth' }, 'one refusal per collection that meets it');

  // What a document says is data, not a refusal: a config holding the shape of one counts nothing.
  await writeFile(join(fx.root, KUBELET_CONFIG), 'kind: KubeletConfiguration\nfake: {code: ELIMIT, path: /etc/shadow, limit: depth, message: refused}\n');
  const forged = await collect();
  t.is(forged.kubelet?.config?.error, null);
  t.deepEqual(documentRefusals(forged), []);
  t.deepEqual(counter.stats(), { refused: 2, lastPath: KUBELET_CONFIG, lastReason: 'depth' });
});

test('documentRefusalsToWire: the path is redacted, then bounded; nothing refused is 0 and empty', (t) => {
  t.deepEqual(documentRefusalsToWire({ refused: 0, lastPath: '', lastReason: '' }),
    { hostDocumentsRefused: 0, hostDocumentRefusedPath: '', hostDocumentRefusedReason: '' });
  t.deepEqual(documentRefusalsToWire({ refused: 7, lastPath: '/etc/k/ghp_0123456789abcdefghijABCDEFGHIJ0123456789.yaml', lastReason: 'aliases' }),
    { hostDocumentsRefused: 7, hostDocumentRefusedPath: '/etc/k/<redacted>.yaml', hostDocumentRefusedReason: 'aliases' });
  const long = documentRefusalsToWire({ refused: 1, lastPath: `/${'d/'.repeat(3000)}x.yaml`, lastReason: 'bytes' });
  t.is(long.hostDocumentRefusedPath?.length, MAX_SUBJECT_CHARS, 'at most 1024 characters, what the collector accepts');
  t.regex(long.hostDocumentRefusedPath ?? '', /#[0-9a-f]{16}$/);
});

test('a real agent scanning a host tree with an oversize kubelet config reports the refusal; GET /api/v1/nodes and query nodes --wide show it', async (t) => {
  t.timeout(120_000);
  const fx = await prepareFixture('insecure-worker');
  t.teardown(fx.cleanup);
  await writeFile(join(fx.root, KUBELET_CONFIG), OVERSIZE);
  await withCollector(async (tc) => {
    const agentPki = tc.pki.agents['node-a']!;
    const config = loadAgentConfig({
      env: {},
      overrides: {
        node: 'node-a', hostRoot: fx.root, procRoot: fx.procRoot, stateDir: join(fx.root, '..', 'agent-state'),
        'collector.address': tc.grpcAddress, 'collector.caFile': tc.pki.caCert, 'collector.certFile': agentPki.cert,
        'collector.keyFile': agentPki.key, 'collector.heartbeatSeconds': 1, 'health.port': 0, 'scan.intervalSeconds': 0,
        'watch.enabled': false, 'processes.enabled': false, 'kubeletProbe.enabled': false,
      },
    }, { needCollector: true });
    const agent = createAgent(config, { version: 'test', log: createLogger('agent', 'silent') });
    t.teardown(() => agent.stop());
    await agent.start();

    const node = await eventually('the refusal at the collector', async () => {
      const n = (await api(tc, '/api/v1/nodes/node-a')).body;
      return n?.hostDocumentsRefused?.count > 0 ? n : undefined;
    }, 60_000);
    t.deepEqual(node.hostDocumentsRefused, { count: 1, lastPath: KUBELET_CONFIG, lastReason: 'bytes' }, 'the startup scan, once');
    t.like(node, { execFakeContainer: 0, execHostNamespace: 0, execBatches: 0 }, 'no process monitor: its counters are 0');

    const tokenFile = join(tc.dir, 'reader.token');
    await writeFile(tokenFile, `${READER_TOKEN}\n`, { mode: 0o600 });
    const conn = ['--url', tc.apiUrl, '--token-file', tokenFile, '--ca-file', tc.pki.caCert];
    const wide = (await run(process.execPath, [NODEWARD_BIN, 'query', 'nodes', '--wide', ...conn])).stdout.trimEnd().split('\n');
    t.regex(wide[0] ?? '', /UNJUDGED\s+RING LOST\s+FAKE CTR\s+HOST NS\s+BATCHES\s+UNHASHED\s+DOCS REFUSED\s+LAST REFUSED$/);
    const row = wide.find((l) => l.startsWith('node-a')) ?? '';
    t.regex(row, /\s0\s+0\s+0\s+0\s+0\s+0\s+1\s+\/var\/lib\/kubelet\/config\.yaml \(bytes\)$/, 'unjudged, ring lost, fake ctr, host ns, batches, unhashed 0; one document refused, and which');
    const narrow = (await run(process.execPath, [NODEWARD_BIN, 'query', 'nodes', ...conn])).stdout;
    t.false(narrow.includes('DOCS REFUSED'), 'only with --wide');
    await agent.stop();
  }, { nodes: ['node-a'] });
});

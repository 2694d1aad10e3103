// The exposure collector's cuts (agent/exposure/cuts.ts) reach the collector: a real agent
// scanning a fixture host tree whose processes' fd directories cannot be read (the walk finds
// no owner), whose socket table has a row the kernel would not write, and with more listeners
// than it keeps, reports each cut in AgentStats; GET /api/v1/nodes/{name} and /metrics show
// them. The cuts of one collection, and their sum across collections, are pure.
import test from 'ava';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { loadAgentConfig } from '../../agent/config.js';
import { createAgent } from '../../agent/main.js';
import type { ExposureFacts } from '../../agent/exposure/collect.js';
import { createExposureCutCounter, cutsOf, exposureCutsToWire } from '../../agent/exposure/cuts.js';
import { WIRE_EXPOSURE_LIMITS } from '../../agent/exposure/wire.js';
import { createLogger } from '../../proto/support/logger.js';
import { api, withCollector } from '../helpers/agent-session.js';
import { eventually } from '../helpers/https.js';
import { prepareFixture } from '../helpers/fixture.js';

const HEADER = '  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n';
const listenRow = (slot: number, hexAddress: string, port: number, inode: number): string =>
  `${String(slot).padStart(4)}: ${hexAddress}:${port.toString(16).padStart(4, '0').toUpperCase()} 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 ${inode} 1 0000000000000000 100 0 0 10 0\n`;

function facts(over: { walk?: Partial<ExposureFacts['walk']>; tables?: Array<{ refused: number; dropped: number }>; dropped?: number; listeners?: number }): ExposureFacts {
  return {
    namespacePid: 1, nodeAddresses: [], unowned: 0, dropped: over.dropped ?? 0,
    listeners: Array.from({ length: over.listeners ?? 0 }, () => ({})) as unknown as ExposureFacts['listeners'],
    tables: (over.tables ?? []).map((t) => ({ table: 'tcp', rows: 0, firstRefusal: '', cut: false, error: '', ...t })),
    walk: { pidsWalked: 10, unreadable: 0, pidLimitHit: false, fdLimitHits: 0, timeLimitHit: false, elapsedMs: 1, nativeReader: false, ...over.walk },
  };
}

test('the cuts of one collection, and their sum across collections', (t) => {
  t.deepEqual(cutsOf(facts({})), { walkPidLimitHits: 0, walkTimeLimitHits: 0, walkFdLimitHits: 0, walkUnreadable: 0, rowsRefused: 0, listenersDropped: 0 });
  const cut = facts({
    walk: { pidLimitHit: true, timeLimitHit: true, fdLimitHits: 3, unreadable: 2, nativeReader: true },
    tables: [{ refused: 1, dropped: 4 }, { refused: 2, dropped: 0 }], dropped: 5, listeners: WIRE_EXPOSURE_LIMITS.listeners + 6,
  });
  t.deepEqual(cutsOf(cut), { walkPidLimitHits: 1, walkTimeLimitHits: 1, walkFdLimitHits: 3, walkUnreadable: 2, rowsRefused: 3, listenersDropped: 4 + 5 + 6 });
  const counter = createExposureCutCounter();
  counter.record(cut);
  counter.record(facts({ walk: { unreadable: 1 } }));
  t.deepEqual(exposureCutsToWire(counter.stats()), {
    exposureWalkPidLimitHits: 1, exposureWalkTimeLimitHits: 1, exposureWalkFdLimitHits: 3, exposureWalkUnreadable: 3,
    exposureRowsRefused: 3, exposureListenersDropped: 15, exposureNativeReader: false,
  }, 'counts add up; the reader is the last walk\'s');
});

test("a real agent's cut walk, refused row and dropped listener show in GET /api/v1/nodes/{name} and /metrics", async (t) => {
  t.timeout(120_000);
  const fx = await prepareFixture('insecure-worker');
  t.teardown(fx.cleanup);
  // pid 1's network namespace: two listeners (the agent keeps one) and a row no kernel writes.
  // No process of the tree has an fd directory: the walk reads none and finds no owner.
  await mkdir(join(fx.procRoot, '1', 'net'), { recursive: true });
  await writeFile(join(fx.procRoot, '1', 'net', 'tcp'), HEADER + listenRow(0, '0100007F', 8080, 9001) + listenRow(1, '00000000', 9090, 9002) + '   2: garbage\n');
  await withCollector(async (tc) => {
    const pki = tc.pki.agents['node-a']!;
    const config = loadAgentConfig({
      env: {},
      overrides: {
        node: 'node-a', hostRoot: fx.root, procRoot: fx.procRoot, stateDir: join(fx.root, '..', 'agent-state'),
        'collector.address': tc.grpcAddress, 'collector.caFile': tc.pki.caCert, 'collector.certFile': pki.cert,
        'collector.keyFile': pki.key, 'collector.heartbeatSeconds': 1, 'health.port': 0, 'scan.intervalSeconds': 0,
        'watch.enabled': false, 'processes.enabled': false, 'kubeletProbe.enabled': false, 'exposure.maxListeners': 1,
      },
    }, { needCollector: true });
    const agent = createAgent(config, { version: 'test', log: createLogger('agent', 'silent') });
    t.teardown(() => agent.stop());
    await agent.start();
    const node = await eventually('the exposure cuts at the collector', async () => {
      const n = (await api(tc, '/api/v1/nodes/node-a')).body;
      return n?.exposureCuts?.walkUnreadable > 0 ? n : undefined;
    }, 60_000);
    // The startup scan is the one collection (no periodic scan, no watch).
    t.like(node.exposureCuts, { walkPidLimitHits: 0, walkTimeLimitHits: 0, walkFdLimitHits: 0, walkUnreadable: 5, rowsRefused: 1, listenersDropped: 1 });
    t.is(typeof node.exposureCuts.nativeReader, 'boolean');
    const metrics = await tc.collector.metrics.render();
    t.regex(metrics, /^nodeward_agent_exposure_cuts\{node="node-a",cut="unreadable"\} 5$/m);
    t.regex(metrics, /^nodeward_agent_exposure_cuts\{node="node-a",cut="rows-refused"\} 1$/m);
    t.regex(metrics, /^nodeward_agent_exposure_cuts\{node="node-a",cut="listeners-dropped"\} 1$/m);
    t.regex(metrics, /^nodeward_agent_exposure_cuts\{node="node-a",cut="pid-limit"\} 0$/m);
    await agent.stop();
  }, { nodes: ['node-a'] });
});

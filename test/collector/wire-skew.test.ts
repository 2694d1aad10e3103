// Version skew: every frozen wire set (test/fixtures/wire/, see test/helpers/wire-fixtures.ts)
// still decodes with today's proto and is accepted and stored by today's collector, over real
// mTLS gRPC into real SQLite. A change to the contract that breaks agents in the field fails here.
//
// The collector judges agent times against the time it receives them (collector/ingest/
// validate.ts WIRE_TIMES: at most an hour ahead, ten years back), so a frozen message is
// replayed with its times moved from its set's capture time to now (shiftTimes); everything
// else is sent exactly as decoded.
import test from 'ava';
import { agentMessageCodec, type AgentMessage, type CollectorMessage__Output } from '../../proto/load.js';
import { fingerprint } from '../../proto/fingerprint.js';
import { isRetiredCheck, survivorOf } from '../../proto/retired-checks.js';
import { openRawStream } from '../helpers/grpc-client.js';
import { eventually } from '../helpers/https.js';
import { ok, withCollector } from '../helpers/agent-session.js';
import { frozenWireSets, readWireSet, shiftTimes, WIRE_NODE } from '../helpers/wire-fixtures.js';

const sets = await frozenWireSets();

test('there is at least one frozen wire set', (t) => {
  t.true(sets.length >= 1);
});

for (const name of sets) {
  test(`wire set ${name}: every message decodes with the current proto`, async (t) => {
    const { manifest, messages } = await readWireSet(name);
    const codec = agentMessageCodec();
    t.is(messages.length, manifest.messages.length);
    for (const m of messages) {
      const decoded = codec.decode(m.bytes);
      t.is(decoded.body as string | undefined, m.body, m.file);
    }
  });

  test(`wire set ${name}: a collector of today accepts and stores it`, async (t) => {
    const { manifest, messages } = await readWireSet(name);
    const codec = agentMessageCodec();
    const delta = Date.now() - manifest.capturedAtMs;
    const decoded = messages.map((m) => shiftTimes(codec.decode(m.bytes), delta));
    await withCollector(async (tc) => {
      const agent = tc.pki.agents[WIRE_NODE]!;
      const stream = openRawStream(tc.grpcAddress, { ca: tc.pki.caCert, cert: agent.cert, key: agent.key });
      t.teardown(() => stream.close());
      /** The ack of `sequence`, passing over baseline updates the collector may send. */
      const ackOf = async (sequence: number): Promise<NonNullable<CollectorMessage__Output['ack']>> => {
        for (;;) {
          const [m] = await stream.receive(1);
          if (m?.ack && m.ack.sequence === sequence) return m.ack;
        }
      };
      let batch: AgentMessage['findingBatch'] | undefined;
      for (const msg of decoded) {
        stream.send(msg as AgentMessage);
        const seq = msg.scanReport?.sequence ?? msg.findingBatch?.sequence;
        if (msg.findingBatch) batch = msg.findingBatch;
        if (seq !== undefined) {
          const ack = await ackOf(seq);
          t.is(ack.code, 0, `${msg.body} ${seq}: ${ack.message}`);
          t.false(ack.duplicate);
        }
      }

      // Node row: from the hello, the counters from the heartbeat.
      const node = await eventually('the node row', async () => {
        const nodes = await ok<{ items: any[] }>(tc, '/api/v1/nodes');
        const n = nodes.items.find((x) => x.name === WIRE_NODE);
        return n && n.execCoverage !== '' ? n : undefined;
      });
      const hello = decoded.find((m) => m.hello)!.hello!;
      t.is(node.agentVersion, hello.agentVersion);
      t.is(node.os, hello.host!.os);
      t.is(node.kubeletVersion, hello.host!.kubeletVersion);
      t.is(node.execCoverage, hello.stats!.execCoverage);
      const beat = decoded.find((m) => m.heartbeat)!.heartbeat!.stats!;
      if (beat.execSource !== '') {
        t.is(node.execSource, beat.execSource);
        t.is(node.execSourceReason, beat.execSourceReason);
        t.is(node.agentDrops.execUnjudged, beat.execUnjudged);
      }
      // Counters later than the set: an agent that predates a field sends none, which reads as 0.
      for (const field of ['execFakeContainer', 'execHostNamespace', 'execBatches'] as const) t.is(node[field], beat[field] ?? 0, field);
      t.deepEqual(node.hostDocumentsRefused, { count: beat.hostDocumentsRefused ?? 0, lastPath: beat.hostDocumentRefusedPath ?? '', lastReason: beat.hostDocumentRefusedReason ?? '' });
      t.true(node.scoredChecks.scored > 0, 'the scan report was judged');

      // Findings: the scan's failures and the process findings, with their detail.
      const findings = await ok<{ items: any[] }>(tc, `/api/v1/findings?node=${WIRE_NODE}&state=open&limit=500`);
      const scan = decoded.find((m) => m.scanReport)!.scanReport!;
      const failing = scan.results.filter((r) => r.status === 'STATUS_FAIL' || r.status === 'STATUS_WARN');
      t.true(failing.length > 0);
      for (const r of failing) {
        // A check merged into another since (proto/retired-checks.ts) counts on the surviving finding.
        const to = survivorOf(r.checkId, r.subject) ?? { checkId: r.checkId, subject: r.subject };
        t.truthy(findings.items.find((f) => f.id === fingerprint(WIRE_NODE, to.checkId, to.subject)), `${r.checkId} ${r.subject}`);
      }
      // Older agents still send the retired checks: none is stored under them, and each was counted.
      t.false(findings.items.some((f) => isRetiredCheck(f.checkId)), 'no finding under a retired check');
      const retired = scan.results.filter((r) => isRetiredCheck(r.checkId)).length;
      t.true(retired > 0, 'this set sends retired checks');
      const m = tc.collector.metrics;
      t.is(m.get('nodeward_retired_results_total', { outcome: 'mapped' }) + m.get('nodeward_retired_results_total', { outcome: 'dropped' }), retired);
      t.truthy(batch);
      for (const f of batch!.findings ?? []) {
        const stored = await ok<any>(tc, `/api/v1/findings/${fingerprint(WIRE_NODE, f.checkId!, f.subject!)}`);
        t.is(stored.checkId, f.checkId);
        t.is(stored.count, f.occurrences);
        // Agents up to 0.1 sent the detail as detail_json; later ones the typed ProcessDetail.
        const sent = f.process ?? JSON.parse(f.detailJson!);
        t.is(stored.detail.exe, sent.exe);
        if (f.process?.identity) t.is(stored.detail.identity.sha256, f.process.identity.sha256);
        if (f.process?.context) t.deepEqual(stored.detail.context.stdio.map((x: { kind: string }) => x.kind), (f.process.context.stdio ?? []).map((x) => x.kind));
        if (f.process?.effective) t.like(stored.detail, { euid: f.process.effective.uid, effectiveUser: f.process.effective.user });
      }

      // Baseline: what the node learned is merged into the central one (an agent's operator
      // items are not: the collector's operators are the central ones).
      const report = decoded.find((m) => m.baselineReport)!.baselineReport!;
      const sent = report.baselines[0]!;
      const learned = sent.items.filter((i) => i.source === 'ITEM_SOURCE_LEARNED').map((i) => i.path).sort();
      t.true(learned.length > 0);
      const central = await eventually('the central baseline', async () => {
        const b = (await ok<{ items: any[] }>(tc, `/api/v1/baselines?key=${encodeURIComponent(sent.key)}`)).items[0];
        return b && b.items.length >= learned.length ? b : undefined;
      });
      t.deepEqual(central.items.map((i: { path: string }) => i.path).sort(), learned);
      t.deepEqual(central.items[0].taughtBy, [WIRE_NODE]);
      // The contents a node learned join the central items (sets from 0.2 on carry them).
      for (const i of sent.items.filter((x) => x.source === 'ITEM_SOURCE_LEARNED')) {
        const c = central.items.find((x: { path: string }) => x.path === i.path);
        t.deepEqual(c.digests.map((d: { sha256: string }) => d.sha256).sort(), (i.digests ?? []).map((d) => d.sha256).sort(), i.path);
        t.is(c.inlineCode, i.inlineCode ?? false, `${i.path} inline code`);
      }
    });
  });
}

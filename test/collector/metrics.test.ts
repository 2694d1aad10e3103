// /metrics: what an operator graphs and alerts on.
import test from 'ava';
import { openRawStream } from '../helpers/grpc-client.js';
import { api, connect, ok, proc, withCollector } from '../helpers/agent-session.js';

test('/metrics exposes streams, ingest, dedup hits, rejects by reason, API latency, findings by state and store size', (t) => withCollector(async (tc) => {
  const a = await connect(tc, 'node-a');
  await a.batch([proc('/usr/bin/nc'), proc('/usr/bin/socat')]);
  // A message sent again (same epoch and sequence) is a dedup hit; an invalid one a reject.
  const raw = openRawStream(tc.grpcAddress, { ca: tc.pki.caCert, cert: tc.pki.agents['node-b']!.cert, key: tc.pki.agents['node-b']!.key });
  raw.send({ hello: { node: 'node-b', agentVersion: 't', epoch: 'metrics-epoch' } });
  raw.send({ findingBatch: { sequence: 1, findings: [proc('/bin/x')] } });
  raw.send({ findingBatch: { sequence: 1, findings: [proc('/bin/x')] } });
  raw.send({ findingBatch: { sequence: 2, findings: [{ ...proc('/bin/y'), checkId: 'NOT AN ID' }] } });
  const acks = await raw.receive(3);
  t.deepEqual(acks.map((m) => [m.ack?.duplicate, m.ack?.code]), [[false, 0], [true, 0], [false, 3]]);
  await ok(tc, '/api/v1/findings?limit=5');
  await ok(tc, '/api/v1/summary');
  tc.collector.sweep();

  const m = (await api<string>(tc, '/metrics', { token: null })).text;
  const value = (series: string): number => {
    const line = m.split('\n').find((l) => l.startsWith(`${series} `));
    if (!line) throw new Error(`no series ${series} in:\n${m}`);
    return Number(line.slice(series.length + 1));
  };
  t.is(value('nodeward_streams_connected'), 2);
  t.is(value('nodeward_batches_ingested_total{kind="batch"}'), 2);
  t.is(value('nodeward_findings_ingested_total'), 3);
  t.is(value('nodeward_dedup_hits_total'), 1);
  t.is(value('nodeward_rejects_total{reason="invalid"}'), 1);
  t.is(value('nodeward_finding_events_total{event="opened"}'), 3);
  t.regex(m, /^# TYPE nodeward_api_request_duration_seconds histogram$/m);
  t.is(value('nodeward_api_request_duration_seconds_count{route="/api/v1/findings"}'), 1);
  t.is(value('nodeward_api_request_duration_seconds_bucket{route="/api/v1/summary",le="+Inf"}'), 1);
  t.true(value('nodeward_api_request_duration_seconds_sum{route="/api/v1/summary"}') > 0);
  t.is(value('nodeward_findings{state="open"}'), 3);
  t.is(value('nodeward_nodes{state="connected"}'), 2);
  t.true(value('nodeward_store_bytes') > 4096);
  a.close();
  raw.close();
}));

// The list/watch informer (collector/kube/informer.ts) against hostile watch streams: one
// line never throws, whatever it holds (a property over strings, JSON and near-events); and
// through a real watch (the local Kubernetes API server, fake-pod-api.ts), every hostile line
// is counted as exactly one refusal or event, the watch carries on, and what is held stays
// right.
import test from 'ava';
import { createInformer, watchLine, type InformerStats, type ObjectRead, type WatchLine } from '../../collector/kube/informer.js';
import { readNode, type NodeInfo } from '../../collector/kube/node-info.js';
import { readPod } from '../../collector/kube/pod-info.js';
import type { PodInfo } from '../../collector/kube/types.js';
import { createLogger } from '../../proto/support/logger.js';
import { checkProperty, fc } from '../helpers/property.js';
import { eventually } from '../helpers/https.js';
import { nodeObject, podObject, startFakePodApi } from './fake-pod-api.js';

const silent = createLogger('informer-test', 'silent');
const KINDS = new Set(['upsert', 'remove', 'bookmark', 'gone', 'error', 'malformed']);

const readNodeObject = (raw: unknown): ObjectRead<NodeInfo> => {
  const r = readNode(raw);
  return r.kind === 'node' ? { kind: 'object' as const, key: r.info.name, value: r.info } : r;
};
const readPodObject = (raw: unknown): ObjectRead<PodInfo> => {
  const r = readPod(raw);
  return r.kind === 'pod' ? { kind: 'object' as const, key: r.key, value: r.info } : r.kind === 'absent' ? r : { kind: 'invalid' as const, reason: r.reason };
};

/** Values shaped like watch events, and like the objects in them, with anything anywhere. */
const anything = fc.anything({ maxDepth: 3, withNullPrototype: true, withObjectString: true });
const eventType = fc.oneof(fc.constantFrom('ADDED', 'MODIFIED', 'DELETED', 'BOOKMARK', 'ERROR', 'added', ''), fc.string({ maxLength: 12 }), anything);
const meta = fc.record({
  name: fc.oneof(fc.constantFrom('node-1', 'node-2', ''), fc.string({ maxLength: 300 }), anything),
  uid: fc.oneof(fc.uuid(), anything),
  namespace: fc.oneof(fc.constantFrom('default', ''), anything),
  resourceVersion: fc.oneof(fc.integer({ min: 1, max: 1e9 }).map(String), fc.string({ maxLength: 80 }), anything),
  labels: fc.oneof(fc.dictionary(fc.string({ maxLength: 40 }), fc.oneof(fc.string({ maxLength: 70 }), anything), { maxKeys: 5 }), anything),
}, { requiredKeys: [] });
const objectish = fc.record({
  metadata: fc.oneof(meta, anything),
  spec: fc.oneof(fc.record({ taints: fc.oneof(fc.array(fc.record({ key: anything, effect: anything, value: anything }, { requiredKeys: [] }), { maxLength: 3 }), anything), nodeName: anything, containers: anything }, { requiredKeys: [] }), anything),
  status: fc.oneof(fc.record({ conditions: anything, nodeInfo: anything }, { requiredKeys: [] }), anything),
  code: fc.oneof(fc.constant(410), fc.integer(), anything),
  message: anything,
}, { requiredKeys: [] });
const eventish = fc.record({ type: eventType, object: fc.oneof(objectish, anything) }, { requiredKeys: [] });
const line = fc.oneof(
  fc.string({ maxLength: 200 }),
  fc.string({ unit: 'binary', maxLength: 200 }),
  fc.json({ maxDepth: 3 }),
  eventish.map((e) => JSON.stringify(e) ?? 'undefined'),
  eventish.map((e) => (JSON.stringify(e) ?? '{').slice(0, 40)),
);

test('property: one watch line, whatever it holds, is read without throwing as exactly one known outcome', async (t) => {
  await checkProperty(t, fc.property(line, (l) => {
    for (const w of [watchLine(l, readNodeObject), watchLine(l, readPodObject)] as Array<WatchLine<unknown>>) {
      if (!KINDS.has(w.kind)) return false;
      if ((w.kind === 'upsert' || w.kind === 'remove' || w.kind === 'bookmark') && (typeof w.rv !== 'string' || w.rv === '' || w.rv.length > 64)) return false;
      if (w.kind === 'error' && w.message.length > 330) return false;
    }
    return true;
  }), 3000);
});

test('watchLine: what each kind of line means', (t) => {
  const ev = (type: string, object: unknown) => JSON.stringify({ type, object });
  const n = nodeObject({ name: 'n1' });
  n.metadata.resourceVersion = '17';
  t.like(watchLine(ev('ADDED', n), readNodeObject), { kind: 'upsert', rv: '17', key: 'n1', type: 'ADDED' });
  t.like(watchLine(ev('DELETED', n), readNodeObject), { kind: 'remove', rv: '17', key: 'n1' });
  t.deepEqual(watchLine(ev('BOOKMARK', { kind: 'Node', metadata: { resourceVersion: '18' } }), readNodeObject), { kind: 'bookmark', rv: '18' });
  t.deepEqual(watchLine(ev('ERROR', { kind: 'Status', code: 410, message: 'too old' }), readNodeObject), { kind: 'gone' });
  t.deepEqual(watchLine(ev('ERROR', { kind: 'Status', code: 500, message: 'etcd' }), readNodeObject), { kind: 'error', message: 'ERROR event 500: etcd' });
  t.like(watchLine(ev('ADDED', { metadata: { resourceVersion: '19' } }), readNodeObject), { kind: 'malformed', rv: '19' }, 'unreadable: skipped, but its version is passed');
  t.like(watchLine(ev('WHATEVER', n), readNodeObject), { kind: 'malformed', rv: '17' });
  t.like(watchLine(ev('ADDED', { ...n, metadata: { ...n.metadata, resourceVersion: 'x'.repeat(65) } }), readNodeObject), { kind: 'malformed' });
  t.like(watchLine('{"type":"ADDED"', readNodeObject), { kind: 'malformed', reason: 'not JSON' });
  t.like(watchLine('[1,2]', readNodeObject), { kind: 'malformed', reason: 'not a watch event' });
  const pending = podObject({ namespace: 'a', name: 'p' });
  pending.metadata.resourceVersion = '20';
  t.like(watchLine(ev('MODIFIED', pending), readPodObject), { kind: 'remove', key: 'a/p', type: 'MODIFIED' }, 'a pod on no node: nothing to hold');
});

const total = (s: InformerStats): number => s.malformed + s.oversized + s.events;

test('property: hostile lines through a real watch are each counted once, as a refusal or an event, and the watch carries on past them', async (t) => {
  const api = await startFakePodApi();
  t.teardown(() => api.close());
  const held = new Map<string, NodeInfo>();
  const informer = createInformer<NodeInfo>({
    connection: api.connection, watchSeconds: 3600, backoffBaseMs: 20, backoffMaxMs: 200, maxObjects: 10_000, maxEventBytes: 4096,
  }, { name: 'nodes', path: '/api/v1/nodes', read: readNodeObject }, {
    replace(fresh) {
      held.clear();
      for (const [k, v] of fresh) held.set(k, v);
    },
    upsert(key, value) {
      held.set(key, value);
      return true;
    },
    remove(key) {
      held.delete(key);
    },
  }, { log: silent, metricPrefix: 'nodeward_pod_watch' });
  informer.start();
  t.teardown(() => informer.stop());
  await eventually('the watch', () => (api.liveWatchesOf('nodes') === 1 ? true : undefined));
  // Lines a watch could carry: no newline inside, no ERROR event (which ends a watch by design).
  const hostile = fc.oneof(
    line,
    fc.uint8Array({ minLength: 1, maxLength: 300 }).map((b) => Buffer.from(b)),
    fc.integer({ min: 4097, max: 9000 }).map((n) => `{"type":"ADDED","object":{"pad":"${'x'.repeat(n)}"}}`),
  ).filter((l) => {
    const text = Buffer.isBuffer(l) ? l : Buffer.from(l);
    return !text.includes(0x0a) && text.toString('utf8').trim() !== '' && !/ERROR/.test(text.toString('latin1'));
  });
  let sentinel = 0;
  await checkProperty(t, fc.asyncProperty(fc.array(hostile, { minLength: 1, maxLength: 12 }), async (lines) => {
    const before = informer.stats();
    api.batch(() => {
      for (const l of lines) api.raw(l, 'nodes');
      api.applyNode(nodeObject({ name: `sentinel-${++sentinel}` }));
    });
    await eventually('the sentinel', () => (held.has(`sentinel-${sentinel}`) ? true : undefined), 10_000, 5);
    const after = informer.stats();
    // Each line is one of: an event applied, a malformed line, an oversized line; plus the sentinel.
    return total(after) - total(before) === lines.length + 1 && after.watches === before.watches && after.failures === 0;
  }), 40);
  t.is(informer.stats().lists, 1, 'no relist: nothing hostile ended the watch');
  t.true(informer.stats().malformed > 0 && informer.stats().oversized > 0, `refusals counted: ${JSON.stringify(informer.stats())}`);
});

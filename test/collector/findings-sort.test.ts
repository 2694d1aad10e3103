// GET /api/v1/findings?sort=&order= through the real API (issue 17): most severe first by
// default; each order with its own cursor, which another order refuses with a 400 that says
// so; a cursor changed in any way refused and counted like any other bad parameter; and a
// walk in the default order that findings seen again meanwhile do not disturb. The orders
// themselves are checked against a brute force in test/collector/finding-order.test.ts.
import test from 'ava';
import { api, connect, fp, proc, result, withCollector } from '../helpers/agent-session.js';
import type { TestCollector } from '../helpers/collector.js';
import { sealCursor } from '../../collector/store/paging.js';
import { SEVERITIES } from '../../proto/domain.js';
import { checkProperty, fc } from '../helpers/property.js';

const T0 = Date.parse('2025-03-01T10:00:00Z');
const rank = (s: string): number => SEVERITIES.indexOf(s as (typeof SEVERITIES)[number]);

interface Item { id: string; node: string; checkId: string; severity: string; state: string; firstSeen: string; lastSeen: string }
interface PageBody { items: Item[]; nextCursor: string | null }

async function page(tc: TestCollector, query: string): Promise<PageBody> {
  const res = await api<PageBody>(tc, `/api/v1/findings?${query}`);
  if (res.status !== 200) throw new Error(`${query}: ${res.status} ${res.text}`);
  return res.body;
}

/** Every page of a listing, following nextCursor. */
async function walk(tc: TestCollector, query: string, between?: () => Promise<void>): Promise<Item[]> {
  const out: Item[] = [];
  let cursor: string | null = null;
  for (let n = 0; n < 100; n++) {
    const p = await page(tc, `${query}${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`);
    out.push(...p.items);
    if (!p.nextCursor) return out;
    cursor = p.nextCursor;
    await between?.();
  }
  throw new Error('the walk does not end');
}

/** Ten findings on two nodes: every severity, first seen at different times. */
async function seed(tc: TestCollector): Promise<void> {
  const a = await connect(tc, 'node-a');
  const b = await connect(tc, 'node-b');
  await a.batch([
    proc('/usr/bin/old-high', { severity: 'high', at: T0 }),
    proc('/usr/bin/low', { severity: 'low', at: T0 + 1000 }),
    proc('/usr/bin/new-high', { severity: 'high', at: T0 + 5000 }),
    proc('/usr/bin/info', { severity: 'info', at: T0 + 6000 }),
  ]);
  await b.scan(T0 + 2000, ['cis-4.2.1', 'cis-4.2.6'], [
    result('cis-4.2.1', '--anonymous-auth', 'fail', { severity: 'critical' }),
    result('cis-4.2.6', '--protect-kernel-defaults', 'fail', { severity: 'medium' }),
  ]);
  await b.batch([proc('/usr/bin/nc', { severity: 'high', at: T0 + 3000 }), proc('/usr/bin/curl', { severity: 'medium', at: T0 + 4000 })]);
  await a.scan(T0 + 7000, ['cis-4.2.1'], [result('cis-4.2.1', '--anonymous-auth', 'fail', { severity: 'low' })]);
  // One finding resolved: node-b's medium cis-4.2.6 passes.
  await b.scan(T0 + 8000, ['cis-4.2.6'], [result('cis-4.2.6', '--protect-kernel-defaults', 'pass')]);
  a.close();
  b.close();
}

test('the list is most severe first, then newest first, by default; sort and order name the other orders', (t) => withCollector(async (tc) => {
  await seed(tc);
  const all = (await page(tc, 'limit=100')).items;
  t.is(all.length, 9);
  t.deepEqual(all.map((f) => f.severity), ['critical', 'high', 'high', 'high', 'medium', 'medium', 'low', 'low', 'info']);
  t.deepEqual(all.slice(1, 4).map((f) => f.id), [fp('node-a', 'proc-unexpected', '/usr/bin/new-high'), fp('node-b', 'proc-unexpected', '/usr/bin/nc'),
    fp('node-a', 'proc-unexpected', '/usr/bin/old-high')], 'within a severity, the newest first');
  // The same as sort=severity&order=desc, and the reverse of order=asc.
  t.deepEqual((await page(tc, 'sort=severity&order=desc')).items.map((f) => f.id), all.map((f) => f.id));
  t.deepEqual((await page(tc, 'sort=severity&order=asc')).items.map((f) => f.id), all.map((f) => f.id).reverse());
  // The triage view: the first open finding of at least high is the critical one.
  const open = (await page(tc, 'state=open&minSeverity=high')).items;
  t.like(open[0], { severity: 'critical', node: 'node-b', checkId: 'cis-4.2.1', state: 'open' });
  t.true(open.every((f, i) => i === 0 || rank(f.severity) <= rank(open[i - 1]!.severity)));

  const firstSeen = (await page(tc, 'sort=firstSeen')).items.map((f) => Date.parse(f.firstSeen));
  t.deepEqual(firstSeen, [...firstSeen].sort((x, y) => y - x), 'firstSeen: newest first');
  const lastSeen = (await page(tc, 'sort=lastSeen&order=asc')).items.map((f) => Date.parse(f.lastSeen));
  t.deepEqual(lastSeen, [...lastSeen].sort((x, y) => x - y), 'lastSeen&order=asc: longest unseen first');
  const byNode = (await page(tc, 'sort=node')).items;
  t.deepEqual(byNode.map((f) => `${f.node} ${f.severity}`), [
    'node-a high', 'node-a high', 'node-a low', 'node-a low', 'node-a info', 'node-b critical', 'node-b high', 'node-b medium', 'node-b medium',
  ]);
  const byCheck = (await page(tc, 'sort=check&order=desc')).items.map((f) => f.checkId);
  t.deepEqual(byCheck, [...byCheck].sort().reverse());
  // Filters hold in every order.
  for (const sort of ['severity', 'lastSeen', 'firstSeen', 'node', 'check']) {
    const items = (await page(tc, `sort=${sort}&node=node-b&state=open&minSeverity=medium`)).items;
    t.deepEqual(items.map((f) => f.id).sort(), [fp('node-b', 'cis-4.2.1', '--anonymous-auth'), fp('node-b', 'proc-unexpected', '/usr/bin/nc'),
      fp('node-b', 'proc-unexpected', '/usr/bin/curl')].sort(), sort);
  }
}));

test('a cursor belongs to its order: another sort or order refuses it with a 400 that says which', (t) => withCollector(async (tc) => {
  await seed(tc);
  const first = await page(tc, 'limit=2');
  t.truthy(first.nextCursor);
  const cursor = encodeURIComponent(first.nextCursor!);
  t.is((await api(tc, `/api/v1/findings?limit=2&cursor=${cursor}`)).status, 200);
  t.is((await api(tc, `/api/v1/findings?sort=severity&order=desc&limit=2&cursor=${cursor}`)).status, 200, 'the default, spelled out');
  const other = await api(tc, `/api/v1/findings?sort=node&limit=2&cursor=${cursor}`);
  t.is(other.status, 400);
  t.is(other.body.error, 'parameter cursor belongs to the listing with sort=severity&order=desc, not sort=node&order=asc; start again without a cursor');
  const reversed = await api(tc, `/api/v1/findings?order=asc&limit=2&cursor=${cursor}`);
  t.is(reversed.status, 400);
  t.regex(reversed.body.error, /belongs to the listing with sort=severity&order=desc, not sort=severity&order=asc/);
  const byNode = await page(tc, 'sort=node&order=desc&limit=1');
  const back = await api(tc, `/api/v1/findings?limit=1&cursor=${encodeURIComponent(byNode.nextCursor!)}`);
  t.is(back.status, 400);
  t.regex(back.body.error, /sort=node&order=desc, not sort=severity&order=desc/);
}));

/** nodeward_api_requests_total{code="400"}. */
async function refusals(tc: TestCollector): Promise<number> {
  const text = (await api<string>(tc, '/metrics', { token: null })).text;
  const m = /^nodeward_api_requests_total\{code="400"\} (\d+)$/m.exec(text);
  return m ? Number(m[1]) : 0;
}

test('a cursor changed in any way, or not issued by this collector, is refused with a 400 and counted', (t) => withCollector(async (tc) => {
  await seed(tc);
  const cursors = [(await page(tc, 'limit=3')).nextCursor!, (await page(tc, 'sort=node&limit=4')).nextCursor!, (await page(tc, 'sort=lastSeen&order=asc&limit=1')).nextCursor!];
  const before = await refusals(tc);
  let refused = 0;
  const refuse = async (cursor: string, what: string): Promise<boolean> => {
    const res = await api(tc, `/api/v1/findings?limit=3&cursor=${encodeURIComponent(cursor)}`);
    refused++;
    if (res.status !== 400 || res.body.error !== 'parameter cursor is not a cursor this API issued') throw new Error(`${what} ${JSON.stringify(cursor)}: ${res.status} ${res.text}`);
    return true;
  };
  const CHARS = 'AZaz09-_.=+/%"{}';
  await checkProperty(t, fc.asyncProperty(
    fc.nat(cursors.length - 1), fc.nat(), fc.constantFrom(...CHARS), fc.constantFrom('replace', 'delete', 'insert', 'truncate'),
    async (which, at, c, how) => {
      const original = cursors[which]!;
      const i = at % original.length;
      const changed = how === 'replace' ? original.slice(0, i) + (original[i] === c ? (c === 'A' ? 'B' : 'A') : c) + original.slice(i + 1)
        : how === 'delete' ? original.slice(0, i) + original.slice(i + 1)
          : how === 'insert' ? original.slice(0, i) + c + original.slice(i)
            : original.slice(0, i);
      if (changed === '') return true; // no cursor at all is the first page
      return refuse(changed, how);
    },
  ), 120);
  // Its position changed and sealed again with another key (another collector's, say).
  const [payload] = cursors[0]!.split('.');
  const position = JSON.parse(Buffer.from(payload!, 'base64url').toString('utf8'));
  t.deepEqual(Object.keys(position), ['s', 'o', 'k']);
  await refuse(sealCursor(Buffer.alloc(32, 7), { ...position, k: [4, 0, 1] }), 'another key');
  await refuse(sealCursor(Buffer.alloc(32, 7), position), 'the same position, another key');
  // One seal on another position; the cursor of the previous version (seq order).
  await refuse(`${cursors[1]!.split('.')[0]}.${cursors[0]!.split('.')[1]}`, 'a seal moved');
  await refuse(Buffer.from(JSON.stringify({ after: 3 })).toString('base64url'), 'the old cursor');
  t.is(await refusals(tc), before + refused, 'every refusal is counted as a 400');
}, { overrides: { 'api.rateLimit': { requestsPerSecond: 10_000, burst: 10_000 } } }));

test('a walk in the default order neither skips nor repeats a finding while findings are seen again', (t) => withCollector(async (tc) => {
  const a = await connect(tc, 'node-a');
  const b = await connect(tc, 'node-b');
  const subjects = Array.from({ length: 12 }, (_, i) => `/opt/tool-${i}`);
  const severity = (i: number) => SEVERITIES[i % 5]!;
  for (const [i, s] of subjects.entries()) await (i % 2 ? b : a).batch([proc(s, { severity: severity(i), at: T0 + i * 1000 })]);
  const expected = (await walk(tc, 'limit=100')).map((f) => f.id);
  t.is(expected.length, 12);
  let round = 0;
  // Between pages every finding is seen again, at a later time and with more occurrences: its
  // last seen and count change, its place in the order does not.
  const during = await walk(tc, 'limit=5', async () => {
    round++;
    for (const [i, s] of subjects.entries()) await (i % 2 ? b : a).batch([proc(s, { severity: severity(i), at: T0 + 100_000 * round + i, occurrences: 2 })]);
  });
  t.true(round >= 2);
  t.deepEqual(during.map((f) => f.id), expected);
  t.true(during.slice(5).every((f) => Date.parse(f.lastSeen) > T0 + 50_000), 'the pages after the first show the findings seen again');
  a.close();
  b.close();
}));

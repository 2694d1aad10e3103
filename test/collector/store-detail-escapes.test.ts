// A finding's detail is an agent's JSON text, and JSON may escape characters that PostgreSQL's
// jsonb cannot hold (NUL, a lone surrogate half). On both backends (test/helpers/stores.ts),
// a report carrying such a detail commits with the other findings of its unit, and every read
// (the finding, its detail, the list, the unexpected processes, the contents an allow takes)
// gives the value the JSON text means, as SQLite always did (pg/detail.ts).
import { processSubject } from '../../proto/baseline-key.js';
import { fingerprint } from '../../proto/fingerprint.js';
import { storeTest } from '../helpers/stores.js';

const T = Date.parse('2026-06-01T00:00:00Z');
const SHA = 'c'.repeat(64);

// The texts as an agent sends them: `\u0000` and `\udfff` are escapes in the JSON text.
const DETAILS: Record<string, string> = {
  '/usr/bin/nc': String.raw`{"baseline":"host","exe":"/usr/bin/nc","cmdline":"nc -e \u0000","identity":{"sha256":"${SHA}"}}`,
  '/usr/bin/lone': String.raw`{"baseline":"host","exe":"/usr/bin/lone","cmdline":"\udfff","user":"\ud800x","\udc00":1}`,
  '/usr/bin/pair': String.raw`{"baseline":"host","exe":"/usr/bin/pair","cmdline":"\ud83d\ude42 \u00e9"}`,
  '/usr/bin/escaped': String.raw`{"baseline":"host","exe":"/usr/bin/escaped","cmdline":"\\u0000 is six characters"}`,
  '/usr/bin/plain': '{"baseline":"host","exe":"/usr/bin/plain","cmdline":"plain"}',
};
const EXES = Object.keys(DETAILS);
const idOf = (exe: string): string => fingerprint('node-a', 'proc-unexpected', processSubject('host', exe));

storeTest('a detail holding escapes jsonb refuses (NUL, a lone surrogate half) commits with its unit and reads back as the value its JSON text means', async (t, backend) => {
  const store = await backend.open(t);
  // One unit writes them all (as a report's batch would), the plain one last.
  await store.unit(async (u) => {
    for (const exe of EXES) {
      await u.findings.save(undefined, {
        id: idOf(exe), node: 'node-a', checkId: 'proc-unexpected', subject: processSubject('host', exe), state: 'open', severity: 'high',
        firstSeen: T, lastSeen: T, count: 1, resolvedAt: null, suppressedReason: null, suppressedUntil: null, suppressedBy: null, suppressedAt: null,
        fields: {
          cis: '', references: [], title: 'Unexpected process', category: 'process', severity: 'high', status: 'fail', scored: false, actual: '',
          expected: '', source: '', sourceFile: '', reason: '', remediation: '', detail: DETAILS[exe]!, seen: 'event',
        },
      }, T);
    }
  });

  for (const exe of EXES) {
    const want = JSON.parse(DETAILS[exe]!) as unknown;
    t.deepEqual((await store.findings.get(idOf(exe)))?.detail, want, `${exe}: get`);
    t.deepEqual((await store.findings.detail(idOf(exe)))?.detail, want, `${exe}: detail`);
  }
  const listed = new Map((await store.findings.list({}, 100)).items.map((f) => [f.id, f.detail]));
  t.deepEqual(EXES.map((exe) => listed.get(idOf(exe))), EXES.map((exe) => JSON.parse(DETAILS[exe]!) as unknown), 'the list');

  const processes = new Map((await store.processes.unexpected({ state: 'open' }, 100, 0)).items.map((p) => [p.executable, p]));
  t.deepEqual(EXES.map((exe) => processes.get(exe)?.cmdline), ['nc -e \u0000', '\udfff', '\u{1F642} \u00e9', '\\u0000 is six characters', 'plain']);
  t.is(processes.get('/usr/bin/lone')?.user, '\ud800x');
  t.deepEqual([...(await store.processes.contentsSeen('host', ['/usr/bin/nc', '/usr/bin/plain'])).entries()], [['/usr/bin/nc', [SHA]]], 'the content an allow takes');
});

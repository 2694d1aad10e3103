// The agent's on-disk spool: durable across reopen, bounded, every drop counted, and
// folding of unsent full scans that keeps occurrence counts exact.
import test from 'ava';
import { chmodSync, statSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openSpool } from '../../agent/report/spool.js';
import type { ScanReport, WireResult } from '../../proto/load.js';

const dirs: string[] = [];
async function tempDir(): Promise<string> {
  const d = await mkdtemp(join(tmpdir(), 'nodeward-spool-'));
  dirs.push(d);
  return d;
}
test.after.always(async () => {
  await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
});

const result = (checkId: string, status: 'STATUS_FAIL' | 'STATUS_PASS', subject = 'kubelet/--x'): WireResult =>
  ({ checkId, subject, status, severity: 'SEVERITY_HIGH', category: 'kubelet', occurrences: 1 });
const scan = (...results: WireResult[]): ScanReport => ({ scannedAtMs: Date.now(), scope: results.map((r) => r.checkId!), results });

test('entries survive a reopen with the same epoch; a new spool is a new epoch', async (t) => {
  const dir = await tempDir();
  const a = openSpool({ dir, maxItems: 1000, maxBytes: 1 << 20 });
  const epoch = a.epoch;
  const seq = a.addScan(scan(result('cis-4.2.1', 'STATUS_FAIL')), true);
  a.close();
  const b = openSpool({ dir, maxItems: 1000, maxBytes: 1 << 20 });
  t.is(b.epoch, epoch);
  t.deepEqual(b.next(0, 10).map((e) => e.sequence), [seq]);
  b.close();
  const other = openSpool({ dir: await tempDir(), maxItems: 1000, maxBytes: 1 << 20 });
  t.not(other.epoch, epoch);
  other.close();
});

test('unsent full scans fold into the newest, summing occurrences of results failing in both', (t) => {
  return tempDir().then((dir) => {
    const s = openSpool({ dir, maxItems: 1000, maxBytes: 1 << 20 });
    s.addScan(scan(result('cis-4.2.1', 'STATUS_FAIL'), result('cis-4.2.2', 'STATUS_FAIL')), true);
    s.addScan(scan(result('cis-4.2.1', 'STATUS_FAIL'), result('cis-4.2.2', 'STATUS_FAIL')), true);
    const last = s.addScan(scan(result('cis-4.2.1', 'STATUS_FAIL'), result('cis-4.2.2', 'STATUS_PASS'), result('cis-4.1.9', 'STATUS_FAIL')), true);
    const entries = s.next(0, 10);
    t.is(entries.length, 1, 'one report per outage, not one per scan');
    t.is(entries[0]!.sequence, last);
    const byId = new Map((entries[0]!.payload as ScanReport).results!.map((r) => [r.checkId, r]));
    t.is(byId.get('cis-4.2.1')?.occurrences, 3);
    t.is(byId.get('cis-4.2.2')?.status, 'STATUS_PASS');
    t.is(byId.get('cis-4.2.2')?.occurrences, 1);
    t.is(byId.get('cis-4.1.9')?.occurrences, 1);
    t.is(s.stats().dropped, 0, 'folding is not dropping');
    s.close();
  });
});

test('an entry that may have reached the collector is never folded', async (t) => {
  const s = openSpool({ dir: await tempDir(), maxItems: 1000, maxBytes: 1 << 20 });
  const first = s.addScan(scan(result('cis-4.2.1', 'STATUS_FAIL')), true);
  s.markAttempted(first);
  s.addScan(scan(result('cis-4.2.1', 'STATUS_FAIL')), true);
  const entries = s.next(0, 10);
  t.is(entries.length, 2);
  t.is((entries[1]!.payload as ScanReport).results![0]!.occurrences, 1, 'the attempted report keeps its own occurrence');
  s.close();
});

test('over the bound the oldest scan is dropped and counted; process findings are not evicted by scans', async (t) => {
  const s = openSpool({ dir: await tempDir(), maxItems: 5, maxBytes: 1 << 20 });
  const finding = { checkId: 'proc-unexpected', subject: '/tmp/x', category: 'process', severity: 'SEVERITY_HIGH' as const, status: 'STATUS_FAIL' as const, observedAtMs: 1, occurrences: 1 };
  const batchSeq = s.addBatch({ findings: [finding, finding] });
  const scanA = s.addScan(scan(result('a', 'STATUS_FAIL'), result('b', 'STATUS_FAIL')), false);
  s.addScan(scan(result('c', 'STATUS_FAIL'), result('d', 'STATUS_FAIL')), false);
  const seqs = s.next(0, 10).map((e) => e.sequence);
  t.true(seqs.includes(batchSeq), 'the process findings stay');
  t.false(seqs.includes(scanA), 'the oldest scan went');
  t.is(s.stats().dropped, 1);
  t.is(s.stats().droppedItems, 2);
  t.true(s.stats().items <= 5);
  s.close();
});

test('an entry larger than the whole spool is dropped and counted, not stored', async (t) => {
  const s = openSpool({ dir: await tempDir(), maxItems: 2, maxBytes: 1 << 20 });
  t.is(s.addScan(scan(result('a', 'STATUS_FAIL'), result('b', 'STATUS_FAIL'), result('c', 'STATUS_FAIL')), false), 0);
  t.is(s.stats().entries, 0);
  t.is(s.stats().droppedItems, 3);
  s.close();
});

test('ack deletes; reject deletes and counts; counters persist', async (t) => {
  const dir = await tempDir();
  const s = openSpool({ dir, maxItems: 100, maxBytes: 1 << 20 });
  const a = s.addScan(scan(result('a', 'STATUS_FAIL')), false);
  const b = s.addScan(scan(result('b', 'STATUS_FAIL')), false);
  s.ack(a);
  s.reject(b);
  s.reject(b);
  t.deepEqual(s.next(0, 10), []);
  t.is(s.stats().rejected, 1);
  s.close();
  const again = openSpool({ dir, maxItems: 100, maxBytes: 1 << 20 });
  t.is(again.stats().rejected, 1);
  t.true(again.addScan(scan(result('c', 'STATUS_FAIL')), false) > b, 'sequences are never reused');
  again.close();
});

test('spool.db and its -wal and -shm are the owner\'s alone (0600); looser ones an older agent left are tightened', async (t) => {
  const dir = await tempDir();
  const s = openSpool({ dir, maxItems: 1000, maxBytes: 1 << 20 });
  s.addScan(scan(result('cis-4.2.1', 'STATUS_FAIL')), true);
  const mode = (name: string): string => (statSync(join(dir, name)).mode & 0o777).toString(8);
  // Read while the spool is open: SQLite removes -wal and -shm at a clean close.
  for (const f of ['spool.db', 'spool.db-wal', 'spool.db-shm']) t.is(mode(f), '600', f);
  s.close();

  const old = await tempDir();
  const first = openSpool({ dir: old, maxItems: 1000, maxBytes: 1 << 20 });
  first.close();
  chmodSync(join(old, 'spool.db'), 0o644);
  const reopened = openSpool({ dir: old, maxItems: 1000, maxBytes: 1 << 20 });
  reopened.addScan(scan(result('cis-4.2.1', 'STATUS_FAIL')), true);
  for (const f of ['spool.db', 'spool.db-wal', 'spool.db-shm']) t.is(statSync(join(old, f)).mode & 0o777, 0o600, `${f} after reopen`);
  reopened.close();
});

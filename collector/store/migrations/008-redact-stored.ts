import type { Db } from './migration.js';
import type { Migration } from './migration.js';
import { PROCESS_IDENTITY_FIELDS } from '../../../proto/baseline-key.js';
import { redactDetailJson, redactJson, redactText } from '../../../proto/support/redact.js';

// Secrets on command lines (issue 12): ingest now redacts what agents report before it is
// stored, but rows stored before it may hold a token an older agent (or an older collector)
// let through. They are redacted here once, with the redactor ingest uses, so the API, the
// webhook snapshots and the files hold no secret that a current collector would not store:
//   findings.actual, expected, reason, detail   as ingest redacts a result and a finding
//   webhook_outbox.change, webhook_firing.change the finding inside each queued alert
// A finding's identity (id, subject, and the detail's identity fields) is never changed.
// Rows are read in pages by key, since better-sqlite3 cannot write while a read is open.
const PAGE = 1000;

/** Calls `each` for every row `select` pages through, in key order, PAGE rows at a time. */
function eachRow<R, K extends unknown[]>(db: Db, select: string, start: K, keyOf: (r: R) => K, each: (r: R) => void): void {
  const page = db.prepare<unknown[], R>(select);
  for (let after = start; ;) {
    const rows = page.all(...after, PAGE);
    rows.forEach(each);
    if (rows.length < PAGE) return;
    after = keyOf(rows.at(-1)!);
  }
}

interface FindingText { seq: number; actual: string; expected: string; reason: string; detail: string }

function redactFindings(db: Db): void {
  const update = db.prepare('UPDATE findings SET actual = ?, expected = ?, reason = ?, detail = ? WHERE seq = ?');
  eachRow<FindingText, [number]>(db, 'SELECT seq, actual, expected, reason, detail FROM findings WHERE seq > ? ORDER BY seq LIMIT ?', [0], (r) => [r.seq], (r) => {
    const next = [redactText(r.actual), redactText(r.expected), redactText(r.reason), redactDetailJson(r.detail, PROCESS_IDENTITY_FIELDS)] as const;
    if (next[0] !== r.actual || next[1] !== r.expected || next[2] !== r.reason || next[3] !== r.detail) update.run(...next, r.seq);
  });
}

/** An alert's JSON with its finding's node-reported text redacted; unreadable JSON is kept. */
function redactChange(json: string): string {
  let change: { finding?: Record<string, unknown> };
  try {
    change = JSON.parse(json) as typeof change;
  } catch {
    return json;
  }
  const f = change.finding;
  if (typeof f !== 'object' || f === null) return json;
  const before = JSON.stringify(change);
  for (const k of ['actual', 'expected', 'reason'] as const) if (typeof f[k] === 'string') f[k] = redactText(f[k] as string);
  if (f['detail'] !== undefined) f['detail'] = redactJson(f['detail'], PROCESS_IDENTITY_FIELDS);
  const out = JSON.stringify(change);
  return out === before ? json : out;
}

function redactOutbox(db: Db): void {
  const update = db.prepare('UPDATE webhook_outbox SET change = ? WHERE seq = ?');
  eachRow<{ seq: number; change: string }, [number]>(db, 'SELECT seq, change FROM webhook_outbox WHERE seq > ? ORDER BY seq LIMIT ?', [0], (r) => [r.seq], (r) => {
    const next = redactChange(r.change);
    if (next !== r.change) update.run(next, r.seq);
  });
}

/** Alertmanager's firing set (a table without rowid: paged by its key). */
function redactFiring(db: Db): void {
  type Row = { destination: string; finding_id: string; change: string };
  const update = db.prepare('UPDATE webhook_firing SET change = ? WHERE destination = ? AND finding_id = ?');
  eachRow<Row, [string, string]>(db, 'SELECT destination, finding_id, change FROM webhook_firing WHERE (destination, finding_id) > (?, ?) ORDER BY destination, finding_id LIMIT ?',
    ['', ''], (r) => [r.destination, r.finding_id], (r) => {
      const next = redactChange(r.change);
      if (next !== r.change) update.run(next, r.destination, r.finding_id);
    });
}

export const m008RedactStored: Migration = {
  version: 8,
  name: 'redact-stored',
  sql: '',
  run(db) {
    redactFindings(db);
    redactOutbox(db);
    redactFiring(db);
  },
};

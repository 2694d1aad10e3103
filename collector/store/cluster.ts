// Which cluster a database holds (migration 025), in SQLite: the implementation of
// ClusterStore (boundary/cluster.ts), and the judging both backends share (what `adopt` does
// with the stored row; a row's id within another uid).
//
// Rekeying rewrites every place that holds a finding id: findings.id, and the webhook outbox's
// and Alertmanager firing sets' finding_id with the id inside their `change` JSON (the
// finding as it was announced). A finding's history, rollups and latest results are keyed by
// its seq or by node, check and subject, so they stay attached. Not rewritten: the audit log's
// `target`, which records what an operator acted on, under the id it had then (a record is not
// edited after the fact); and a planned webhook delivery's delivery_id, the idempotency key its
// receiver has already seen or will see on the next try of the same message (new messages
// get ids made of the new finding ids).
//
// An id is recomputed from the stored node, check and subject (a webhook row's from the finding
// in its `change`, so it gets its finding's new id even when the finding row is gone). On
// PostgreSQL a NUL in text is stored as U+FFFD (pg/sql.ts), in a finding and in the snapshot an
// alert carries alike, while the id was made of the text as the agent sent it: when the fields
// as stored do not give the stored id, the same fields with U+FFFD read back as NUL are tried,
// and the new id is then the one the pipeline makes for the agent's next report. A row already
// within the new uid is left as it is, so a row read twice is rewritten once.
import { fingerprint } from '../../proto/fingerprint.js';
import type { AdoptOutcome, ClusterIdentity, ClusterStore } from './boundary/cluster.js';
import { StoreError } from './boundary/errors.js';
import type { Db } from './db.js';
import type { Synchronous } from './synchronous.js';

/** Rows read per batch while rekeying: the memory it takes stays bounded whatever the database holds. */
export const REKEY_BATCH = 1000;

/** What adopting means for the stored row: the outcome, and the uid to rekey from (undefined: no rekey). */
export interface Adoption {
  readonly outcome: AdoptOutcome;
  readonly rekeyFrom?: string;
}

const named = (c: ClusterIdentity): string => `"${c.name}" (uid ${c.uid === '' ? 'none: no Kubernetes API' : c.uid})`;

/** Decision 3 of docs/fleets.md: adopt, rekey, rename, nothing, or refuse another cluster's database. */
export function adoption(stored: ClusterIdentity | null, ours: ClusterIdentity): Adoption {
  if (stored === null) return ours.uid === '' ? { outcome: 'adopted' } : { outcome: 'adopted', rekeyFrom: '' };
  if (stored.uid === ours.uid) return { outcome: stored.name === ours.name ? 'same' : 'renamed' };
  if (stored.uid === '') return { outcome: 'rekeyed', rekeyFrom: '' };
  throw new StoreError('CLUSTER_MISMATCH', `this database holds the findings of cluster ${named(stored)}, and this collector is of cluster ${named(ours)}: `
    + 'a database holds one cluster and is never rewritten to another (give each cluster its own database, or on PostgreSQL its own schema: docs/fleets.md)');
}

const nul = (s: string): string => s.replaceAll('\uFFFD', '\u0000');

/**
 * The id a stored finding (id, node, check, subject) has within `to`; undefined when it already
 * is within `to`. See the header for the U+FFFD case. An id made of neither form of the fields
 * (never written by a collector) gets the fields' id within `to`, which the pipeline would make.
 */
export function rekeyedId(id: string, node: string, checkId: string, subject: string, from: string, to: string): string | undefined {
  const inputs: Array<readonly [string, string, string]> = [[node, checkId, subject]];
  if (`${node}${checkId}${subject}`.includes('\uFFFD')) inputs.push([nul(node), nul(checkId), nul(subject)]);
  const within = inputs.map(([n, c, s]) => fingerprint(n, c, s, to));
  if (within.includes(id)) return undefined;
  const made = inputs.findIndex(([n, c, s]) => fingerprint(n, c, s, from) === id);
  return within[Math.max(made, 0)];
}

/**
 * A webhook row's finding id and `change` within `to`, from the finding in the change; undefined
 * when it already is that, or when the change names no finding (our own JSON always does; such
 * a row would go out as it is).
 */
export function rekeyedChange(findingId: string, change: string, from: string, to: string): { readonly id: string; readonly change: string } | undefined {
  let c: unknown;
  try {
    c = JSON.parse(change);
  } catch {
    return undefined;
  }
  if (typeof c !== 'object' || c === null || !('finding' in c)) return undefined;
  const f = c.finding;
  if (typeof f !== 'object' || f === null || Array.isArray(f)) return undefined;
  const { node, checkId, subject } = f as Record<string, unknown>;
  if (typeof node !== 'string' || typeof checkId !== 'string' || typeof subject !== 'string') return undefined;
  const id = rekeyedId(findingId, node, checkId, subject, from, to);
  if (id === undefined) return undefined;
  (f as Record<string, unknown>)['id'] = id;
  return { id, change: JSON.stringify(c) };
}

interface IdentityRow { uid: string; name: string }
interface FindingKey { seq: number; id: string; node: string; check_id: string; subject: string }

/** `transaction`: the store's own (sqlite.ts), which refuses to run inside a unit. */
export function createClusterStore(db: Db, transaction: <T>(work: () => T) => T): Synchronous<ClusterStore> {
  const s = {
    identity: db.prepare<[], IdentityRow>('SELECT uid, name FROM cluster_identity WHERE singleton = 1'),
    write: db.prepare(`INSERT INTO cluster_identity (singleton, uid, name, adopted_at) VALUES (1, ?, ?, ?)
      ON CONFLICT (singleton) DO UPDATE SET uid = excluded.uid, name = excluded.name, adopted_at = excluded.adopted_at`),
    rename: db.prepare('UPDATE cluster_identity SET name = ? WHERE singleton = 1'),
    findings: db.prepare<[number, number], FindingKey>('SELECT seq, id, node, check_id, subject FROM findings WHERE seq > ? ORDER BY seq LIMIT ?'),
    setId: db.prepare('UPDATE findings SET id = ? WHERE seq = ?'),
    outbox: db.prepare<[number, number], { seq: number; finding_id: string; change: string }>(
      'SELECT seq, finding_id, change FROM webhook_outbox WHERE seq > ? ORDER BY seq LIMIT ?'),
    setOutbox: db.prepare('UPDATE webhook_outbox SET finding_id = ?, change = ? WHERE seq = ?'),
    firing: db.prepare<[string, string, number], { destination: string; finding_id: string; change: string }>(
      'SELECT destination, finding_id, change FROM webhook_firing WHERE (destination, finding_id) > (?, ?) ORDER BY destination, finding_id LIMIT ?'),
    setFiring: db.prepare('UPDATE webhook_firing SET finding_id = ?, change = ? WHERE destination = ? AND finding_id = ?'),
  };

  /** Every finding id within `to`; the number of findings rewritten. Batches by key (better-sqlite3 cannot write while a read is open). */
  function rekey(from: string, to: string): number {
    let n = 0;
    for (let after = 0; ;) {
      const rows = s.findings.all(after, REKEY_BATCH);
      for (const r of rows) {
        const id = rekeyedId(r.id, r.node, r.check_id, r.subject, from, to);
        if (id !== undefined) {
          s.setId.run(id, r.seq);
          n++;
        }
      }
      if (rows.length < REKEY_BATCH) break;
      after = rows.at(-1)!.seq;
    }
    for (let after = 0; ;) {
      const rows = s.outbox.all(after, REKEY_BATCH);
      for (const r of rows) {
        const next = rekeyedChange(r.finding_id, r.change, from, to);
        if (next) s.setOutbox.run(next.id, next.change, r.seq);
      }
      if (rows.length < REKEY_BATCH) break;
      after = rows.at(-1)!.seq;
    }
    // A row rewritten may sort after the walk's position and be read again: it is then already
    // within `to` and left as it is.
    for (let after: [string, string] = ['', '']; ;) {
      const rows = s.firing.all(...after, REKEY_BATCH);
      for (const r of rows) {
        const next = rekeyedChange(r.finding_id, r.change, from, to);
        if (next) s.setFiring.run(next.id, next.change, r.destination, r.finding_id);
      }
      if (rows.length < REKEY_BATCH) break;
      const last = rows.at(-1)!;
      after = [last.destination, last.finding_id];
    }
    return n;
  }

  return {
    identity: () => s.identity.get() ?? null,
    adopt: (ours, now) => transaction(() => {
      const stored = s.identity.get() ?? null;
      const a = adoption(stored, ours);
      const rekeyed = a.rekeyFrom === undefined ? 0 : rekey(a.rekeyFrom, ours.uid);
      if (a.outcome === 'renamed') s.rename.run(ours.name);
      else if (a.outcome !== 'same') s.write.run(ours.uid, ours.name, now);
      return { outcome: a.outcome, rekeyed };
    }),
  };
}

// Which cluster a database (schema) holds, on PostgreSQL: the implementation of ClusterStore
// (boundary/cluster.ts) over `Sql`; the SQLite one (store/cluster.ts) is the specification and
// holds the judging both share (adoption, rekeyedId, rekeyedChange).
//
// `adopt` is one transaction that first locks cluster_identity in EXCLUSIVE mode: of two
// replicas adopting at once, the second waits for the first to commit, then reads the row it
// wrote and finds nothing to do (the rekey runs once). Reads of the row go on meanwhile.
//
// Rows are read in keyset batches and each batch written with one UPDATE from arrays. A
// finding's id is UNIQUE and PostgreSQL checks a non-deferrable unique constraint row by row,
// not at the end of the statement; that is safe here because the ids written (within the
// new uid) are never ids within the old one (proto/fingerprint.ts: the two forms cannot
// meet), and two findings never map to one new id (each is its own node, check and subject).
// The same holds for webhook_firing's key (destination, finding_id).
import type { ClusterIdentity, ClusterStore } from '../boundary/cluster.js';
import { adoption, rekeyedChange, rekeyedId, REKEY_BATCH } from '../cluster.js';
import type { Sql, Transact } from './sql.js';

const LOCK = 'LOCK TABLE cluster_identity IN EXCLUSIVE MODE';
const IDENTITY = 'SELECT uid, name FROM cluster_identity WHERE singleton = 1';
const WRITE = `INSERT INTO cluster_identity (singleton, uid, name, adopted_at) VALUES (1, $1, $2, $3)
  ON CONFLICT (singleton) DO UPDATE SET uid = excluded.uid, name = excluded.name, adopted_at = excluded.adopted_at`;
const RENAME = 'UPDATE cluster_identity SET name = $1 WHERE singleton = 1';
const FINDINGS = 'SELECT seq, id, node, check_id, subject FROM findings WHERE seq > $1 ORDER BY seq LIMIT $2';
const SET_IDS = `UPDATE findings f SET id = v.id FROM unnest($1::bigint[], $2::text[]) AS v (seq, id) WHERE f.seq = v.seq`;
const OUTBOX = 'SELECT seq, finding_id, change FROM webhook_outbox WHERE seq > $1 ORDER BY seq LIMIT $2';
const SET_OUTBOX = `UPDATE webhook_outbox o SET finding_id = v.id, change = v.change
  FROM unnest($1::bigint[], $2::text[], $3::text[]) AS v (seq, id, change) WHERE o.seq = v.seq`;
const FIRING = `SELECT destination, finding_id, change FROM webhook_firing
  WHERE (destination COLLATE "C", finding_id COLLATE "C") > ($1::text COLLATE "C", $2::text COLLATE "C")
  ORDER BY destination COLLATE "C", finding_id COLLATE "C" LIMIT $3`;
const SET_FIRING = `UPDATE webhook_firing w SET finding_id = v.id, change = v.change
  FROM unnest($1::text[], $2::text[], $3::text[], $4::text[]) AS v (destination, old, id, change)
  WHERE w.destination = v.destination AND w.finding_id = v.old`;

interface FindingKey { seq: string | number; id: string; node: string; check_id: string; subject: string }

/** Every finding id within `to`, and the webhook rows' (store/cluster.ts); the number of findings rewritten. */
async function rekey(tx: Sql, from: string, to: string): Promise<number> {
  let n = 0;
  for (let after: string | number = 0; ;) {
    const rows: FindingKey[] = await tx.rows<FindingKey>(FINDINGS, [after, REKEY_BATCH]);
    const seqs: Array<string | number> = [];
    const ids: string[] = [];
    for (const r of rows) {
      const id = rekeyedId(r.id, r.node, r.check_id, r.subject, from, to);
      if (id !== undefined) {
        seqs.push(r.seq);
        ids.push(id);
      }
    }
    if (ids.length > 0) n += await tx.run(SET_IDS, [seqs, ids]);
    if (rows.length < REKEY_BATCH) break;
    after = rows.at(-1)!.seq;
  }
  for (let after: string | number = 0; ;) {
    const rows: Array<{ seq: string | number; finding_id: string; change: string }> = await tx.rows(OUTBOX, [after, REKEY_BATCH]);
    const seqs: Array<string | number> = [];
    const ids: string[] = [];
    const changes: string[] = [];
    for (const r of rows) {
      const next = rekeyedChange(r.finding_id, r.change, from, to);
      if (next) {
        seqs.push(r.seq);
        ids.push(next.id);
        changes.push(next.change);
      }
    }
    if (seqs.length > 0) await tx.run(SET_OUTBOX, [seqs, ids, changes]);
    if (rows.length < REKEY_BATCH) break;
    after = rows.at(-1)!.seq;
  }
  // A row rewritten may sort after the walk's position and be read again: it is then already
  // within `to` and left as it is.
  for (let after: [string, string] = ['', '']; ;) {
    const rows = await tx.rows<{ destination: string; finding_id: string; change: string }>(FIRING, [...after, REKEY_BATCH]);
    const dests: string[] = [];
    const olds: string[] = [];
    const ids: string[] = [];
    const changes: string[] = [];
    for (const r of rows) {
      const next = rekeyedChange(r.finding_id, r.change, from, to);
      if (next) {
        dests.push(r.destination);
        olds.push(r.finding_id);
        ids.push(next.id);
        changes.push(next.change);
      }
    }
    if (ids.length > 0) await tx.run(SET_FIRING, [dests, olds, ids, changes]);
    if (rows.length < REKEY_BATCH) break;
    const last = rows.at(-1)!;
    after = [last.destination, last.finding_id];
  }
  return n;
}

export function createPgClusterStore(sql: Sql, transact: Transact): ClusterStore {
  return {
    async identity(): Promise<ClusterIdentity | null> {
      return (await sql.one<ClusterIdentity>(IDENTITY)) ?? null;
    },
    adopt(ours, now) {
      return transact(async (tx) => {
        await tx.run(LOCK);
        const a = adoption((await tx.one<ClusterIdentity>(IDENTITY)) ?? null, ours);
        const rekeyed = a.rekeyFrom === undefined ? 0 : await rekey(tx, a.rekeyFrom, ours.uid);
        if (a.outcome === 'renamed') await tx.run(RENAME, [ours.name]);
        else if (a.outcome !== 'same') await tx.run(WRITE, [ours.uid, ours.name, now]);
        return { outcome: a.outcome, rekeyed };
      });
    },
  };
}

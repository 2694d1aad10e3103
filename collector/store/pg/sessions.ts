// Dashboard sessions on PostgreSQL: the implementation of SessionStore (boundary/sessions.ts)
// over `Sql`; the SQLite one (store/sessions.ts) is the specification. Sessions live in the
// database, so a login on one replica is honoured by every other.
//
// `create` keeps at most `max` sessions. Two replicas creating at once must not both count
// max - 1 and both insert: each creation is one transaction that first locks the table in
// SHARE ROW EXCLUSIVE mode, which one creation at a time can hold (reads of sessions go on;
// a logout or a purge waits for the creation to end), then counts, evicts and inserts.
import type { SessionRow, SessionStore } from '../boundary/sessions.js';
import { sessionOf, type RawSession } from '../sessions.js';
import type { Sql, Transact } from './sql.js';

const LOCK = 'LOCK TABLE sessions IN SHARE ROW EXCLUSIVE MODE';
const INSERT = `INSERT INTO sessions (id_sha256, name, role, csrf_token, created_at, expires_at)
  VALUES ($1, $2, $3, $4, $5, $6)`;
const GET = 'SELECT * FROM sessions WHERE id_sha256 = $1 AND expires_at > $2';
const REMOVE = 'DELETE FROM sessions WHERE id_sha256 = $1';
const PURGE = 'DELETE FROM sessions WHERE expires_at <= $1';
const COUNT = 'SELECT count(*) AS n FROM sessions';
const EVICT_OLDEST = `DELETE FROM sessions WHERE id_sha256 IN
  (SELECT id_sha256 FROM sessions ORDER BY created_at, id_sha256 COLLATE "C" LIMIT $1)`;

export function createPgSessionStore(sql: Sql, transact: Transact): SessionStore {
  return {
    create(row: SessionRow, max: number, now: number): Promise<number> {
      return transact(async (tx) => {
        await tx.run(LOCK);
        await tx.run(PURGE, [now]);
        const over = (await tx.one<{ n: number }>(COUNT))!.n - max + 1;
        const evicted = over > 0 ? await tx.run(EVICT_OLDEST, [over]) : 0;
        await tx.run(INSERT, [row.idSha256, row.name, row.role, row.csrfToken, row.createdAt, row.expiresAt]);
        return evicted;
      });
    },
    async get(idSha256: string, now: number): Promise<SessionRow | undefined> {
      const r = await sql.one<RawSession>(GET, [idSha256, now]);
      return r ? sessionOf(r) : undefined;
    },
    async remove(idSha256: string): Promise<void> {
      await sql.run(REMOVE, [idSha256]);
    },
    async purgeExpired(now: number): Promise<number> {
      return sql.run(PURGE, [now]);
    },
    async count(): Promise<number> {
      return (await sql.one<{ n: number }>(COUNT))!.n;
    },
  };
}

// Dashboard sessions (migration 018), in SQLite: the implementation of SessionStore
// (boundary/sessions.ts).
import type { Synchronous } from './synchronous.js';
import type { SessionRow, SessionStore } from './boundary/sessions.js';
import type { Db } from './db.js';

export interface RawSession { id_sha256: string; name: string; role: 'reader' | 'admin'; csrf_token: string; created_at: number; expires_at: number }

export const sessionOf = (r: RawSession): SessionRow => ({
  idSha256: r.id_sha256, name: r.name, role: r.role, csrfToken: r.csrf_token, createdAt: r.created_at, expiresAt: r.expires_at,
});

export function createSessionStore(db: Db): Synchronous<SessionStore> {
  const s = {
    insert: db.prepare(`INSERT INTO sessions (id_sha256, name, role, csrf_token, created_at, expires_at)
      VALUES (@idSha256, @name, @role, @csrfToken, @createdAt, @expiresAt)`),
    get: db.prepare<[string, number], RawSession>('SELECT * FROM sessions WHERE id_sha256 = ? AND expires_at > ?'),
    remove: db.prepare('DELETE FROM sessions WHERE id_sha256 = ?'),
    purge: db.prepare('DELETE FROM sessions WHERE expires_at <= ?'),
    count: db.prepare<[], { n: number }>('SELECT count(*) AS n FROM sessions'),
    evictOldest: db.prepare(`DELETE FROM sessions WHERE id_sha256 IN
      (SELECT id_sha256 FROM sessions ORDER BY created_at, id_sha256 LIMIT ?)`),
  };
  const create = db.transaction((row: SessionRow, max: number, now: number): number => {
    s.purge.run(now);
    const over = s.count.get()!.n - max + 1;
    const evicted = over > 0 ? s.evictOldest.run(over).changes : 0;
    s.insert.run(row);
    return evicted;
  });

  return {
    create: (row, max, now) => create.immediate(row, max, now),
    get(idSha256, now) {
      const r = s.get.get(idSha256, now);
      return r ? sessionOf(r) : undefined;
    },
    remove(idSha256) {
      s.remove.run(idSha256);
    },
    purgeExpired: (now) => s.purge.run(now).changes,
    count: () => s.count.get()!.n,
  };
}

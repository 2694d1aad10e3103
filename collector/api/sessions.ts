// Dashboard sessions: a bearer token is exchanged once for a random session id carried in
// an HttpOnly, Secure, SameSite=Strict cookie. The token itself never reaches the cookie
// or the page. Sessions are kept in the store (a collector restart keeps them), by the
// SHA-256 of their id only: a copy of the database holds no cookie that works. Their number
// is bounded (the oldest go first); expired ones are never honoured, and the sweeper deletes
// them.
//
// Each session has a CSRF token: random, served only to the session's own page (GET
// /ui/session, read with the cookie; never in a cookie), and required in the
// `x-nodeward-csrf` header of every write the cookie authenticates (api/app.ts).
//
// A session is worth what its token is worth now: each use checks that a token of the
// session's name and role is still configured.
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { SessionStore } from '../store/store.js';
import type { Principal } from './auth.js';

export const SESSION_COOKIE = '__Host-nodeward-session';
/** The request header that carries the session's CSRF token on writes. */
export const CSRF_HEADER = 'x-nodeward-csrf';
export const MAX_SESSIONS = 10_000;

export interface Session {
  readonly principal: Principal;
  readonly csrfToken: string;
}

export interface SessionDeps {
  readonly ttlMs: number;
  readonly store: SessionStore;
  /** Whether the principal still holds (its token is configured with that role). */
  readonly stillHolds: (principal: Principal) => boolean;
  readonly now: () => number;
  readonly max?: number;
}

const sha256 = (value: string): string => createHash('sha256').update(value, 'utf8').digest('hex');

export function createSessions(deps: SessionDeps) {
  const max = deps.max ?? MAX_SESSIONS;
  return {
    async create(principal: Principal): Promise<{ id: string; csrfToken: string; maxAgeSeconds: number }> {
      const id = randomBytes(32).toString('base64url');
      const csrfToken = randomBytes(32).toString('base64url');
      const at = deps.now();
      await deps.store.create({ idSha256: sha256(id), name: principal.name, role: principal.role, csrfToken, createdAt: at, expiresAt: at + deps.ttlMs }, max, at);
      return { id, csrfToken, maxAgeSeconds: Math.floor(deps.ttlMs / 1000) };
    },
    /** The live session the cookie's id names, whose token still holds; or undefined. */
    async get(id: string | undefined): Promise<Session | undefined> {
      if (!id) return undefined;
      const row = await deps.store.get(sha256(id), deps.now());
      if (!row) return undefined;
      const principal: Principal = { name: row.name, role: row.role };
      if (!deps.stillHolds(principal)) return undefined;
      return { principal, csrfToken: row.csrfToken };
    },
    async end(id: string | undefined): Promise<void> {
      if (id) await deps.store.remove(sha256(id));
    },
  };
}

export type Sessions = ReturnType<typeof createSessions>;

/** Whether a request's CSRF header value is the session's token, compared in constant time. */
export function csrfMatches(given: string | string[] | undefined, session: Session): boolean {
  if (typeof given !== 'string' || given === '') return false;
  // Hashed first, so the comparison takes the same time whatever the length of what was sent.
  return timingSafeEqual(createHash('sha256').update(given, 'utf8').digest(), createHash('sha256').update(session.csrfToken, 'utf8').digest());
}

/** The value of one cookie from a Cookie header, or undefined. */
export function readCookie(header: string | undefined, name: string): string | undefined {
  if (!header) return undefined;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq < 0) continue;
    if (part.slice(0, eq).trim() === name) {
      const v = part.slice(eq + 1).trim();
      return /^[A-Za-z0-9_-]{1,128}$/.test(v) ? v : undefined;
    }
  }
  return undefined;
}

export function sessionCookie(id: string, maxAgeSeconds: number): string {
  return `${SESSION_COOKIE}=${id}; Path=/; Max-Age=${maxAgeSeconds}; HttpOnly; Secure; SameSite=Strict`;
}

export function clearedSessionCookie(): string {
  return `${SESSION_COOKIE}=; Path=/; Max-Age=0; HttpOnly; Secure; SameSite=Strict`;
}

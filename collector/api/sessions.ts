// Dashboard sessions: a bearer token is exchanged once for a random session id carried in
// an HttpOnly, Secure, SameSite=Strict cookie. The token itself never reaches the cookie
// or the page. Sessions live in memory (a collector restart means logging in again) and
// their number is bounded.
import { randomBytes } from 'node:crypto';
import type { Principal } from './auth.js';

export const SESSION_COOKIE = '__Host-nodeward-session';

export function createSessions(opts: { ttlMs: number; max?: number; now?: () => number }) {
  const now = opts.now ?? Date.now;
  const max = opts.max ?? 10_000;
  const sessions = new Map<string, { principal: Principal; expires: number }>();
  return {
    create(principal: Principal): { id: string; maxAgeSeconds: number } {
      if (sessions.size >= max) {
        const oldest = sessions.keys().next();
        if (!oldest.done) sessions.delete(oldest.value);
      }
      const id = randomBytes(32).toString('base64url');
      sessions.set(id, { principal, expires: now() + opts.ttlMs });
      return { id, maxAgeSeconds: Math.floor(opts.ttlMs / 1000) };
    },
    get(id: string | undefined): Principal | undefined {
      if (!id) return undefined;
      const s = sessions.get(id);
      if (!s) return undefined;
      if (s.expires <= now()) {
        sessions.delete(id);
        return undefined;
      }
      return s.principal;
    },
    end(id: string | undefined): void {
      if (id) sessions.delete(id);
    },
  };
}

export type Sessions = ReturnType<typeof createSessions>;

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

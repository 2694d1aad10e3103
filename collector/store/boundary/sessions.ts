// The sessions part of the Store boundary (store.ts): dashboard sessions, kept across
// collector restarts. The store holds rows and never sees a session id: the API hashes it
// (api/sessions.ts) and hands over the hash. Plain types: the SQLite implementation is
// store/sessions.ts.

/** One session as stored. */
export interface SessionRow {
  /** SHA-256 of the session id, hex. */
  readonly idSha256: string;
  /** The token's name and role when the session was created. */
  readonly name: string;
  readonly role: 'reader' | 'admin';
  /** The session's CSRF token, which writes made with the cookie must carry. */
  readonly csrfToken: string;
  readonly createdAt: number;
  readonly expiresAt: number;
}

export interface SessionStore {
  /**
   * Stores a new session, in one transaction with the room it needs: expired rows go, and at
   * `max` sessions the oldest go. How many were evicted (expired rows not counted).
   */
  create(row: SessionRow, max: number, now: number): Promise<number>;
  /** The session with this hash, unless it has expired by `now`. Writes nothing. */
  get(idSha256: string, now: number): Promise<SessionRow | undefined>;
  /** Ends a session (logout). */
  remove(idSha256: string): Promise<void>;
  /** Deletes the sessions expired by `now`; how many. */
  purgeExpired(now: number): Promise<number>;
  count(): Promise<number>;
}

// PLACEHOLDER, replaced at merge by the PostgreSQL sessions store's own file (issue 23, written
// on another branch): every method rejects with NOT_IMPLEMENTED, so the store composes and
// compiles meanwhile.
import type { SessionStore } from '../boundary/sessions.js';
import { StoreError } from '../boundary/errors.js';
import type { Sql } from './sql.js';

export function createPgSessionStore(_sql: Sql): SessionStore {
  return new Proxy({}, {
    get: (_target, name) => () => Promise.reject(new StoreError('NOT_IMPLEMENTED', `PostgreSQL sessions.${String(name)} is not written yet`)),
  }) as SessionStore;
}

// PLACEHOLDER, replaced at merge by the PostgreSQL audit store's own file (issue 23, written
// on another branch): every method rejects with NOT_IMPLEMENTED, so the store composes and
// compiles meanwhile. It buffers nothing, so `flush` has nothing to write, and `refusal`
// (synchronous, buffered by the real log) drops what it is given.
import type { AuditLog } from '../boundary/audit.js';
import { StoreError } from '../boundary/errors.js';
import type { Sql, Transact } from './sql.js';

export function createPgAuditLog(_sql: Sql, _transact?: Transact): AuditLog {
  return new Proxy({}, {
    get: (_target, name) => (name === 'flush' ? () => Promise.resolve() : name === 'refusal' ? () => undefined : () => Promise.reject(new StoreError('NOT_IMPLEMENTED', `PostgreSQL audit.${String(name)} is not written yet`))),
  }) as AuditLog;
}

// PLACEHOLDER, replaced at merge by the PostgreSQL processes store's own file (issue 23, written
// on another branch): every method rejects with NOT_IMPLEMENTED, so the store composes and
// compiles meanwhile.
import type { ProcessQueries } from '../boundary/processes.js';
import { StoreError } from '../boundary/errors.js';
import type { Sql } from './sql.js';

export function createPgProcessQueries(_sql: Sql): ProcessQueries {
  return new Proxy({}, {
    get: (_target, name) => () => Promise.reject(new StoreError('NOT_IMPLEMENTED', `PostgreSQL processes.${String(name)} is not written yet`)),
  }) as ProcessQueries;
}

// PLACEHOLDER, replaced at merge by the PostgreSQL baselines store's own file (issue 23, written
// on another branch): every method rejects with NOT_IMPLEMENTED, so the store composes and
// compiles meanwhile.
import type { BaselineStore } from '../boundary/baselines.js';
import { StoreError } from '../boundary/errors.js';
import type { Sql, Transact } from './sql.js';

export function createPgBaselineStore(_sql: Sql, _transact: Transact): BaselineStore {
  return new Proxy({}, {
    get: (_target, name) => () => Promise.reject(new StoreError('NOT_IMPLEMENTED', `PostgreSQL baselines.${String(name)} is not written yet`)),
  }) as BaselineStore;
}

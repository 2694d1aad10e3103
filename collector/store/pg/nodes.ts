// PLACEHOLDER, replaced at merge by the PostgreSQL nodes store's own file (issue 23, written
// on another branch): every method rejects with NOT_IMPLEMENTED, so the store composes and
// compiles meanwhile.
import type { NodeStore } from '../boundary/nodes.js';
import { StoreError } from '../boundary/errors.js';
import type { Sql } from './sql.js';

export function createPgNodeStore(_sql: Sql): NodeStore {
  return new Proxy({}, {
    get: (_target, name) => () => Promise.reject(new StoreError('NOT_IMPLEMENTED', `PostgreSQL nodes.${String(name)} is not written yet`)),
  }) as NodeStore;
}

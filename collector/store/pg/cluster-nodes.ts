// PLACEHOLDER, replaced at merge by the PostgreSQL cluster-nodes store's own file (issue 23, written
// on another branch): every method rejects with NOT_IMPLEMENTED, so the store composes and
// compiles meanwhile.
import type { ClusterNodeStore } from '../boundary/cluster-nodes.js';
import { StoreError } from '../boundary/errors.js';
import type { Sql } from './sql.js';

export function createPgClusterNodeStore(_sql: Sql): ClusterNodeStore {
  return new Proxy({}, {
    get: (_target, name) => () => Promise.reject(new StoreError('NOT_IMPLEMENTED', `PostgreSQL cluster-nodes.${String(name)} is not written yet`)),
  }) as ClusterNodeStore;
}

import type { Migration } from './migration.js';

// An operator may allow a listen for a baseline (POST /api/v1/baselines/allow-listen,
// docs/exposure.md): baseline_listens records how each joined.
//   source    'learned': a node reported it (first_node is that node);
//             'operator': an operator allowed it (first_node is the operator's token name).
//             A listen may be `<tcp|udp>/<class>:<port>`, an address class's (operators only).
// Every row before this migration was a node's. The listens a locked baseline turned away
// (listens_refused) and those past its bound (listens_dropped) are counted from now on.
export const m021ListenAllows: Migration = {
  version: 21,
  name: 'listen-allows',
  sql: `
ALTER TABLE baseline_listens ADD COLUMN source TEXT NOT NULL DEFAULT 'learned' CHECK (source IN ('learned', 'operator'));
INSERT INTO baseline_meta (name, value) VALUES ('listens_dropped', 0), ('listens_refused', 0);
`,
};

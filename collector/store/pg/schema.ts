// The PostgreSQL schema a cluster's collector keeps its tables in (store.postgres.schema,
// docs/fleets.md), and the names that must differ between two clusters sharing one database.
// Pure: nothing here connects.
//
// Every connection the collector opens sets search_path to exactly that schema before it is
// used (pool.ts): a `SET search_path` sent on each new session, not the `options` startup
// parameter, because PgBouncer refuses `options` or (listed in ignore_startup_parameters)
// drops it, while a SET in session mode stays with the client's server session.
//
// PostgreSQL's advisory locks and NOTIFY channels belong to the database, not to a schema, so
// two clusters on one database would share a leader, wait on each other's migrations and hear
// each other's baseline changes. Each is therefore named per schema:
//   - schema `public` keeps the names it always had: the lock keys are eight ASCII letters
//     read as a big-endian 64-bit integer ("nodeward" the migrator, "nwleader" the leader,
//     "nwbaseke" the baseline keys, "nwcnodes" the cluster nodes' replace) and the channel is
//     `nodeward_baselines`, so a database migrated before schemas were a setting keeps working
//     beside collectors of the older version during a rolling update;
//   - any other schema: the key is the first 8 bytes of SHA-256 of "<letters>\0<schema>" read
//     as a signed big-endian 64-bit integer, and the channel is `nodeward_baselines_` followed
//     by the first 16 hex digits of SHA-256 of the schema (a channel name is an identifier of
//     at most 63 bytes, so the schema itself, up to 63, would not fit after the prefix).
// A NUL never appears in a schema name, so no schema's input meets another's.
import { createHash } from 'node:crypto';
import { checkSchemaName, DEFAULT_SCHEMA } from './settings.js';

export { checkSchemaName, DEFAULT_SCHEMA, SCHEMA_PATTERN } from './settings.js';

/** The name quoted as an identifier. Only for names checkSchemaName accepted (or from the catalog). */
export function quoteIdent(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

/** The statement every new connection runs first: the schema alone on the search path. */
export function searchPathStatement(schema: string): string {
  const why = checkSchemaName(schema);
  if (why !== undefined) throw new Error(why);
  return `SET search_path TO ${quoteIdent(schema)}`;
}

/** The names a schema's collectors share with each other and with no other schema's. */
export interface SchemaNames {
  readonly schema: string;
  readonly migrationLock: string;
  readonly leaderLock: string;
  readonly baselineKeysLock: string;
  readonly clusterNodesLock: string;
  readonly baselineChannel: string;
}

const asciiKey = (letters: string): string => BigInt.asIntN(64, BigInt(`0x${Buffer.from(letters, 'ascii').toString('hex')}`)).toString();

const hashedKey = (letters: string, schema: string): string =>
  BigInt.asIntN(64, BigInt(`0x${createHash('sha256').update(`${letters}\u0000${schema}`).digest('hex').slice(0, 16)}`)).toString();

function lockKey(letters: string, schema: string): string {
  return schema === DEFAULT_SCHEMA ? asciiKey(letters) : hashedKey(letters, schema);
}

export const PUBLIC_BASELINE_CHANNEL = 'nodeward_baselines';

/** The lock keys (bigint as decimal text, as bound) and channel of a schema. */
export function schemaNames(schema: string): SchemaNames {
  return {
    schema,
    migrationLock: lockKey('nodeward', schema),
    leaderLock: lockKey('nwleader', schema),
    baselineKeysLock: lockKey('nwbaseke', schema),
    clusterNodesLock: lockKey('nwcnodes', schema),
    baselineChannel: schema === DEFAULT_SCHEMA
      ? PUBLIC_BASELINE_CHANNEL
      : `nodeward_baselines_${createHash('sha256').update(schema).digest('hex').slice(0, 16)}`,
  };
}

export const PUBLIC_NAMES = schemaNames(DEFAULT_SCHEMA);

/** The schema a session's tables are made and read in (search_path's first existing schema), or null. */
export const CURRENT_SCHEMA = 'SELECT current_schema() AS schema';

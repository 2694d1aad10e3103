// How the collector reaches PostgreSQL: the connection URL (read from a file, a mounted
// Secret, by the config module), the TLS mode and the pool, turned into node-postgres's pool
// options. Pure: nothing here connects.
//
// The URL carries the password, so it is a secret: config keeps it behind a function (no
// JSON or log line of the config holds it) and every message names the server with
// `redactUrl`. TLS is set here only, never in the URL: node-postgres replaces the whole TLS
// configuration when the URL has sslmode, sslrootcert, sslcert or sslkey, so such a URL is
// refused instead of silently losing the verification.
//   disable      no TLS (a Unix socket, or a sidecar that encrypts)
//   require      TLS, the server's certificate not checked (encrypted, not authenticated)
//   verify-ca    TLS, the certificate must chain to the CA (store.postgres.caFile, else the
//                system's CAs), whatever name it holds
//   verify-full  verify-ca, and the certificate must name the host of the URL (the default)
// The schema (store.postgres.schema, default public) is where this cluster's tables live: every
// connection sets search_path to it alone (pool.ts, schema.ts; docs/fleets.md).
// It imports nothing of node-postgres (config.ts reads it): pool.ts hands these to the driver.

export type SslMode = 'disable' | 'require' | 'verify-ca' | 'verify-full';

export interface PostgresSettings {
  /** The connection URL, password included: never log it (redactUrl). */
  readonly url: () => string;
  readonly sslMode: SslMode;
  /** PEM of the CA that signs the server's certificate; undefined: the system's CAs. */
  readonly ca: Buffer | undefined;
  readonly poolSize: number;
  readonly connectTimeoutMs: number;
  /** The schema of this cluster's tables (checkSchemaName below accepted it); default public. */
  readonly schema?: string;
}

/** The schema names accepted: lower case, digits and `_`, not starting with a digit, at most 63 bytes. */
export const SCHEMA_PATTERN = /^[a-z_][a-z0-9_]{0,62}$/;

export const DEFAULT_SCHEMA = 'public';

/** Why `name` is not a schema this collector uses, or undefined when it is. */
export function checkSchemaName(name: string): string | undefined {
  if (SCHEMA_PATTERN.test(name)) return undefined;
  if (name === '') return 'the schema name is empty';
  return `${JSON.stringify(name.slice(0, 80))} is not a schema name this collector accepts (${SCHEMA_PATTERN.source}: lower case letters, digits and _, not starting with a digit, at most 63 characters)`;
}

const TLS_PARAMETERS = ['ssl', 'sslmode', 'sslrootcert', 'sslcert', 'sslkey', 'sslpassword', 'sslcrl'];

/** Why `text` is not a URL this collector connects with, or undefined when it is. */
export function checkPostgresUrl(text: string): string | undefined {
  if (text === '') return 'the file is empty';
  if (/\s/.test(text)) return 'the URL holds white space';
  let u: URL;
  try {
    u = new URL(text);
  } catch {
    return 'not a URL (postgres://user:password@host:5432/database)';
  }
  if (u.protocol !== 'postgres:' && u.protocol !== 'postgresql:') return `the scheme must be postgres: or postgresql:, not ${u.protocol}`;
  if (u.hostname === '' && !u.searchParams.has('host')) return 'the URL names no host';
  if (u.pathname.length <= 1) return 'the URL names no database (postgres://user:password@host:5432/database)';
  const tls = TLS_PARAMETERS.filter((p) => u.searchParams.has(p));
  if (tls.length > 0) return `the URL sets ${tls.join(', ')}: set TLS with store.postgres.sslMode and store.postgres.caFile instead`;
  return undefined;
}

/** The URL with its password (and any password parameter) replaced: what logs and errors may show. */
export function redactUrl(text: string): string {
  try {
    const u = new URL(text);
    if (u.password !== '') u.password = 'redacted';
    for (const p of ['password', 'passfile']) if (u.searchParams.has(p)) u.searchParams.set(p, 'redacted');
    return u.toString();
  } catch {
    return '<unreadable URL>';
  }
}

/** node-postgres's `ssl` option: false, or options for tls.connect. */
export type TlsOptions = false | { readonly rejectUnauthorized: boolean; readonly ca?: Buffer; readonly checkServerIdentity?: () => undefined };

/** node-postgres's `ssl` option for a mode. */
export function tlsOptions(mode: SslMode, ca: Buffer | undefined): TlsOptions {
  switch (mode) {
    case 'disable': return false;
    case 'require': return { rejectUnauthorized: false };
    // The chain is checked; the name is not (Node checks it unless told otherwise).
    case 'verify-ca': return { rejectUnauthorized: true, ...(ca ? { ca } : {}), checkServerIdentity: () => undefined };
    case 'verify-full': return { rejectUnauthorized: true, ...(ca ? { ca } : {}) };
  }
}

/**
 * int8 as a number, as better-sqlite3 returns INTEGER: node-postgres returns it as text,
 * since it may pass 2^53. The store's values are milliseconds and counts, far below; one
 * beyond is refused rather than rounded.
 */
export function parseInt8(text: string): number {
  const n = Number(text);
  if (!Number.isSafeInteger(n)) throw new RangeError(`bigint ${text} is beyond what the store reads exactly (2^53 - 1)`);
  return n;
}

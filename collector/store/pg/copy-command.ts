// `nodeward store copy`: copies a collector's SQLite database into a PostgreSQL database
// (copy.ts), for an operator moving an install to the PostgreSQL store. The URL comes from a
// file, as the collector's store.postgres.urlFile, and is shown only redacted; TLS is set with
// the same modes as store.postgres.sslMode. Exit codes: 0 copied, 1 refused or failed (nothing
// written), 2 usage: a flag missing or wrong, a URL file that cannot be read or holds no usable URL.
// `--schema` names the cluster's schema (store.postgres.schema; docs/fleets.md), public by default.
import { Option, type Command } from 'commander';
import { readFileSync } from 'node:fs';
import type { CopyOutcome } from './copy.js';
import { checkPostgresUrl, checkSchemaName, DEFAULT_SCHEMA, redactUrl, type PostgresSettings, type SslMode } from './settings.js';

const SSL_MODES: readonly SslMode[] = ['disable', 'require', 'verify-ca', 'verify-full'];

export interface StoreCommandIo {
  readonly stdout: NodeJS.WritableStream;
}

/** Something the operator must fix in the command line: bin/cli.ts exits 2 for code USAGE. */
class StoreUsageError extends Error {
  readonly code = 'USAGE';
}

interface CopyFlags { from: string; toUrlFile: string; sslMode: SslMode; caFile?: string; schema: string; connectTimeoutMs: number }

export function addStoreCommand(program: Command, io: StoreCommandIo): Command {
  const store = program.command('store').description("the collector's database: copy an existing SQLite database into PostgreSQL");
  store.command('copy')
    .description('copy a SQLite database (collector stopped, file at the latest schema) into a new PostgreSQL database, in one transaction')
    .requiredOption('--from <file>', "the collector's SQLite file (dataDir/nodeward.db), opened read-only")
    .requiredOption('--to-url-file <file>', 'a file holding the PostgreSQL URL, postgres://user:password@host:5432/database (never printed)')
    .addOption(new Option('--ssl-mode <mode>', 'TLS to the server, as store.postgres.sslMode').choices(SSL_MODES).default('verify-full'))
    .option('--ca-file <file>', "CA that signs the server's certificate (verify-ca, verify-full); default: the system's CAs")
    .option('--schema <name>', "the cluster's schema, as store.postgres.schema (it must exist, owned by the URL's role)", DEFAULT_SCHEMA)
    .addOption(new Option('--connect-timeout-ms <ms>', 'how long to wait for the server').default(10_000).argParser(Number).hideHelp())
    .action(async (o: CopyFlags) => {
      const target = settingsFrom(o);
      // Loaded here: the other commands need neither better-sqlite3 nor node-postgres.
      const { copySqliteToPostgres } = await import('./copy.js');
      const outcome = await copySqliteToPostgres({ sqlitePath: o.from, target });
      io.stdout.write(summary(o.from, redactUrl(target.url()), outcome));
    });
  return store;
}

/** The target's settings from the flags; every problem with the URL file is a usage error that never quotes the file. */
function settingsFrom(o: CopyFlags): PostgresSettings {
  if (o.caFile !== undefined && (o.sslMode === 'disable' || o.sslMode === 'require')) {
    throw new StoreUsageError(`--ca-file is not used with --ssl-mode ${o.sslMode}, which verifies nothing; use verify-full (or verify-ca)`);
  }
  let raw: string;
  try {
    raw = readFileSync(o.toUrlFile, 'utf8');
  } catch (err) {
    throw new StoreUsageError(`--to-url-file ${o.toUrlFile}: cannot read it (${(err as NodeJS.ErrnoException).code ?? 'error'})`);
  }
  // A Secret's file often ends with a newline; nothing else around the URL is taken.
  const url = raw.trim();
  const why = checkPostgresUrl(url);
  if (why !== undefined) throw new StoreUsageError(`--to-url-file ${o.toUrlFile}: ${why}`);
  let ca: Buffer | undefined;
  if (o.caFile !== undefined) {
    try {
      ca = readFileSync(o.caFile);
    } catch (err) {
      throw new StoreUsageError(`--ca-file ${o.caFile}: cannot read it (${(err as NodeJS.ErrnoException).code ?? 'error'})`);
    }
  }
  if (!Number.isInteger(o.connectTimeoutMs) || o.connectTimeoutMs <= 0) throw new StoreUsageError('--connect-timeout-ms: a positive number of milliseconds');
  const badSchema = checkSchemaName(o.schema);
  if (badSchema !== undefined) throw new StoreUsageError(`--schema: ${badSchema}`);
  return { url: () => url, sslMode: o.sslMode, ca, poolSize: 1, connectTimeoutMs: o.connectTimeoutMs, schema: o.schema };
}

/** What was copied, per table, and where each identity continues. No row value, no password. */
export function summary(from: string, redactedUrl: string, c: CopyOutcome): string {
  const width = Math.max(5, ...c.tables.map((t) => t.table.length));
  const rows = c.tables.reduce((n, t) => n + t.rows, 0);
  const lines = [
    `Copied ${from} (SQLite schema ${c.sqliteVersion}) into ${redactedUrl} (PostgreSQL schema ${c.postgresVersion}): ${rows} rows in ${c.tables.length} tables, one transaction, row counts verified.`,
    `${'TABLE'.padEnd(width)}  ${'ROWS'.padStart(9)}  ${'BATCHES'.padStart(7)}`,
    ...c.tables.map((t) => `${t.table.padEnd(width)}  ${String(t.rows).padStart(9)}  ${String(t.batches).padStart(7)}`),
    `Identities continue at: ${c.identities.map((i) => `${i.table}.${i.column} ${i.next}`).join(', ')}.`,
  ];
  return `${lines.join('\n')}\n`;
}

// The shape of a collector database, read from SQLite (PRAGMAs) and from PostgreSQL (the
// catalogs) into one normalised form, and the differences between two shapes as plain lines:
// what test/collector/pg-schema-parity.test.ts compares so that neither backend's schema
// drifts from the other's.
//
// Normalised, because the two say the same things differently:
//   - a column's type is its class: integer (INTEGER; smallint, integer, bigint), text (TEXT;
//     text, varchar, json, jsonb: SQLite keeps JSON as text), blob (BLOB; bytea), real;
//   - a primary key's columns are NOT NULL (SQLite reports a rowid table's key as nullable);
//   - `auto`: the key SQLite assigns (INTEGER PRIMARY KEY, the rowid) and PostgreSQL's
//     identity column;
//   - SQLite appends the rowid to every index of a rowid table, so there a non-unique index
//     ends with the INTEGER PRIMARY KEY column whether or not its CREATE INDEX names it; the
//     PostgreSQL schema has to name it (the queries walk those indexes in seq order);
//   - a partial index's predicate is compared as text without casts, parentheses, case or
//     repeated spaces ("(state = 'open'::text)" is "state = 'open'").
// Indexes are compared by table, columns, uniqueness and predicate, not by name.
import type Database from 'better-sqlite3';
import type { ClientBase } from 'pg';

export type TypeClass = 'integer' | 'text' | 'blob' | 'real' | `unknown ${string}`;

export interface ColumnShape {
  readonly type: TypeClass;
  readonly notNull: boolean;
  readonly hasDefault: boolean;
  readonly auto: boolean;
}

export interface TableShape {
  readonly columns: Readonly<Record<string, ColumnShape>>;
  readonly primaryKey: readonly string[];
  /** Unique constraints (and unique indexes), each as "a, b". */
  readonly unique: readonly string[];
  /** Other indexes, each as "(a, b) [unique] [where ...]". */
  readonly indexes: readonly string[];
  /** Foreign keys, each as "(a, b) -> table (c, d) on delete ACTION". */
  readonly foreignKeys: readonly string[];
}

export type SchemaShape = Readonly<Record<string, TableShape>>;

const predicate = (p: string | null | undefined): string => (p ? ` where ${p.replace(/::[a-z ]+/gi, '').replace(/[()]/g, '').replace(/\s+/g, ' ').trim().toLowerCase()}` : '');
const indexText = (columns: readonly string[], unique: boolean, where: string | null | undefined): string => `(${columns.join(', ')})${unique ? ' unique' : ''}${predicate(where)}`;

function sqliteType(declared: string): TypeClass {
  const t = declared.toUpperCase();
  if (t === 'INTEGER' || t === 'INT') return 'integer';
  if (t === 'TEXT') return 'text';
  if (t === 'BLOB') return 'blob';
  if (t === 'REAL') return 'real';
  return `unknown ${declared}`;
}

function postgresType(dataType: string): TypeClass {
  if (['smallint', 'integer', 'bigint'].includes(dataType)) return 'integer';
  if (['text', 'character varying', 'json', 'jsonb', 'citext'].includes(dataType)) return 'text';
  if (dataType === 'bytea') return 'blob';
  if (['real', 'double precision'].includes(dataType)) return 'real';
  return `unknown ${dataType}`;
}

/** A migrated SQLite database's shape. */
export function sqliteShape(db: Database.Database): SchemaShape {
  const tables = db.prepare<[], { name: string; sql: string }>("SELECT name, sql FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name").all();
  const shape: Record<string, TableShape> = {};
  for (const t of tables) {
    const info = db.prepare<[], { name: string; type: string; notnull: number; dflt_value: string | null; pk: number }>(`PRAGMA table_info(${JSON.stringify(t.name)})`).all();
    const primaryKey = info.filter((c) => c.pk > 0).sort((a, b) => a.pk - b.pk).map((c) => c.name);
    const withoutRowid = /\bWITHOUT\s+ROWID\b/i.test(t.sql);
    const rowidAlias = !withoutRowid && primaryKey.length === 1 && sqliteType(info.find((c) => c.name === primaryKey[0])!.type) === 'integer' ? primaryKey[0] : undefined;
    const columns: Record<string, ColumnShape> = {};
    for (const c of info) {
      columns[c.name] = { type: sqliteType(c.type), notNull: c.notnull === 1 || c.pk > 0, hasDefault: c.dflt_value !== null, auto: c.name === rowidAlias };
    }
    const unique: string[] = [];
    const indexes: string[] = [];
    for (const ix of db.prepare<[], { name: string; unique: number; origin: string; partial: number }>(`PRAGMA index_list(${JSON.stringify(t.name)})`).all()) {
      if (ix.origin === 'pk') continue;
      const cols = db.prepare<[], { seqno: number; name: string }>(`PRAGMA index_info(${JSON.stringify(ix.name)})`).all().sort((a, b) => a.seqno - b.seqno).map((c) => c.name);
      if (ix.origin === 'u') {
        unique.push(cols.join(', '));
        continue;
      }
      if (rowidAlias !== undefined && ix.unique === 0 && cols.at(-1) !== rowidAlias) cols.push(rowidAlias);
      const sql = db.prepare<[string], { sql: string }>("SELECT sql FROM sqlite_master WHERE type = 'index' AND name = ?").get(ix.name)?.sql ?? '';
      const where = ix.partial === 1 ? /\bWHERE\b([\s\S]*)$/i.exec(sql)?.[1] : undefined;
      indexes.push(indexText(cols, ix.unique === 1, where));
    }
    const fks = new Map<number, { table: string; from: string[]; to: string[]; onDelete: string }>();
    for (const fk of db.prepare<[], { id: number; seq: number; table: string; from: string; to: string; on_delete: string }>(`PRAGMA foreign_key_list(${JSON.stringify(t.name)})`).all().sort((a, b) => a.id - b.id || a.seq - b.seq)) {
      const k = fks.get(fk.id) ?? { table: fk.table, from: [], to: [], onDelete: fk.on_delete };
      k.from.push(fk.from);
      k.to.push(fk.to);
      fks.set(fk.id, k);
    }
    shape[t.name] = {
      columns, primaryKey, unique: unique.sort(), indexes: indexes.sort(),
      foreignKeys: [...fks.values()].map((k) => `(${k.from.join(', ')}) -> ${k.table} (${k.to.join(', ')}) on delete ${k.onDelete.toUpperCase()}`).sort(),
    };
  }
  return shape;
}

const ON_DELETE: Readonly<Record<string, string>> = { a: 'NO ACTION', r: 'RESTRICT', c: 'CASCADE', n: 'SET NULL', d: 'SET DEFAULT' };

/** A migrated PostgreSQL database's shape (its current schema), leaving out the tables named. */
export async function postgresShape(client: ClientBase, leaveOut: readonly string[]): Promise<SchemaShape> {
  const tables = (await client.query<{ name: string }>(`SELECT table_name AS name FROM information_schema.tables
    WHERE table_schema = current_schema() AND table_type = 'BASE TABLE' ORDER BY table_name`)).rows.map((r) => r.name).filter((n) => !leaveOut.includes(n));
  const shape: Record<string, TableShape> = {};
  for (const table of tables) {
    const cols = (await client.query<{ name: string; data_type: string; is_nullable: string; column_default: string | null; is_identity: string }>(`SELECT column_name AS name,
      data_type, is_nullable, column_default, is_identity FROM information_schema.columns
      WHERE table_schema = current_schema() AND table_name = $1 ORDER BY ordinal_position`, [table])).rows;
    const columns: Record<string, ColumnShape> = {};
    for (const c of cols) {
      columns[c.name] = { type: postgresType(c.data_type), notNull: c.is_nullable === 'NO', hasDefault: c.column_default !== null, auto: c.is_identity === 'YES' };
    }
    const ixs = (await client.query<{ name: string; primary: boolean; unique: boolean; constraint: boolean; predicate: string | null; columns: string[] }>(`SELECT
        i.indexrelid::regclass::text AS name, i.indisprimary AS primary, i.indisunique AS unique,
        EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = i.indexrelid AND c.contype = 'u') AS constraint,
        pg_get_expr(i.indpred, i.indrelid) AS predicate,
        ARRAY(SELECT a.attname::text FROM unnest(i.indkey::int2[]) WITH ORDINALITY AS k(attnum, ord)
          JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum ORDER BY k.ord) AS columns
      FROM pg_index i WHERE i.indrelid = $1::regclass`, [table])).rows;
    const primaryKey = ixs.find((i) => i.primary)?.columns ?? [];
    const unique = ixs.filter((i) => i.constraint).map((i) => i.columns.join(', ')).sort();
    const indexes = ixs.filter((i) => !i.primary && !i.constraint).map((i) => indexText(i.columns, i.unique, i.predicate)).sort();
    const fks = (await client.query<{ from: string[]; table: string; to: string[]; on_delete: string }>(`SELECT
        ARRAY(SELECT a.attname::text FROM unnest(c.conkey) WITH ORDINALITY AS k(attnum, ord)
          JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = k.attnum ORDER BY k.ord) AS from,
        c.confrelid::regclass::text AS table,
        ARRAY(SELECT a.attname::text FROM unnest(c.confkey) WITH ORDINALITY AS k(attnum, ord)
          JOIN pg_attribute a ON a.attrelid = c.confrelid AND a.attnum = k.attnum ORDER BY k.ord) AS to,
        c.confdeltype AS on_delete
      FROM pg_constraint c WHERE c.conrelid = $1::regclass AND c.contype = 'f'`, [table])).rows;
    shape[table] = {
      columns, primaryKey, unique, indexes,
      foreignKeys: fks.map((k) => `(${k.from.join(', ')}) -> ${k.table} (${k.to.join(', ')}) on delete ${ON_DELETE[k.on_delete] ?? k.on_delete}`).sort(),
    };
  }
  return shape;
}

const columnText = (c: ColumnShape): string => `${c.type}${c.notNull ? ' not null' : ''}${c.hasDefault ? ' default' : ''}${c.auto ? ' auto' : ''}`;

/** Every difference between two shapes, one line each ("sqlite" and "postgres" as `names` say); none when they agree. */
export function diffShapes(a: SchemaShape, b: SchemaShape, names: readonly [string, string] = ['sqlite', 'postgres']): string[] {
  const [an, bn] = names;
  const out: string[] = [];
  const sets = (where: string, x: readonly string[], y: readonly string[]): void => {
    for (const v of x) if (!y.includes(v)) out.push(`${where} ${v}: only in ${an}`);
    for (const v of y) if (!x.includes(v)) out.push(`${where} ${v}: only in ${bn}`);
  };
  for (const t of Object.keys(a)) if (!(t in b)) out.push(`table ${t}: only in ${an}`);
  for (const t of Object.keys(b)) if (!(t in a)) out.push(`table ${t}: only in ${bn}`);
  for (const t of Object.keys(a).filter((n) => n in b).sort()) {
    const x = a[t]!;
    const y = b[t]!;
    for (const c of Object.keys(x.columns)) {
      const cy = y.columns[c];
      if (cy === undefined) out.push(`column ${t}.${c}: only in ${an}`);
      else if (columnText(x.columns[c]!) !== columnText(cy)) out.push(`column ${t}.${c}: ${an} ${columnText(x.columns[c]!)}, ${bn} ${columnText(cy)}`);
    }
    for (const c of Object.keys(y.columns)) if (!(c in x.columns)) out.push(`column ${t}.${c}: only in ${bn}`);
    if (x.primaryKey.join(', ') !== y.primaryKey.join(', ')) out.push(`primary key of ${t}: ${an} (${x.primaryKey.join(', ')}), ${bn} (${y.primaryKey.join(', ')})`);
    sets(`unique of ${t}`, x.unique, y.unique);
    sets(`index on ${t}`, x.indexes, y.indexes);
    sets(`foreign key of ${t}`, x.foreignKeys, y.foreignKeys);
  }
  return out;
}

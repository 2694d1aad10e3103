// The findings list's page query on PostgreSQL. The orders, the positions cursors name and
// the plan of a page (which index ranges to merge, or whether to read a filter's matches and
// sort them) are store/finding-order.ts's, unchanged: it is pure, and sharing it keeps the two
// backends' pages and cursors alike (a cursor is the same JSON, sealed with the same key,
// which `nodeward store copy` carries over, so a cursor issued on SQLite opens on PostgreSQL).
//
// What differs is the SQL dialect, and `postgresPage` translates the plan's statement:
// - SQLite's `INDEXED BY` hints go: PostgreSQL's planner picks the index itself, and runs the
//   UNION ALL of one arm per (state, severity) as a Merge Append of index scans, each started
//   at the cursor by the row comparison (the indexes end with seq, migration 001);
// - SQLite's LIKE ignores ASCII case only; ILIKE under the "C" collation does exactly that
//   (under another collation it would also fold non-ASCII letters, which SQLite does not);
// - named parameters (@name) become numbered ones ($n), each name one number, only the names
//   the statement uses (a prepared statement refuses extra values).
// - the merged page's arms are each given the page's ORDER BY and LIMIT: PostgreSQL does not
//   merge UNION ALL arms by an order that leads with a column an arm fixes (severity_rank in
//   the severity order), and sorted every open finding for the first page (0.5 s at 100,000);
//   each arm now reads at most a page from its index, in order, and the outer sort orders
//   those few (the first `limit` rows of the union are among the first `limit` of each arm).
// The key's text columns (node, check_id) compare and sort in the "C" collation (bytes, as
// SQLite's BINARY does), which migration 004 gives the columns, so the indexes serve the order.
import type { FindingFilter, ListOrder } from '../boundary/findings.js';
import { pageQuery, type Measure, type PageQuery, type SearchPlan } from '../finding-order.js';
import type { FindingSort, SortOrder } from '../boundary/findings.js';

export interface PostgresPage {
  readonly sort: FindingSort;
  readonly order: SortOrder;
  /** Undefined: no row can match. */
  readonly text: string | undefined;
  readonly values: readonly unknown[];
  readonly plan: PageQuery['plan'];
}

/** SQLite's statement of a page (store/finding-order.ts) in PostgreSQL's dialect. */
export function toPostgres(sqlite: string, params: Readonly<Record<string, unknown>>): { text: string; values: unknown[] } {
  const names: string[] = [];
  const text = sqlite
    .replace(/ INDEXED BY \w+/g, '')
    .replace(/ LIKE @q ESCAPE '\\'/g, ` ILIKE @q COLLATE "C" ESCAPE '\\'`)
    .replace(/@(\w+)/g, (_all, name: string) => {
      if (!(name in params)) throw new Error(`page query names @${name} without a value`);
      let i = names.indexOf(name);
      if (i < 0) i = names.push(name) - 1;
      return `$${i + 1}`;
    });
  return { text, values: names.map((n) => params[n]) };
}

/** The statement of one page of the list, planned as on SQLite (a budgeted walk's arms carry their limits already). */
export function postgresPage(filter: FindingFilter, limit: number, how: ListOrder, measure: Measure, search?: SearchPlan): PostgresPage {
  const page = pageQuery(filter, limit, how, measure, search);
  if (page.sql === undefined) return { sort: page.sort, order: page.order, text: undefined, values: [], plan: page.plan };
  const { text, values } = toPostgres(page.plan === 'budgeted' ? page.sql : limitArms(page.sql), page.params);
  return { sort: page.sort, order: page.order, text, values, plan: page.plan };
}

/** A UNION ALL of arms with one ORDER BY ... LIMIT at its end: that clause given to each arm too (unchanged otherwise). */
export function limitArms(sql: string): string {
  const arms = sql.split('\nUNION ALL ');
  const cut = arms[arms.length - 1]!.lastIndexOf('\nORDER BY ');
  if (arms.length < 2 || cut < 0) return sql;
  const tail = arms[arms.length - 1]!.slice(cut + 1);
  arms[arms.length - 1] = arms[arms.length - 1]!.slice(0, cut);
  return `${arms.map((a) => `(${a} ${tail})`).join('\nUNION ALL ')}\n${tail}`;
}

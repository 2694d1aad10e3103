// The orders of the findings list (GET /api/v1/findings?sort=&order=), the positions its
// cursors name, and the SQL that reads one page of an order without sorting the table.
//
// An order is a key: a few columns, each ascending or descending, ending with seq so that no
// two findings tie. Its index (migration 012) is (state, severity_rank, <column>) plus the
// rowid (seq): within one state and one severity, the index holds the findings in the order
// of the key's remaining columns. A page is therefore the merge of at most 3 x 5 index ranges
// (the states and severities the filters allow, so state, severity and minSeverity cost
// nothing), each started at the cursor: SQLite runs it as a MERGE of UNION ALL arms and reads
// about `limit` rows plus one per arm, whatever the depth of the page.
//
// The node, check and category filters pin a column the order's index does not lead with
// (except node for sort=node, check for sort=check). For them the list either reads all the
// filter's matches through the filter's own index and sorts those, or walks the order's ranges
// and checks the filter on each row, whichever reads fewer rows: the rollups' count of the
// matches decides (see `pageQuery`).
//
// A text search (`q`) is checked on each row a walk reads, unless the backend has a search
// index (PostgreSQL's trigram index, pg/findings.ts) and says so in a SearchPlan: then a page
// reads the few rows the index named and sorts them, or walks the ranges under a budget and may
// end early, its cursor where the walk stopped (budgetedPageSql, budgetedPage).
import { FINDING_STATES, SEVERITIES, severityRank, type FindingState } from '../../proto/domain.js';
import type { FindingRowRaw } from './finding-row.js';
import {
  DEFAULT_SORT, FINDING_ORDERS, FINDING_SORTS, SORT_ORDERS,
  type FindingFilter, type FindingPosition, type FindingSort, type ListOrder, type SortOrder,
} from './boundary/findings.js';

type KeyColumn = 'severity_rank' | 'first_seen' | 'last_seen' | 'node' | 'check_id' | 'seq';
type KeyValue = number | string;

interface KeyPart {
  readonly column: KeyColumn;
  /** Descending when the order is ascending (the severity inside sort=node and sort=check). */
  readonly against?: boolean;
}

interface OrderSpec {
  readonly key: readonly KeyPart[];
  /** (state, severity_rank, column): the index that yields the order. */
  readonly index: string;
  /** From the boundary (FINDING_ORDERS): the default direction, and the order in words. */
  readonly defaultOrder: SortOrder;
  readonly describe: string;
}

const RANK: KeyPart = { column: 'severity_rank' };
const SEQ: KeyPart = { column: 'seq' };

// Each key is written as order=asc reads it; order=desc reverses every part.
export const ORDERS: Readonly<Record<FindingSort, OrderSpec>> = {
  severity: { ...FINDING_ORDERS.severity, key: [RANK, { column: 'first_seen' }, SEQ], index: 'findings_by_first_seen' },
  lastSeen: { ...FINDING_ORDERS.lastSeen, key: [{ column: 'last_seen' }, SEQ], index: 'findings_by_last_seen' },
  firstSeen: { ...FINDING_ORDERS.firstSeen, key: [{ column: 'first_seen' }, SEQ], index: 'findings_by_first_seen' },
  node: { ...FINDING_ORDERS.node, key: [{ column: 'node' }, { ...RANK, against: true }, SEQ], index: 'findings_by_node' },
  check: { ...FINDING_ORDERS.check, key: [{ column: 'check_id' }, { ...RANK, against: true }, SEQ], index: 'findings_by_check' },
};

/** The key values of a row: the position of the next page when the row ends one. */
export function positionOf(sort: FindingSort, order: SortOrder, r: FindingRowRaw): FindingPosition {
  return { sort, order, key: ORDERS[sort].key.map((p) => r[p.column]) };
}

/** A position as a cursor carries it (compact; sealed by the store). */
export function positionToJson(p: FindingPosition): unknown {
  return { s: p.sort, o: p.order, k: p.key };
}

const MAX_TEXT = 253;

/** The position a cursor's JSON names, or undefined when it is not one `positionToJson` makes. */
export function positionFromJson(v: unknown): FindingPosition | undefined {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return undefined;
  const o = v as Record<string, unknown>;
  if (Object.keys(o).length !== 3) return undefined;
  const sort = FINDING_SORTS.find((s) => s === o.s);
  const order = SORT_ORDERS.find((s) => s === o.o);
  if (sort === undefined || order === undefined || !Array.isArray(o.k)) return undefined;
  const parts = ORDERS[sort].key;
  const key = o.k as unknown[];
  if (key.length !== parts.length) return undefined;
  for (const [i, p] of parts.entries()) {
    const x = key[i];
    // A cluster finding's node is '' (the node order puts them first): its cursor opens too.
    const ok = p.column === 'node' || p.column === 'check_id'
      ? typeof x === 'string' && (x.length > 0 || p.column === 'node') && x.length <= MAX_TEXT
      : typeof x === 'number' && Number.isSafeInteger(x) && (p.column === 'severity_rank' ? x >= 0 && x < SEVERITIES.length : p.column !== 'seq' || x >= 0);
    if (!ok) return undefined;
  }
  return { sort, order, key: key as KeyValue[] };
}

/** What the list reads, as the SQL builders need it. */
interface OrderedQuery {
  readonly sort: FindingSort;
  readonly order: SortOrder;
  readonly states: readonly FindingState[];
  /** The severities the filters allow: ranks lo..hi (never empty). */
  readonly ranks: { readonly lo: number; readonly hi: number };
  readonly after: FindingPosition | undefined;
  /** Key columns an equality filter pins to one value (node, check_id). */
  readonly pinned: Partial<Record<KeyColumn, KeyValue>>;
  /** Row filters besides state and severity, as SQL terms on bound parameters. */
  readonly terms: readonly string[];
  /** Of `terms`, those pinning a column the order's index has after (state, severity) (node for sort=node, check for sort=check): they narrow its ranges. */
  readonly rangeTerms: readonly string[];
  /** Whether the (state, severity) range can hold a match (default: every one). */
  readonly arm?: (state: FindingState, rank: number) => boolean;
}

const ascending = (order: SortOrder, p: KeyPart): boolean => (order === 'asc') !== (p.against === true);

function orderBy(sort: FindingSort, order: SortOrder): string {
  return ORDERS[sort].key.map((p) => `${p.column} ${ascending(order, p) ? 'ASC' : 'DESC'}`).join(', ');
}

/** A named parameter for each key value of the cursor: @k0, @k1, ... */
const keyParam = (i: number): string => `@k${i}`;

/** Parameters of the cursor's key values. */
function keyParams(after: FindingPosition | undefined): Record<string, KeyValue> {
  const out: Record<string, KeyValue> = {};
  after?.key.forEach((v, i) => { out[`k${i}`] = v; });
  return out;
}

/** -1, 0, 1 as SQLite compares two key values (text by its bytes: the BINARY collation). */
function compareValues(a: KeyValue, b: KeyValue): number {
  if (typeof a === 'number' && typeof b === 'number') return Math.sign(a - b);
  return Buffer.compare(Buffer.from(String(a)), Buffer.from(String(b)));
}

/**
 * Rows of one (state, severity) arm that come after the cursor: a row-value comparison on
 * the key's columns other than severity, which the arm's index range starts from; '' when
 * every row of the arm comes after, undefined when none does.
 *
 * With the severity at position i of the key, "after (A, r, B) > (cA, cr, cB)" reads, for an
 * arm whose severity r is fixed: r after cr: A >= cA; r = cr: (A, B) > (cA, cB); r before
 * cr: A > cA. The key's other columns share one direction in every order (ORDERS is written
 * so), which is what lets one row value express it. A leading column that a filter pins to
 * one value is compared with the cursor here, once, and drops out: so the node filter of
 * sort=node (the check filter of sort=check) starts each range at the cursor's seq instead of
 * at the node's first row.
 */
function armAfter(q: OrderedQuery, rank: number): string | undefined {
  const after = q.after;
  if (!after) return '';
  let parts = ORDERS[q.sort].key.map((p, i) => ({ p, i }));
  for (let first = parts[0]; first !== undefined; first = parts[0]) {
    const pin = q.pinned[first.p.column];
    if (pin === undefined) break;
    const c = compareValues(pin, after.key[first.i]!) * (ascending(q.order, first.p) ? 1 : -1);
    if (c > 0) return '';
    if (c < 0) return undefined;
    parts = parts.slice(1);
  }
  const at = parts.find((x) => x.p.column === 'severity_rank');
  const rest = parts.filter((x) => x !== at);
  const up = ascending(q.order, rest[0]!.p);
  const row = (xs: typeof rest, strict: boolean): string => {
    const cols = xs.map((x) => x.p.column).join(', ');
    const vals = xs.map((x) => keyParam(x.i)).join(', ');
    return `(${cols}) ${up ? '>' : '<'}${strict ? '' : '='} (${vals})`;
  };
  if (at === undefined) return row(rest, true);
  const cr = after.key[at.i] as number;
  const before = rest.filter((x) => x.i < at.i);
  if (rank === cr) return row(rest, true);
  if (ascending(q.order, at.p) ? rank > cr : rank < cr) return before.length === 0 ? '' : row(before, false);
  return before.length === 0 ? undefined : row(before, true);
}

/** The (state, severity) ranges a page through the order's index reads, each with its conditions; none: no row can match. */
function armsOf(q: OrderedQuery): Array<{ readonly si: number; readonly rank: number; readonly where: string[] }> {
  const arms = [];
  for (const [si, state] of FINDING_STATES.entries()) {
    if (!q.states.includes(state)) continue;
    for (let rank = q.ranks.lo; rank <= q.ranks.hi; rank++) {
      if (q.arm && !q.arm(state, rank)) continue;
      const after = armAfter(q, rank);
      if (after === undefined) continue;
      arms.push({ si, rank, where: [`state = @s${si}`, `severity_rank = ${rank}`, ...(after === '' ? [] : [after])] });
    }
  }
  return arms;
}

/** The SQL of a page through the order's index: one arm per state and severity. Undefined: no row can match. */
function mergedPageSql(q: OrderedQuery): string | undefined {
  const spec = ORDERS[q.sort];
  const arms = armsOf(q).map((a) => `SELECT * FROM findings INDEXED BY ${spec.index} WHERE ${[...a.where, ...q.terms].join(' AND ')}`);
  if (arms.length === 0) return undefined;
  return `${arms.join('\nUNION ALL ')}\nORDER BY ${orderBy(q.sort, q.order)} LIMIT @limit`;
}

/**
 * The SQL of a page through the order's index that reads at most @budget rows of each arm
 * (a search that matches sparsely would otherwise read a whole range for want of matches).
 * Each arm walks its range without the filters, up to the budget, and keeps the rows the
 * filters match (hit = 1) and the last row it read when it read the whole budget (edge = 1):
 * where that arm stopped. `budgetedPage` cuts the page there, so a page may hold fewer than
 * `limit` findings and still have a next one, which starts after the edge.
 */
function budgetedPageSql(q: OrderedQuery): { sql: string; arms: number } | undefined {
  const spec = ORDERS[q.sort];
  const by = orderBy(q.sort, q.order);
  const hit = q.terms.filter((x) => !q.rangeTerms.includes(x));
  const arms = armsOf(q).map((a, i) => {
    const walked = `SELECT * FROM findings INDEXED BY ${spec.index} WHERE ${[...a.where, ...q.rangeTerms].join(' AND ')} ORDER BY ${by} LIMIT @budget`;
    const marked = `SELECT w.*, CASE WHEN ${hit.length === 0 ? '1 = 1' : hit.join(' AND ')} THEN 1 ELSE 0 END AS hit, row_number() OVER (ORDER BY ${by}) AS rn FROM (${walked}) AS w`;
    return `SELECT * FROM (SELECT m.*, CASE WHEN m.rn = @budget THEN 1 ELSE 0 END AS edge FROM (${marked}) AS m WHERE m.hit = 1 OR m.rn = @budget ORDER BY ${by} LIMIT @limit) AS a${i}`;
  });
  if (arms.length === 0) return undefined;
  return { sql: `${arms.join('\nUNION ALL ')}\nORDER BY ${by} LIMIT @rows`, arms: arms.length };
}

/**
 * A budgeted page's rows (budgetedPageSql, in the order) as a page: its first `limit` hits,
 * and where the next page starts. That is after the last of them when there are more hits,
 * else after the first edge (an arm read its whole budget: what comes after it in that arm
 * is not known yet), else nowhere (the walk read every range to its end).
 */
export function budgetedPage<R extends { hit: number; edge: number }>(rows: readonly R[], limit: number): { rows: R[]; next: R | undefined } {
  const hits: R[] = [];
  for (const r of rows) {
    if (r.hit === 1) {
      hits.push(r);
      if (hits.length > limit) return { rows: hits.slice(0, limit), next: hits[limit - 1] };
    }
    if (r.edge === 1) return { rows: hits, next: r };
  }
  return { rows: hits, next: undefined };
}

/** Parameters of the states (@s0 open, @s1 resolved, @s2 suppressed) the SQL names. */
function stateParams(): Record<string, string> {
  return Object.fromEntries(FINDING_STATES.map((s, i) => [`s${i}`, s]));
}

/** "After the cursor" as one condition on the whole key (for the bounded sort, which reads every match anyway). */
function keyAfter(sort: FindingSort, order: SortOrder): string {
  const parts = ORDERS[sort].key;
  const alternatives = parts.map((p, i) => {
    const equal = parts.slice(0, i).map((q, j) => `${q.column} = ${keyParam(j)}`);
    return `(${[...equal, `${p.column} ${ascending(order, p) ? '>' : '<'} ${keyParam(i)}`].join(' AND ')})`;
  });
  return `(${alternatives.join(' OR ')})`;
}

/** A filter's own index, with the column it leads with. */
interface FilterIndex {
  readonly kind: FilterKind;
  readonly index: string;
  readonly column: 'node' | 'check_id' | 'category';
  readonly param: string;
}

export type FilterKind = 'node' | 'check' | 'category';

const FILTER_INDEXES = {
  node: { kind: 'node', index: 'findings_node_state', column: 'node', param: 'node' },
  check: { kind: 'check', index: 'findings_check', column: 'check_id', param: 'check' },
  category: { kind: 'category', index: 'findings_category', column: 'category', param: 'category' },
} as const satisfies Record<FilterKind, FilterIndex>;

const ranksTerm = (q: Pick<OrderedQuery, 'ranks'>): string[] => (q.ranks.lo === 0 && q.ranks.hi === SEVERITIES.length - 1 ? [] : [`severity_rank BETWEEN ${q.ranks.lo} AND ${q.ranks.hi}`]);
const statesTerm = (q: Pick<OrderedQuery, 'states'>): string =>
  `state IN (${FINDING_STATES.flatMap((s, i) => (q.states.includes(s) ? [`@s${i}`] : [])).join(', ')})`;

/**
 * The SQL of a page read through a filter's index, all its matches sorted (for a filter that
 * matches few rows), or of the few rows a search index named (`pin` a term of the caller's,
 * without an index hint).
 */
function sortedPageSql(q: OrderedQuery, by: FilterIndex | { readonly pin: string }): string {
  const pin = 'pin' in by ? by.pin : `${by.column} = @${by.param}`;
  const where = [pin, statesTerm(q), ...ranksTerm(q), ...(q.after ? [keyAfter(q.sort, q.order)] : []), ...q.terms.filter((x) => x !== pin)];
  return `SELECT * FROM findings${'pin' in by ? '' : ` INDEXED BY ${by.index}`} WHERE ${where.join(' AND ')} ORDER BY ${orderBy(q.sort, q.order)} LIMIT @limit`;
}

/**
 * The most matches of a filter worth reading and sorting, given how many rows the order's
 * ranges hold (`total`). Sorting reads every match; walking the order's ranges reads about
 * limit x total / matches rows. The two are equal at matches = sqrt(limit x total): below,
 * sort; above, walk.
 */
function sortCap(limit: number, total: number): number {
  return Math.max(1000, Math.ceil(Math.sqrt((limit + 1) * total)));
}

/** The severity ranks the filters allow (lo > hi: none). */
function rankRange(severity: number | undefined, minSeverity: number | undefined): { lo: number; hi: number } {
  const lo = Math.max(minSeverity ?? 0, severity ?? 0);
  const hi = severity ?? SEVERITIES.length - 1;
  return { lo, hi };
}

/** What the planner asks of the data (the store answers from its rollups: rollups.ts createRollupCounts). */
export interface Measure {
  /** How many findings of these states and severities there are: what the order's ranges hold. */
  total(states: readonly FindingState[], ranks: { readonly lo: number; readonly hi: number }): number;
  /** How many of them a node, check or category filter matches, by state and severity (exactly: ranges without one are not read). */
  matches(by: FilterKind, value: string, states: readonly FindingState[], ranks: { readonly lo: number; readonly hi: number }): (state: FindingState, rank: number) => number;
}

/**
 * How a text search (`q`) may be read, when the backend has a search index (PostgreSQL's
 * trigram index: pg/findings.ts). Without one, the order's ranges are walked checking `q` on
 * each row, as any other filter.
 */
export interface SearchPlan {
  /** The index named these few rows (a term on bound parameters, in the backend's dialect): read them all and sort them. */
  readonly among?: { readonly pin: string; readonly params: Readonly<Record<string, unknown>> };
  /** The index names too many rows to sort: walk the order's ranges, reading at most this many rows in all (at least limit + 1 per range). */
  readonly budget?: number;
}

/**
 * One page as SQL: in which order, the statement with its parameters (no statement: nothing
 * can match), and how it reads: through the order's index (`merged`, or `budgeted`, whose
 * rows `budgetedPage` makes the page of), or a sort of few rows (`sorted`).
 */
export interface PageQuery {
  readonly sort: FindingSort;
  readonly order: SortOrder;
  readonly sql: string | undefined;
  readonly params: Record<string, unknown>;
  readonly plan: 'merged' | 'budgeted' | 'sorted';
}

/**
 * The statement of one page of the list. The order's index serves it (mergedPageSql) unless
 * a node, check or category filter that index does not lead with matches few enough findings
 * to read them all through the filter's own index and sort them (sortedPageSql, sortCap).
 * A search plan changes only a page that would walk the order's index: it sorts the rows the
 * search index named instead, or bounds the walk.
 */
export function pageQuery(scoped: FindingFilter, limit: number, how: ListOrder, measure: Measure, search: SearchPlan = {}): PageQuery {
  // scope=cluster is the node '' (migration 020), which every index on node serves; a node
  // named with it matches nothing. scope=node is every node but ''.
  const clusterOnly = scoped.scope === 'cluster';
  const filter: FindingFilter = clusterOnly ? { ...scoped, node: scoped.node ?? '' } : scoped;
  const sort = how.after?.sort ?? how.sort ?? DEFAULT_SORT;
  const order = how.after?.order ?? how.order ?? ORDERS[sort].defaultOrder;
  const ranks = rankRange(filter.severity === undefined ? undefined : severityRank(filter.severity),
    filter.minSeverity === undefined ? undefined : severityRank(filter.minSeverity));
  const states = filter.state === undefined ? FINDING_STATES : [filter.state];
  // Every value is bound; the SQL is assembled from fixed fragments.
  const params: Record<string, unknown> = { ...stateParams(), ...keyParams(how.after), limit: limit + 1 };
  if (ranks.lo > ranks.hi || (clusterOnly && filter.node !== '')) return { sort, order, sql: undefined, params, plan: 'merged' };
  const terms: string[] = [];
  if (filter.scope === 'node') terms.push("node <> ''");
  const eq = (column: string, name: string, value: unknown): void => {
    if (value === undefined) return;
    terms.push(`${column} = @${name}`);
    params[name] = value;
  };
  eq('node', 'node', filter.node);
  eq('check_id', 'check', filter.check);
  eq('category', 'category', filter.category);
  if (filter.since !== undefined) { terms.push('last_seen >= @since'); params.since = filter.since; }
  if (filter.q !== undefined) {
    terms.push("(subject LIKE @q ESCAPE '\\' OR title LIKE @q ESCAPE '\\' OR check_id LIKE @q ESCAPE '\\' OR actual LIKE @q ESCAPE '\\')");
    params.q = likePattern(filter.q);
  }
  const pinned: OrderedQuery['pinned'] = {
    ...(filter.node === undefined ? {} : { node: filter.node }), ...(filter.check === undefined ? {} : { check_id: filter.check }),
  };
  const own = (sort === 'node' && filter.node !== undefined) || (sort === 'check' && filter.check !== undefined);
  const rangeTerms = !own ? [] : sort === 'node' ? ['node = @node'] : ['check_id = @check'];
  const q: OrderedQuery = { sort, order, states, ranks, after: how.after, pinned, terms, rangeTerms };

  const by = own ? undefined
    : filter.node !== undefined ? FILTER_INDEXES.node
      : filter.check !== undefined ? FILTER_INDEXES.check
        : filter.category !== undefined ? FILTER_INDEXES.category : undefined;
  let walked = q;
  if (by) {
    const count = measure.matches(by.kind, params[by.param] as string, states, ranks);
    let matches = 0;
    for (const state of states) for (let rank = ranks.lo; rank <= ranks.hi; rank++) matches += count(state, rank);
    if (matches <= sortCap(limit, measure.total(states, ranks))) return { sort, order, sql: sortedPageSql(q, by), params, plan: 'sorted' };
    // Walked: the ranges where the filter has no match are left out (each would be read to its end).
    walked = { ...q, arm: (state, rank) => count(state, rank) > 0 };
  }
  if (filter.q !== undefined && search.among) {
    return { sort, order, sql: sortedPageSql(q, { pin: search.among.pin }), params: { ...params, ...search.among.params }, plan: 'sorted' };
  }
  if (filter.q !== undefined && search.budget !== undefined) {
    const budgeted = budgetedPageSql(walked);
    if (budgeted === undefined) return { sort, order, sql: undefined, params, plan: 'budgeted' };
    const budget = Math.max(limit + 1, Math.ceil(search.budget / budgeted.arms));
    return { sort, order, sql: budgeted.sql, params: { ...params, budget, rows: limit + 1 + budgeted.arms }, plan: 'budgeted' };
  }
  return { sort, order, sql: mergedPageSql(walked), params, plan: 'merged' };
}

/** A LIKE pattern matching the text anywhere, its own %, _ and \\ taken literally (ESCAPE '\\'). */
export function likePattern(text: string): string {
  return `%${text.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
}

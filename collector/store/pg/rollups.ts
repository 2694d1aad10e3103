// The rollup tables on PostgreSQL (SQLite's migration 002): the port of store/rollups.ts. Every
// change to a finding calls `move(before, after)`; the deltas are summed per rollup row in
// memory and written by `flush(sql)` at the end of the unit, in its transaction, so a batch
// of a hundred findings on one node costs a few row updates, and the rollups are exactly as
// consistent as the findings they count. Each unit has its own accumulator (units run at
// once on several connections).
//
// Replicas write the same hot rows (the cluster-wide totals of a category, a check's totals
// and spread). Each row is written as `SET n = n + delta` (an upsert), never read then
// written, so no update is lost; and a flush takes its row locks in one fixed order (table by
// table in the order below, each table's rows in the order of its key, text by its bytes), so
// two units never wait for each other in a cycle. Those three tables' rows are striped
// (migration 007): a connection writes the stripe of its backend (its pid modulo STRIPES),
// and a count is the sum of its stripes, so units on different connections, of one replica
// or of several, write different rows and do not wait for each other's commit. Two units wait
// only when their connections share a stripe. The per-node rows (node_counts, check_nodes)
// are one node's, which one agent at a time reports, and are not striped.
import type { FindingState } from '../../../proto/domain.js';
import type { Measure } from '../finding-order.js';
import type { RollupKey } from '../rollups.js';
import { createRollupDeltas, SEP, sum, zero, type Sev } from '../rollup-deltas.js';
import type { Sql } from './sql.js';

export type { RollupKey } from '../rollups.js';


// Each table's deltas are one statement: the rows come from arrays (unnest), in the order of
// their key (text by its bytes), which is the order the upsert takes their locks in.
const NODE = `INSERT INTO node_counts AS r (state, node, total, s0, s1, s2, s3, s4)
  SELECT * FROM unnest($1::text[], $2::text[], $3::bigint[], $4::bigint[], $5::bigint[], $6::bigint[], $7::bigint[], $8::bigint[])
    AS d (state, node, total, s0, s1, s2, s3, s4)
  ORDER BY state COLLATE "C", node COLLATE "C"
  ON CONFLICT (state, node) DO UPDATE SET total = r.total + excluded.total, s0 = r.s0 + excluded.s0, s1 = r.s1 + excluded.s1,
    s2 = r.s2 + excluded.s2, s3 = r.s3 + excluded.s3, s4 = r.s4 + excluded.s4`;
const NODE_GONE = 'DELETE FROM node_counts WHERE total = 0 AND (state, node) IN (SELECT * FROM unnest($1::text[], $2::text[]))';
/** Stripes of a hot rollup row; a connection writes stripe STRIPE (its backend's). */
export const STRIPES = 16;
const STRIPE = `(pg_backend_pid() % ${STRIPES})`;
const TOTAL = `INSERT INTO finding_totals AS r (state, category, severity_rank, n, stripe)
  SELECT d.*, ${STRIPE} FROM unnest($1::text[], $2::text[], $3::bigint[], $4::bigint[]) AS d (state, category, severity_rank, n)
  ORDER BY state COLLATE "C", category COLLATE "C", severity_rank
  ON CONFLICT (state, category, severity_rank, stripe) DO UPDATE SET n = r.n + excluded.n`;
const TOTAL_GONE = `DELETE FROM finding_totals WHERE n = 0 AND stripe = ${STRIPE}
  AND (state, category, severity_rank) IN (SELECT * FROM unnest($1::text[], $2::text[], $3::bigint[]))`;
const CHECK_TOTAL = `INSERT INTO check_totals AS r (state, check_id, severity_rank, n, stripe)
  SELECT d.*, ${STRIPE} FROM unnest($1::text[], $2::text[], $3::bigint[], $4::bigint[]) AS d (state, check_id, severity_rank, n)
  ORDER BY state COLLATE "C", check_id COLLATE "C", severity_rank
  ON CONFLICT (state, check_id, severity_rank, stripe) DO UPDATE SET n = r.n + excluded.n`;
const CHECK_TOTAL_GONE = `DELETE FROM check_totals WHERE n = 0 AND stripe = ${STRIPE}
  AND (state, check_id, severity_rank) IN (SELECT * FROM unnest($1::text[], $2::text[], $3::bigint[]))`;
// Returns each row's count after the delta: whether the node started or stopped counting.
const CHECK_NODE = `INSERT INTO check_nodes AS r (state, check_id, node, n)
  SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::bigint[]) AS d (state, check_id, node, n)
  ORDER BY state COLLATE "C", check_id COLLATE "C", node COLLATE "C"
  ON CONFLICT (state, check_id, node) DO UPDATE SET n = r.n + excluded.n
  RETURNING state, check_id AS "checkId", node, n`;
const CHECK_NODE_GONE = `DELETE FROM check_nodes WHERE n = 0
  AND (state, check_id, node) IN (SELECT * FROM unnest($1::text[], $2::text[], $3::text[]))`;
const SPREAD = `INSERT INTO check_spread AS r (state, check_id, nodes, findings, s0, s1, s2, s3, s4, stripe)
  SELECT d.*, ${STRIPE} FROM unnest($1::text[], $2::text[], $3::bigint[], $4::bigint[], $5::bigint[], $6::bigint[], $7::bigint[], $8::bigint[], $9::bigint[])
    AS d (state, check_id, nodes, findings, s0, s1, s2, s3, s4)
  ORDER BY state COLLATE "C", check_id COLLATE "C"
  ON CONFLICT (state, check_id, stripe) DO UPDATE SET nodes = r.nodes + excluded.nodes, findings = r.findings + excluded.findings,
    s0 = r.s0 + excluded.s0, s1 = r.s1 + excluded.s1, s2 = r.s2 + excluded.s2, s3 = r.s3 + excluded.s3, s4 = r.s4 + excluded.s4`;
// A stripe's row is a share of the counts, any part of which may be negative: it goes only when every part is 0.
const SPREAD_GONE = `DELETE FROM check_spread WHERE findings = 0 AND nodes = 0 AND s0 = 0 AND s1 = 0 AND s2 = 0 AND s3 = 0 AND s4 = 0 AND stripe = ${STRIPE}
  AND (state, check_id) IN (SELECT * FROM unnest($1::text[], $2::text[]))`;

/** Rows as the arrays of their columns (unnest's parameters). */
function columns<R>(rows: readonly R[], ...pick: Array<(r: R) => unknown>): unknown[][] {
  return pick.map((f) => rows.map(f));
}

/** Upserts `rows` (none: nothing), then deletes those of them a negative delta brought to zero. */
async function upsert<R>(sql: Sql, rows: readonly R[], text: string, gone: string, negative: (r: R) => boolean,
  values: Array<(r: R) => unknown>, key: Array<(r: R) => unknown>): Promise<void> {
  if (rows.length === 0) return;
  await sql.run(text, columns(rows, ...values));
  const shrunk = rows.filter(negative);
  if (shrunk.length > 0) await sql.run(gone, columns(shrunk, ...key));
}

export interface PgRollups {
  /** A finding appeared (before undefined), changed, or went away (after undefined). */
  move(before: RollupKey | undefined, after: RollupKey | undefined): void;
  /** Writes the summed deltas in the unit's transaction, then forgets them. */
  flush(sql: Sql): Promise<void>;
  /** Forgets unwritten deltas. */
  reset(): void;
}

export function createPgRollups(): PgRollups {
  const deltas = createRollupDeltas();
  const { nodes, totals, checks, checkTotals } = deltas;

  return {
    move: deltas.move,

    async flush(sql) {
      // The tables in this order, each in the order of its key: every unit takes its locks alike.
      const nodeRows = [...nodes.values()].filter((n) => n.sev.some((x) => x !== 0));
      await upsert(sql, nodeRows, NODE, NODE_GONE, (n) => sum(n.sev) < 0,
        [(n) => n.state, (n) => n.node, (n) => sum(n.sev), (n) => n.sev[0], (n) => n.sev[1], (n) => n.sev[2], (n) => n.sev[3], (n) => n.sev[4]],
        [(n) => n.state, (n) => n.node]);
      await upsert(sql, [...totals.values()].filter((t) => t.n !== 0), TOTAL, TOTAL_GONE, (t) => t.n < 0,
        [(t) => t.state, (t) => t.category, (t) => t.rank, (t) => t.n], [(t) => t.state, (t) => t.category, (t) => t.rank]);
      await upsert(sql, [...checkTotals.values()].filter((x) => x.n !== 0), CHECK_TOTAL, CHECK_TOTAL_GONE, (x) => x.n < 0,
        [(x) => x.state, (x) => x.checkId, (x) => x.rank, (x) => x.n], [(x) => x.state, (x) => x.checkId, (x) => x.rank]);

      const spread = new Map<string, { state: string; checkId: string; nodes: number; sev: Sev }>();
      const spreadOf = (state: string, checkId: string) => {
        const key = state + SEP + checkId;
        let sp = spread.get(key);
        if (!sp) spread.set(key, (sp = { state, checkId, nodes: 0, sev: zero() }));
        return sp;
      };
      for (const c of checks.values()) {
        const sp = spreadOf(c.state, c.checkId);
        for (const [i, x] of c.sev.entries()) sp.sev[i] = (sp.sev[i] ?? 0) + x;
      }
      const moved = [...checks.values()].filter((c) => sum(c.sev) !== 0);
      if (moved.length > 0) {
        // Each row's count after this unit's delta (under its lock) tells whether the node
        // started or stopped counting for the check, whatever other replicas did before.
        const delta = new Map(moved.map((c) => [c.state + SEP + c.checkId + SEP + c.node, sum(c.sev)]));
        const after = await sql.rows<{ state: string; checkId: string; node: string; n: number }>(CHECK_NODE,
          columns(moved, (c) => c.state, (c) => c.checkId, (c) => c.node, (c) => sum(c.sev)));
        const emptied: typeof after = [];
        for (const r of after) {
          const sp = spreadOf(r.state, r.checkId);
          if (r.n === delta.get(r.state + SEP + r.checkId + SEP + r.node)) sp.nodes += 1;
          if (r.n === 0) {
            emptied.push(r);
            sp.nodes -= 1;
          }
        }
        if (emptied.length > 0) await sql.run(CHECK_NODE_GONE, columns(emptied, (r) => r.state, (r) => r.checkId, (r) => r.node));
      }
      const spreads = [...spread.values()].filter((sp) => sp.nodes !== 0 || sp.sev.some((x) => x !== 0));
      await upsert(sql, spreads, SPREAD, SPREAD_GONE, (sp) => sum(sp.sev) < 0,
        [(sp) => sp.state, (sp) => sp.checkId, (sp) => sp.nodes, (sp) => sum(sp.sev), (sp) => sp.sev[0], (sp) => sp.sev[1], (sp) => sp.sev[2], (sp) => sp.sev[3], (sp) => sp.sev[4]],
        [(sp) => sp.state, (sp) => sp.checkId]);
      deltas.reset();
    },

    reset: deltas.reset,
  };
}

/** The rollup counts a findings list with a node, check or category filter asks for (finding-order.ts Measure). */
export interface RollupCounts {
  /** Findings by state and severity rank, across the cluster. */
  readonly all: ReadonlyMap<string, number>;
  readonly node?: ReadonlyMap<string, number>;
  readonly check?: ReadonlyMap<string, number>;
  readonly category?: ReadonlyMap<string, number>;
}

const cell = (state: string, rank: number): string => `${state} ${rank}`;
type Cell = { state: string; rank: number; n: number };
const tableOf = (rows: readonly Cell[]): Map<string, number> => new Map(rows.map((r) => [cell(r.state, r.rank), r.n]));

/**
 * Reads, before the list's SQL is planned, the few rollup rows its planner may ask about (the
 * planner is synchronous): a few rows by primary key, never the findings table, and only
 * when the list has a node, check or category filter (without one the planner asks nothing).
 */
export async function readRollupCounts(sql: Sql, f: { node?: string | undefined; check?: string | undefined; category?: string | undefined }): Promise<RollupCounts | undefined> {
  if (f.node === undefined && f.check === undefined && f.category === undefined) return undefined;
  const all = tableOf(await sql.rows<Cell>('SELECT state, severity_rank AS rank, sum(n)::bigint AS n FROM finding_totals GROUP BY state, severity_rank'));
  const node = f.node === undefined ? undefined
    : tableOf((await sql.rows<{ state: string; s0: number; s1: number; s2: number; s3: number; s4: number }>(
      'SELECT state, s0, s1, s2, s3, s4 FROM node_counts WHERE node = $1', [f.node]))
      .flatMap((r) => [r.s0, r.s1, r.s2, r.s3, r.s4].map((n, rank) => ({ state: r.state, rank, n }))));
  const check = f.check === undefined ? undefined
    : tableOf(await sql.rows<Cell>('SELECT state, severity_rank AS rank, sum(n)::bigint AS n FROM check_totals WHERE check_id = $1 GROUP BY state, severity_rank', [f.check]));
  const category = f.category === undefined ? undefined
    : tableOf(await sql.rows<Cell>('SELECT state, severity_rank AS rank, sum(n)::bigint AS n FROM finding_totals WHERE category = $1 GROUP BY state, severity_rank', [f.category]));
  return { all, ...(node ? { node } : {}), ...(check ? { check } : {}), ...(category ? { category } : {}) };
}

/** The planner's Measure over counts read beforehand. */
export function measureOf(c: RollupCounts | undefined): Measure {
  const get = (m: ReadonlyMap<string, number> | undefined, state: FindingState, rank: number): number => m?.get(cell(state, rank)) ?? 0;
  return {
    total(states, r) {
      let n = 0;
      for (const state of states) for (let rank = r.lo; rank <= r.hi; rank++) n += get(c?.all, state, rank);
      return n;
    },
    matches(by, _value, _states, _ranks) {
      const m = c?.[by];
      return (state, rank) => get(m, state, rank);
    },
  };
}

// The rollup tables on PostgreSQL (SQLite's migration 002): the port of store/rollups.ts. Every
// change to a finding calls `move(before, after)`; the deltas are summed per rollup row in
// memory and written by `flush(sql)` at the end of the unit, in its transaction, so a batch
// of a hundred findings on one node costs a few row updates, and the rollups are exactly as
// consistent as the findings they count. Each unit has its own accumulator (units run at
// once on several connections).
//
// Replicas write the same hot rows (the cluster-wide totals of a category, a check's spread).
// Each row is written as `SET n = n + delta` (an upsert), never read then written, so no
// update is lost; and a flush takes its row locks in one fixed order (table by table in the
// order below, each table's rows sorted by key), so two units never wait for each other in a
// cycle. They do wait: a unit that flushes a row another unit has flushed and not yet
// committed waits for that commit. The lock is held from the flush to the commit, which ends
// the unit right after, so the wait is the rest of the other unit's flush plus its COMMIT.
import type { FindingState } from '../../../proto/domain.js';
import type { Measure } from '../finding-order.js';
import type { RollupKey } from '../rollups.js';
import type { Sql } from './sql.js';

export type { RollupKey } from '../rollups.js';

type Sev = [number, number, number, number, number];
const zero = (): Sev => [0, 0, 0, 0, 0];
const sum = (x: Sev): number => x[0] + x[1] + x[2] + x[3] + x[4];
const SEP = '\u0000';

const NODE = `INSERT INTO node_counts AS r (state, node, total, s0, s1, s2, s3, s4) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
  ON CONFLICT (state, node) DO UPDATE SET total = r.total + excluded.total, s0 = r.s0 + excluded.s0, s1 = r.s1 + excluded.s1,
    s2 = r.s2 + excluded.s2, s3 = r.s3 + excluded.s3, s4 = r.s4 + excluded.s4`;
const NODE_GONE = 'DELETE FROM node_counts WHERE state = $1 AND node = $2 AND total = 0';
const TOTAL = `INSERT INTO finding_totals AS r (state, category, severity_rank, n) VALUES ($1, $2, $3, $4)
  ON CONFLICT (state, category, severity_rank) DO UPDATE SET n = r.n + excluded.n`;
const TOTAL_GONE = 'DELETE FROM finding_totals WHERE state = $1 AND category = $2 AND severity_rank = $3 AND n = 0';
const CHECK_TOTAL = `INSERT INTO check_totals AS r (state, check_id, severity_rank, n) VALUES ($1, $2, $3, $4)
  ON CONFLICT (state, check_id, severity_rank) DO UPDATE SET n = r.n + excluded.n`;
const CHECK_TOTAL_GONE = 'DELETE FROM check_totals WHERE state = $1 AND check_id = $2 AND severity_rank = $3 AND n = 0';
const CHECK_NODE = `INSERT INTO check_nodes AS r (state, check_id, node, n) VALUES ($1, $2, $3, $4)
  ON CONFLICT (state, check_id, node) DO UPDATE SET n = r.n + excluded.n RETURNING n`;
const CHECK_NODE_GONE = 'DELETE FROM check_nodes WHERE state = $1 AND check_id = $2 AND node = $3 AND n = 0';
const SPREAD = `INSERT INTO check_spread AS r (state, check_id, nodes, findings, s0, s1, s2, s3, s4) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
  ON CONFLICT (state, check_id) DO UPDATE SET nodes = r.nodes + excluded.nodes, findings = r.findings + excluded.findings,
    s0 = r.s0 + excluded.s0, s1 = r.s1 + excluded.s1, s2 = r.s2 + excluded.s2, s3 = r.s3 + excluded.s3, s4 = r.s4 + excluded.s4`;
const SPREAD_GONE = 'DELETE FROM check_spread WHERE state = $1 AND check_id = $2 AND findings = 0';

/** A map's entries in the order of their keys: the order every flush takes its row locks in. */
function sorted<V>(m: Map<string, V>): V[] {
  return [...m.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([, v]) => v);
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
  const nodes = new Map<string, { state: string; node: string; sev: Sev }>();
  const totals = new Map<string, { state: string; category: string; rank: number; n: number }>();
  const checks = new Map<string, { state: string; checkId: string; node: string; sev: Sev }>();
  const checkTotals = new Map<string, { state: string; checkId: string; rank: number; n: number }>();

  function add(k: RollupKey, d: number): void {
    const r = k.severityRank;
    const nk = k.state + SEP + k.node;
    let n = nodes.get(nk);
    if (!n) nodes.set(nk, (n = { state: k.state, node: k.node, sev: zero() }));
    n.sev[r] = (n.sev[r] ?? 0) + d;
    const tk = k.state + SEP + k.category + SEP + r;
    let t = totals.get(tk);
    if (!t) totals.set(tk, (t = { state: k.state, category: k.category, rank: r, n: 0 }));
    t.n += d;
    const xk = k.state + SEP + k.checkId + SEP + r;
    let x = checkTotals.get(xk);
    if (!x) checkTotals.set(xk, (x = { state: k.state, checkId: k.checkId, rank: r, n: 0 }));
    x.n += d;
    // The checks failing on the most nodes count nodes: a cluster finding (node '') is none.
    if (k.status !== 'fail' || k.node === '') return;
    const ck = k.state + SEP + k.checkId + SEP + k.node;
    let c = checks.get(ck);
    if (!c) checks.set(ck, (c = { state: k.state, checkId: k.checkId, node: k.node, sev: zero() }));
    c.sev[r] = (c.sev[r] ?? 0) + d;
  }

  const same = (a: RollupKey, b: RollupKey): boolean => a.state === b.state && a.node === b.node && a.checkId === b.checkId
    && a.category === b.category && a.severityRank === b.severityRank && a.status === b.status;

  function reset(): void {
    nodes.clear();
    totals.clear();
    checks.clear();
    checkTotals.clear();
  }

  return {
    move(before, after) {
      if (before && after && same(before, after)) return;
      if (before) add(before, -1);
      if (after) add(after, +1);
    },

    async flush(sql) {
      for (const n of sorted(nodes)) {
        const total = sum(n.sev);
        if (n.sev.every((x) => x === 0)) continue;
        await sql.run(NODE, [n.state, n.node, total, ...n.sev]);
        if (total < 0) await sql.run(NODE_GONE, [n.state, n.node]);
      }
      for (const t of sorted(totals)) {
        if (t.n === 0) continue;
        await sql.run(TOTAL, [t.state, t.category, t.rank, t.n]);
        if (t.n < 0) await sql.run(TOTAL_GONE, [t.state, t.category, t.rank]);
      }
      for (const x of sorted(checkTotals)) {
        if (x.n === 0) continue;
        await sql.run(CHECK_TOTAL, [x.state, x.checkId, x.rank, x.n]);
        if (x.n < 0) await sql.run(CHECK_TOTAL_GONE, [x.state, x.checkId, x.rank]);
      }
      const spread = new Map<string, { state: string; checkId: string; nodes: number; sev: Sev }>();
      for (const c of sorted(checks)) {
        const d = sum(c.sev);
        const key = c.state + SEP + c.checkId;
        let sp = spread.get(key);
        if (!sp) spread.set(key, (sp = { state: c.state, checkId: c.checkId, nodes: 0, sev: zero() }));
        for (const [i, x] of c.sev.entries()) sp.sev[i] = (sp.sev[i] ?? 0) + x;
        if (d === 0) continue;
        // The row's count after this unit's delta (under its lock) tells whether the node
        // started or stopped counting for the check, whatever other replicas did before.
        const after = (await sql.one<{ n: number }>(CHECK_NODE, [c.state, c.checkId, c.node, d]))!.n;
        if (after === d) sp.nodes += 1;
        if (after === 0) {
          await sql.run(CHECK_NODE_GONE, [c.state, c.checkId, c.node]);
          sp.nodes -= 1;
        }
      }
      for (const sp of sorted(spread)) {
        if (sp.nodes === 0 && sp.sev.every((x) => x === 0)) continue;
        await sql.run(SPREAD, [sp.state, sp.checkId, sp.nodes, sum(sp.sev), ...sp.sev]);
        if (sum(sp.sev) < 0) await sql.run(SPREAD_GONE, [sp.state, sp.checkId]);
      }
      reset();
    },

    reset,
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
    : tableOf(await sql.rows<Cell>('SELECT state, severity_rank AS rank, n FROM check_totals WHERE check_id = $1', [f.check]));
  const category = f.category === undefined ? undefined
    : tableOf(await sql.rows<Cell>('SELECT state, severity_rank AS rank, n FROM finding_totals WHERE category = $1', [f.category]));
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

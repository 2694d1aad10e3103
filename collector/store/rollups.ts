// The rollup tables behind the summary and the node list (migration 002). Every change to
// a finding calls `move(before, after)`; the deltas are summed per rollup row in memory and
// written by `flush()`, which the store calls at the end of the same transaction. A batch of
// a hundred findings on one node thus costs a few row updates instead of hundreds, and the
// rollups are exactly as consistent as the findings they count.
import type { Statement } from 'better-sqlite3';
import type { Db } from './db.js';
import type { FindingState } from '../../proto/domain.js';
import type { Measure } from './finding-order.js';
import { createRollupDeltas, SEP, sum, zero, type Sev } from './rollup-deltas.js';

/** What a finding is counted under. */
export interface RollupKey {
  readonly state: string;
  readonly node: string;
  readonly checkId: string;
  readonly category: string;
  readonly severityRank: number;
  readonly status: string;
}


export function createRollups(db: Db) {
  const s = {
    node: db.prepare(`INSERT INTO node_counts (state, node, total, s0, s1, s2, s3, s4) VALUES (?, ?, ?, ?, ?, ?, ?, ?)
      ON CONFLICT DO UPDATE SET total = total + excluded.total, s0 = s0 + excluded.s0, s1 = s1 + excluded.s1,
        s2 = s2 + excluded.s2, s3 = s3 + excluded.s3, s4 = s4 + excluded.s4`),
    nodeGone: db.prepare('DELETE FROM node_counts WHERE state = ? AND node = ? AND total = 0'),
    total: db.prepare(`INSERT INTO finding_totals (state, category, severity_rank, n) VALUES (?, ?, ?, ?)
      ON CONFLICT DO UPDATE SET n = n + excluded.n`),
    totalGone: db.prepare('DELETE FROM finding_totals WHERE state = ? AND category = ? AND severity_rank = ? AND n = 0'),
    checkNode: db.prepare<[string, string, string, number], { n: number }>(`INSERT INTO check_nodes (state, check_id, node, n) VALUES (?, ?, ?, ?)
      ON CONFLICT DO UPDATE SET n = n + excluded.n RETURNING n`),
    checkNodeGone: db.prepare('DELETE FROM check_nodes WHERE state = ? AND check_id = ? AND node = ? AND n = 0'),
    spread: db.prepare(`INSERT INTO check_spread (state, check_id, nodes, findings, s0, s1, s2, s3, s4) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
      ON CONFLICT DO UPDATE SET nodes = nodes + excluded.nodes, findings = findings + excluded.findings, s0 = s0 + excluded.s0,
        s1 = s1 + excluded.s1, s2 = s2 + excluded.s2, s3 = s3 + excluded.s3, s4 = s4 + excluded.s4`),
    spreadGone: db.prepare('DELETE FROM check_spread WHERE state = ? AND check_id = ? AND findings = 0'),
    checkTotal: db.prepare(`INSERT INTO check_totals (state, check_id, severity_rank, n) VALUES (?, ?, ?, ?)
      ON CONFLICT DO UPDATE SET n = n + excluded.n`),
    checkTotalGone: db.prepare('DELETE FROM check_totals WHERE state = ? AND check_id = ? AND severity_rank = ? AND n = 0'),
  };

  const deltas = createRollupDeltas();
  const { nodes, totals, checks, checkTotals } = deltas;

  return {
    /** A finding appeared (before undefined), changed, or went away (after undefined). */
    move: deltas.move,
    /** Writes the summed deltas; call inside the transaction that made the changes. */
    flush(): void {
      for (const n of nodes.values()) {
        const total = sum(n.sev);
        if (total === 0 && n.sev.every((x) => x === 0)) continue;
        s.node.run(n.state, n.node, total, ...n.sev);
        if (total < 0) s.nodeGone.run(n.state, n.node);
      }
      for (const t of totals.values()) {
        if (t.n === 0) continue;
        s.total.run(t.state, t.category, t.rank, t.n);
        if (t.n < 0) s.totalGone.run(t.state, t.category, t.rank);
      }
      for (const x of checkTotals.values()) {
        if (x.n === 0) continue;
        s.checkTotal.run(x.state, x.checkId, x.rank, x.n);
        if (x.n < 0) s.checkTotalGone.run(x.state, x.checkId, x.rank);
      }
      const spread = new Map<string, { state: string; checkId: string; nodes: number; sev: Sev }>();
      for (const c of checks.values()) {
        const d = sum(c.sev);
        const key = c.state + SEP + c.checkId;
        let sp = spread.get(key);
        if (!sp) spread.set(key, (sp = { state: c.state, checkId: c.checkId, nodes: 0, sev: zero() }));
        c.sev.forEach((x, i) => { sp!.sev[i] = (sp!.sev[i] ?? 0) + x; });
        if (d === 0) continue;
        // The row's new count tells whether the node started or stopped counting for the check.
        const after = s.checkNode.get(c.state, c.checkId, c.node, d)!.n;
        if (after === d) sp.nodes += 1;
        if (after === 0) {
          s.checkNodeGone.run(c.state, c.checkId, c.node);
          sp.nodes -= 1;
        }
      }
      for (const sp of spread.values()) {
        if (sp.nodes === 0 && sp.sev.every((x) => x === 0)) continue;
        s.spread.run(sp.state, sp.checkId, sp.nodes, sum(sp.sev), ...sp.sev);
        if (sum(sp.sev) < 0) s.spreadGone.run(sp.state, sp.checkId);
      }
      deltas.reset();
    },
    /** Forgets unwritten deltas (a transaction that failed rolled back what they counted). */
    reset: deltas.reset,
  };
}

export type Rollups = ReturnType<typeof createRollups>;

/**
 * The counts the findings list's planner asks for (finding-order.ts Measure), read from the
 * rollups: a few rows by primary key, never the findings table. They are exact (the rollups
 * move in the transaction that moves the findings), so the list may leave out the index
 * ranges where a filter has no match.
 */
export function createRollupCounts(db: Db): Measure {
  const statements = new Map<string, Statement<unknown[], Record<string, number | string>>>();
  const all = (sql: string, ...params: unknown[]): Array<Record<string, number | string>> => {
    let stmt = statements.get(sql);
    if (!stmt) statements.set(sql, (stmt = db.prepare<unknown[], Record<string, number | string>>(sql)));
    return stmt.all(...params);
  };
  const IN_STATES = 'state IN (SELECT value FROM json_each(?))';
  /** Counts by state and severity from rows of (state, rank, n). */
  const table = (rows: Array<Record<string, number | string>>) => {
    const n = new Map(rows.map((r) => [`${r.state} ${r.rank}`, Number(r.n)]));
    return (state: FindingState, rank: number): number => n.get(`${state} ${rank}`) ?? 0;
  };
  return {
    total: (states, r) => Number(all(`SELECT coalesce(sum(n), 0) AS n FROM finding_totals WHERE ${IN_STATES} AND severity_rank BETWEEN ? AND ?`,
      JSON.stringify(states), r.lo, r.hi)[0]?.n ?? 0),
    matches(by, value, states, r) {
      const s = JSON.stringify(states);
      switch (by) {
        case 'category':
          return table(all(`SELECT state, severity_rank AS rank, n FROM finding_totals WHERE ${IN_STATES} AND category = ? AND severity_rank BETWEEN ? AND ?`, s, value, r.lo, r.hi));
        case 'check':
          return table(all(`SELECT state, severity_rank AS rank, n FROM check_totals WHERE ${IN_STATES} AND check_id = ? AND severity_rank BETWEEN ? AND ?`, s, value, r.lo, r.hi));
        case 'node': {
          const rows = all(`SELECT state, s0, s1, s2, s3, s4 FROM node_counts WHERE ${IN_STATES} AND node = ?`, s, value);
          return table(rows.flatMap((row) => [0, 1, 2, 3, 4].map((rank) => ({ state: row.state!, rank, n: row[`s${rank}`]! }))));
        }
      }
    },
  };
}

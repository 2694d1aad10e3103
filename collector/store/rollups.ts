// The rollup tables behind the summary and the node list (migration 002). Every change to
// a finding calls `move(before, after)`; the deltas are summed per rollup row in memory and
// written by `flush()`, which the store calls at the end of the same transaction. A batch of
// a hundred findings on one node thus costs a few row updates instead of hundreds, and the
// rollups are exactly as consistent as the findings they count.
import type { Statement } from 'better-sqlite3';
import type { Db } from './db.js';
import type { Measure } from './finding-order.js';

/** What a finding is counted under. */
export interface RollupKey {
  readonly state: string;
  readonly node: string;
  readonly checkId: string;
  readonly category: string;
  readonly severityRank: number;
  readonly status: string;
}

type Sev = [number, number, number, number, number];
const zero = (): Sev => [0, 0, 0, 0, 0];
const sep = '\u0000';

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
  };

  const nodes = new Map<string, { state: string; node: string; sev: Sev }>();
  const totals = new Map<string, { state: string; category: string; rank: number; n: number }>();
  const checks = new Map<string, { state: string; checkId: string; node: string; sev: Sev }>();

  function add(k: RollupKey, d: number): void {
    const r = k.severityRank;
    const nk = k.state + sep + k.node;
    let n = nodes.get(nk);
    if (!n) nodes.set(nk, (n = { state: k.state, node: k.node, sev: zero() }));
    n.sev[r] = (n.sev[r] ?? 0) + d;
    const tk = k.state + sep + k.category + sep + r;
    let t = totals.get(tk);
    if (!t) totals.set(tk, (t = { state: k.state, category: k.category, rank: r, n: 0 }));
    t.n += d;
    if (k.status !== 'fail') return;
    const ck = k.state + sep + k.checkId + sep + k.node;
    let c = checks.get(ck);
    if (!c) checks.set(ck, (c = { state: k.state, checkId: k.checkId, node: k.node, sev: zero() }));
    c.sev[r] = (c.sev[r] ?? 0) + d;
  }

  const same = (a: RollupKey, b: RollupKey): boolean => a.state === b.state && a.node === b.node && a.checkId === b.checkId
    && a.category === b.category && a.severityRank === b.severityRank && a.status === b.status;
  const sum = (x: Sev): number => x[0] + x[1] + x[2] + x[3] + x[4];

  return {
    /** A finding appeared (before undefined), changed, or went away (after undefined). */
    move(before: RollupKey | undefined, after: RollupKey | undefined): void {
      if (before && after && same(before, after)) return;
      if (before) add(before, -1);
      if (after) add(after, +1);
    },
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
      const spread = new Map<string, { state: string; checkId: string; nodes: number; sev: Sev }>();
      for (const c of checks.values()) {
        const d = sum(c.sev);
        const key = c.state + sep + c.checkId;
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
      this.reset();
    },
    /** Forgets unwritten deltas (a transaction that failed rolled back what they counted). */
    reset(): void {
      nodes.clear();
      totals.clear();
      checks.clear();
    },
  };
}

export type Rollups = ReturnType<typeof createRollups>;

/**
 * The counts the findings list's planner asks for (finding-order.ts Measure), read from the
 * rollups: a few rows by primary key, never the findings table. Findings of a node and of a
 * category are counted exactly; those of a check as check_spread counts them, failures only
 * (a check's warnings, at most one per node and subject, are left out of the estimate).
 */
export function createRollupCounts(db: Db): Measure {
  const statements = new Map<string, Statement<[string, ...unknown[]], number>>();
  const pluck = (sql: string): Statement<[string, ...unknown[]], number> => {
    let stmt = statements.get(sql);
    if (!stmt) statements.set(sql, (stmt = db.prepare<[string, ...unknown[]], number>(sql).pluck()));
    return stmt;
  };
  const states = (xs: readonly string[]): string => JSON.stringify(xs);
  /** s<lo> + ... + s<hi>: the severity columns of node_counts and check_spread. */
  const sev = (lo: number, hi: number): string => Array.from({ length: hi - lo + 1 }, (_, i) => `s${lo + i}`).join(' + ');
  const IN_STATES = 'state IN (SELECT value FROM json_each(?))';
  return {
    total: (s, r) => pluck(`SELECT coalesce(sum(n), 0) FROM finding_totals WHERE ${IN_STATES} AND severity_rank BETWEEN ? AND ?`).get(states(s), r.lo, r.hi) ?? 0,
    matches(by, value, s, r) {
      switch (by) {
        case 'category':
          return pluck(`SELECT coalesce(sum(n), 0) FROM finding_totals WHERE ${IN_STATES} AND category = ? AND severity_rank BETWEEN ? AND ?`)
            .get(states(s), value, r.lo, r.hi) ?? 0;
        case 'node':
          return pluck(`SELECT coalesce(sum(${sev(r.lo, r.hi)}), 0) FROM node_counts WHERE ${IN_STATES} AND node = ?`).get(states(s), value) ?? 0;
        case 'check':
          return pluck(`SELECT coalesce(sum(${sev(r.lo, r.hi)}), 0) FROM check_spread WHERE ${IN_STATES} AND check_id = ?`).get(states(s), value) ?? 0;
      }
    },
  };
}

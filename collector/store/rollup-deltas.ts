// What a unit of work moved in the rollup tables (migration 002), summed in memory: every
// change to a finding calls `move(before, after)`, and a backend's flush writes the sums at the
// end of the unit, in its transaction (rollups.ts for SQLite, pg/rollups.ts for PostgreSQL).
// One accumulator per unit; what a row counts is decided here once for both backends.
import type { RollupKey } from './rollups.js';

/** Counts by severity rank (info .. critical). */
export type Sev = [number, number, number, number, number];
export const zero = (): Sev => [0, 0, 0, 0, 0];
export const sum = (x: Sev): number => x[0] + x[1] + x[2] + x[3] + x[4];
/** Joins a key's parts (no text holds it). */
export const SEP = '\u0000';

export interface RollupDeltas {
  /** A finding appeared (before undefined), changed, or went away (after undefined). */
  move(before: RollupKey | undefined, after: RollupKey | undefined): void;
  /** node_counts: by state and node. */
  readonly nodes: ReadonlyMap<string, { readonly state: string; readonly node: string; readonly sev: Sev }>;
  /** finding_totals: by state, category and severity rank. */
  readonly totals: ReadonlyMap<string, { readonly state: string; readonly category: string; readonly rank: number; readonly n: number }>;
  /** check_nodes (and from them check_spread): failing findings by state, check and node. */
  readonly checks: ReadonlyMap<string, { readonly state: string; readonly checkId: string; readonly node: string; readonly sev: Sev }>;
  /** check_totals: by state, check and severity rank. */
  readonly checkTotals: ReadonlyMap<string, { readonly state: string; readonly checkId: string; readonly rank: number; readonly n: number }>;
  /** Forgets the sums (written, or rolled back with the unit). */
  reset(): void;
}

export function createRollupDeltas(): RollupDeltas {
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

  return {
    move(before, after) {
      if (before && after && same(before, after)) return;
      if (before) add(before, -1);
      if (after) add(after, +1);
    },
    nodes,
    totals,
    checks,
    checkTotals,
    reset() {
      nodes.clear();
      totals.clear();
      checks.clear();
      checkTotals.clear();
    },
  };
}

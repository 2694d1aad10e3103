// Findings rows for the list's property tests (test/collector/finding-order.test.ts,
// pg-search.test.ts): random rows with few distinct values, written through the store's own
// write, and the list's answer worked out by brute force in JS from the API's documented
// orders and filters.
import type { FindingFilter, FindingSort, SortOrder, Store } from '../../collector/store/store.js';
import { fingerprint } from '../../proto/fingerprint.js';
import { SEVERITIES, severityRank, type FindingState, type Severity } from '../../proto/domain.js';
import { prng } from './property.js';

// Few values, so that orders tie often; skewed, so that a filter can match most rows or few.
export const NODES = ['node-a', 'node-b', 'node-c'];
export const CHECKS = ['proc-unexpected', 'cis-4.2.1', 'cis-1.1.21', 'cert-expiry'];
export const CATEGORIES = ['process', 'kubelet', 'certificates'];
export const TITLES = ['Unexpected process', 'Kubelet anonymous auth', 'proc_50%', 'Certificate expires'];
export const ACTUALS = ['true', '100%', 'a_b', ''];

export interface Row {
  readonly seq: number;
  readonly id: string;
  readonly node: string;
  readonly checkId: string;
  readonly category: string;
  readonly subject: string;
  readonly title: string;
  readonly actual: string;
  readonly severity: Severity;
  readonly status: 'fail' | 'warn';
  readonly state: FindingState;
  readonly firstSeen: number;
  readonly lastSeen: number;
}

function skewed<T>(rnd: () => number, xs: readonly T[]): T {
  const r = rnd();
  return xs[r < 0.8 ? 0 : 1 + Math.floor(((r - 0.8) / 0.2) * (xs.length - 1))] ?? xs[0]!;
}

export function rowsOf(seed: number, n: number): Row[] {
  const rnd = prng(seed);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)]!;
  return Array.from({ length: n }, (_, i) => {
    const node = skewed(rnd, NODES);
    const checkId = skewed(rnd, CHECKS);
    const subject = `/s/${i}`;
    const firstSeen = Math.floor(rnd() * 12);
    const r = rnd();
    return {
      seq: i + 1, id: fingerprint(node, checkId, subject), node, checkId, category: skewed(rnd, CATEGORIES), subject,
      title: pick(TITLES), actual: pick(ACTUALS), severity: pick(SEVERITIES), status: rnd() < 0.15 ? 'warn' : 'fail',
      state: r < 0.7 ? 'open' : r < 0.9 ? 'resolved' : 'suppressed', firstSeen, lastSeen: firstSeen + Math.floor(rnd() * 6),
    };
  });
}

/** Writes the rows through the store's own write (rollups included), in seq order. */
export async function fill(store: Store, rows: readonly Row[]): Promise<void> {
  await store.unit(async (u) => {
    for (const r of rows) {
      await u.findings.save(undefined, {
        id: r.id, node: r.node, checkId: r.checkId, subject: r.subject, state: r.state, severity: r.severity,
        firstSeen: r.firstSeen, lastSeen: r.lastSeen, count: 1, resolvedAt: r.state === 'resolved' ? r.lastSeen : null,
        suppressedReason: r.state === 'suppressed' ? 'known' : null, suppressedUntil: null,
        suppressedBy: r.state === 'suppressed' ? 'test' : null, suppressedAt: r.state === 'suppressed' ? r.lastSeen : null,
        fields: {
          cis: '', references: [], title: r.title, category: r.category, severity: r.severity, status: r.status, scored: false, actual: r.actual,
          expected: '', source: '', sourceFile: '', reason: '', remediation: '', detail: '{}', seen: 'scan',
        },
      }, 0);
    }
  });
}

const text = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

/** The orders as the API documents them, written out again here rather than read from ORDERS. */
export const ASCENDING: Record<FindingSort, (a: Row, b: Row) => number> = {
  severity: (a, b) => severityRank(a.severity) - severityRank(b.severity) || a.firstSeen - b.firstSeen || a.seq - b.seq,
  lastSeen: (a, b) => a.lastSeen - b.lastSeen || a.seq - b.seq,
  firstSeen: (a, b) => a.firstSeen - b.firstSeen || a.seq - b.seq,
  node: (a, b) => text(a.node, b.node) || severityRank(b.severity) - severityRank(a.severity) || a.seq - b.seq,
  check: (a, b) => text(a.checkId, b.checkId) || severityRank(b.severity) - severityRank(a.severity) || a.seq - b.seq,
};

export function bruteForce(rows: readonly Row[], f: FindingFilter, sort: FindingSort, order: SortOrder): string[] {
  const like = (s: string): boolean => s.toLowerCase().includes(f.q!.toLowerCase());
  const matched = rows.filter((r) => (f.node === undefined || r.node === f.node) && (f.check === undefined || r.checkId === f.check)
    && (f.category === undefined || r.category === f.category) && (f.severity === undefined || r.severity === f.severity)
    && (f.minSeverity === undefined || severityRank(r.severity) >= severityRank(f.minSeverity)) && (f.state === undefined || r.state === f.state)
    && (f.since === undefined || r.lastSeen >= f.since) && (f.q === undefined || like(r.subject) || like(r.title) || like(r.checkId) || like(r.actual)));
  const asc = ASCENDING[sort];
  return matched.sort(order === 'asc' ? asc : (a, b) => asc(b, a)).map((r) => r.id);
}


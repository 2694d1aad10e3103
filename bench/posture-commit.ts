// Cluster posture from a watch event to the store: the generated cluster of bench/posture.ts
// (5,000 bindings over 500 namespaces) judged by the RBAC posture judge and committed to a
// real SQLite store the way the posture watch commits it. The baseline, measured in the same
// run, is committing the whole verdict again (what a relist does, and what an event would
// cost without the incremental path): one binding changed, judged and committed as a delta
// unit, against a full unit. Nothing here asserts a time.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createCommitStage } from '../collector/pipeline/commit.js';
import { createRbacJudge } from '../collector/posture/rbac-posture.js';
import type { PostureState } from '../collector/posture/rbac-judge.js';
import { openStore } from '../collector/store/sqlite.js';
import { generateCluster } from './posture.js';

export interface PostureCommitOptions {
  readonly namespaces: number;
  readonly bindingsPerNamespace: number;
  readonly events: number;
  readonly fullRounds: number;
}

export interface PostureCommitResult {
  readonly findings: number;
  /** The first full unit: every finding opened. */
  readonly firstMs: number;
  /** Full units again (every finding seen again; the reconcile resolves nothing), sorted. */
  readonly fullMs: readonly number[];
  /** One binding changed: judged and committed as a delta unit, sorted. */
  readonly eventMs: readonly number[];
}

const ms = (t0: bigint): number => Number(process.hrtime.bigint() - t0) / 1e6;

export async function benchPostureCommit(o: PostureCommitOptions): Promise<PostureCommitResult> {
  const judge = createRbacJudge();
  const held = new Map(judge.kinds.map((k) => [k.kind, new Map<string, unknown>()] as const));
  for (const raw of generateCluster(o.namespaces, o.bindingsPerNamespace)) {
    const kind = judge.kinds.find((k) => k.kind === raw.kind)!;
    const r = kind.read(raw.object);
    if (r.kind !== 'object') throw new Error(`generated object refused: ${r.kind === 'invalid' ? r.reason : r.key}`);
    held.get(raw.kind)!.set(r.key, r.value);
  }
  const dir = mkdtempSync(join(tmpdir(), 'nodeward-bench-posture-'));
  const store = openStore({ path: join(dir, 'nodeward.db') });
  try {
    const commit = createCommitStage(store, { maxOpenFindingsPerNode: 10_000, maxOpenClusterFindings: 1_000_000 });
    let state: PostureState = judge.full(held);
    const findings = judge.findings(state).findings;
    let now = Date.now();
    let t0 = process.hrtime.bigint();
    await commit.posture({ kind: 'full', findings, note: 'gone' }, now);
    const firstMs = ms(t0);
    const fullMs: number[] = [];
    for (let i = 0; i < o.fullRounds; i++) {
      t0 = process.hrtime.bigint();
      await commit.posture({ kind: 'full', findings: judge.findings(judge.full(held)).findings, note: 'gone' }, ++now);
      fullMs.push(ms(t0));
    }
    const eventMs: number[] = [];
    const rolebindings = judge.kinds.find((k) => k.kind === 'RoleBinding')!;
    for (let i = 0; i < o.events; i++) {
      const ns = `team-${(i * 37) % o.namespaces}`;
      const r = rolebindings.read({
        metadata: { name: 'rb-2', namespace: ns },
        roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: i % 2 === 0 ? 'team-secrets' : 'view' },
        subjects: [{ apiGroup: 'rbac.authorization.k8s.io', kind: 'User', name: `moved-${i}` }],
      });
      if (r.kind !== 'object') throw new Error(r.kind === 'invalid' ? r.reason : r.key);
      t0 = process.hrtime.bigint();
      const d = judge.apply(state, { type: 'upsert', kind: 'RoleBinding', key: r.key, value: r.value });
      state = d.state;
      await commit.posture({ kind: 'delta', upserts: [...d.opened, ...d.changed], resolved: d.resolved.map((f) => ({ finding: f, note: 'changed' })) }, ++now);
      eventMs.push(ms(t0));
    }
    const sort = (xs: number[]): number[] => xs.sort((a, b) => a - b);
    return { findings: findings.length, firstMs, fullMs: sort(fullMs), eventMs: sort(eventMs) };
  } finally {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

export function formatPostureCommitBench(r: PostureCommitResult, o: PostureCommitOptions): string {
  const at = (xs: readonly number[], q: number): number => xs[Math.min(xs.length - 1, Math.ceil(q * xs.length) - 1)] ?? NaN;
  const f = (n: number): string => (n < 10 ? n.toFixed(3) : n.toFixed(1));
  const full = at(r.fullMs, 0.5);
  return [
    `posture committed to SQLite: ${(o.namespaces * o.bindingsPerNamespace).toLocaleString('en-US')} generated bindings, ${r.findings.toLocaleString('en-US')} cluster findings`,
    `  first full unit (every finding opened): ${f(r.firstMs)} ms`,
    `  full unit again (baseline: a relist; ${r.fullMs.length} rounds): p50 ${f(full)} ms, max ${f(at(r.fullMs, 1))} ms`,
    `  one binding changed, judged and committed as a delta unit (${r.eventMs.length} events): p50 ${f(at(r.eventMs, 0.5))} ms, p99 ${f(at(r.eventMs, 0.99))} ms`,
    `    ratio event p50 / full p50: ${(at(r.eventMs, 0.5) / full).toExponential(1)}`,
    '',
  ].join('\n');
}

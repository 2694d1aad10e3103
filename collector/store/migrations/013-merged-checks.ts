import type { Db } from './migration.js';
import type { Migration } from './migration.js';
import { CIS_BENCHMARK } from '../../../proto/benchmark-refs.js';
import { fingerprint } from '../../../proto/fingerprint.js';
import { survivorOf } from '../../../proto/retired-checks.js';

// One finding per problem (issue 17). Checks that judged a problem another check judges too
// were merged into the survivor (proto/retired-checks.ts): twelve loose key files had been 24
// findings (cis-1.1.21 and cert-key-file). Here:
//   findings.benchmark_refs   every benchmark control a finding decides, as JSON
//                             (["cis-1.12:1.1.21"]); filled from `cis` for the rows stored before
//                             (the only benchmark agents ever named is cis-1.12).
// and the findings stored under a retired id are re-keyed to the surviving finding, its
// fingerprint (node, surviving check, surviving subject). When the surviving finding exists too,
// the two (or more: etcd's client URLs each had one) become one row:
//   - the row kept is the one an operator sees as most alive, open before suppressed before
//     resolved, the survivor's own on a tie: so no problem that was open stops being open, and
//     none that was settled reopens. It keeps its state, suppression and resolution;
//   - its first-seen is the earliest of the rows (when the problem was first seen), its
//     last-seen the latest, its count the largest (each counted the same scans), its references
//     all of theirs; its text (title, remediation, cis) the surviving check's when one of the rows
//     is the survivor's own;
//   - the other rows' history moves onto it, each entry's note saying where it came from, and
//     the rows go;
//   - Alertmanager firing sets follow: the kept row's entries under its new id, a folded row's
//     entry moved to the kept one where it has none (while it is open), else dropped.
// Nothing is resolved or reopened and no webhook outbox row is written: these are the same
// problems under one name. Queued deliveries for a folded id still go out as they are. The
// rollups and the nodes' compliance (whose latest results drop the retired checks) are recounted.
// A check that another absorbs on a shared file (ABSORBED_CHECKS: cis-4.1.7 and cis-4.1.8 on
// the kubelet's client CA when it is the PKI's ca.crt) is folded the same way, where the other
// check's finding on the same node and subject exists; elsewhere it stays as it is.
// The ids this migration handles are the ones below, whatever is retired later.
const RETIRED_AT_013 = [
  'cis-1.1.21', 'etcd-auto-tls', 'etcd-ca-shared', 'kubelet-api-anonymous', 'kubelet-readonly-port-closed',
  'etcd-client-cert-auth-live', 'etcd-plaintext-live',
] as const;
const ABSORBED_AT_013 = [['cis-4.1.7', 'cis-1.1.20'], ['cis-4.1.8', 'cis-1.1.19']] as const;

interface Row {
  seq: number; id: string; node: string; check_id: string; subject: string; state: string; cis: string; benchmark_refs: string;
  title: string; category: string; scored: number; remediation: string; first_seen: number; last_seen: number; count: number;
}

const STATE_RANK: Readonly<Record<string, number>> = { open: 2, suppressed: 1, resolved: 0 };

function refsOf(rows: readonly Row[]): string {
  const all = new Set<string>();
  for (const r of rows) {
    try {
      for (const x of JSON.parse(r.benchmark_refs) as unknown[]) if (typeof x === 'string') all.add(x);
    } catch {
      // Written by this migration's own UPDATE: always JSON.
    }
  }
  return JSON.stringify([...all].sort());
}

/** A firing set's snapshot of a finding, with its identity as it is now. */
function renamed(change: string, id: string, checkId: string, subject: string): string {
  try {
    const c = JSON.parse(change) as { finding?: Record<string, unknown> };
    if (typeof c.finding === 'object' && c.finding !== null) Object.assign(c.finding, { id, checkId, subject });
    return JSON.stringify(c);
  } catch {
    return change;
  }
}

function rekey(db: Db): number {
  const s = {
    rows: db.prepare<[string], Row>(`SELECT seq, id, node, check_id, subject, state, cis, benchmark_refs, title, category, scored,
      remediation, first_seen, last_seen, count FROM findings WHERE check_id = ?`),
    byId: db.prepare<[string], Row>(`SELECT seq, id, node, check_id, subject, state, cis, benchmark_refs, title, category, scored,
      remediation, first_seen, last_seen, count FROM findings WHERE id = ?`),
    moveHistory: db.prepare(`UPDATE finding_history SET finding_seq = ?,
      note = CASE WHEN note = '' THEN ? ELSE note || ' (' || ? || ')' END WHERE finding_seq = ?`),
    firing: db.prepare<[string], { destination: string; change: string }>('SELECT destination, change FROM webhook_firing WHERE finding_id = ?'),
    firingAt: db.prepare<[string, string], { n: number }>('SELECT count(*) AS n FROM webhook_firing WHERE destination = ? AND finding_id = ?'),
    unfire: db.prepare('DELETE FROM webhook_firing WHERE destination = ? AND finding_id = ?'),
    fire: db.prepare('INSERT INTO webhook_firing (destination, finding_id, change) VALUES (?, ?, ?)'),
    remove: db.prepare('DELETE FROM findings WHERE seq = ?'),
    keep: db.prepare(`UPDATE findings SET id = @id, check_id = @checkId, subject = @subject, first_seen = @firstSeen, last_seen = @lastSeen,
      count = @count, benchmark_refs = @refs, cis = @cis, title = @title, category = @category, scored = @scored, remediation = @remediation
      WHERE seq = @seq`),
  };

  // Target fingerprint -> the rows that become it.
  const groups = new Map<string, { node: string; checkId: string; subject: string; rows: Row[] }>();
  const join = (r: Row, to: { checkId: string; subject: string }): void => {
    const id = fingerprint(r.node, to.checkId, to.subject);
    const g = groups.get(id) ?? { node: r.node, checkId: to.checkId, subject: to.subject, rows: [] };
    g.rows.push(r);
    groups.set(id, g);
  };
  for (const retired of RETIRED_AT_013) {
    for (const r of s.rows.all(retired)) {
      const to = survivorOf(r.check_id, r.subject);
      if (to !== undefined) join(r, to); // Else no surviving finding for this subject: left as it was.
    }
  }
  for (const [absorbed, into] of ABSORBED_AT_013) {
    for (const r of s.rows.all(absorbed)) {
      if (s.byId.get(fingerprint(r.node, into, r.subject)) !== undefined) join(r, { checkId: into, subject: r.subject });
    }
  }

  for (const [id, g] of groups) {
    const own = s.byId.get(id);
    const rows = own === undefined ? g.rows : [own, ...g.rows];
    const keeper = [...rows].sort((a, b) => (STATE_RANK[b.state] ?? 0) - (STATE_RANK[a.state] ?? 0)
      || Number(b.id === id) - Number(a.id === id) || b.last_seen - a.last_seen)[0] as Row;
    const text = own ?? keeper;
    for (const o of rows) {
      if (o === keeper) continue;
      const from = `from ${o.check_id} on ${o.subject}`;
      s.moveHistory.run(keeper.seq, from, from, o.seq);
      for (const f of s.firing.all(o.id)) {
        s.unfire.run(f.destination, o.id);
        // The keeper fires where the folded row did, when it is open and not firing there yet.
        if (keeper.state === 'open' && s.firingAt.get(f.destination, keeper.id)!.n === 0 && s.firingAt.get(f.destination, id)!.n === 0) {
          s.fire.run(f.destination, keeper.id, renamed(f.change, id, g.checkId, g.subject));
        }
      }
      s.remove.run(o.seq);
    }
    if (keeper.id !== id) {
      for (const f of s.firing.all(keeper.id)) {
        s.unfire.run(f.destination, keeper.id);
        s.fire.run(f.destination, id, renamed(f.change, id, g.checkId, g.subject));
      }
    }
    s.keep.run({
      seq: keeper.seq, id, checkId: g.checkId, subject: g.subject,
      firstSeen: Math.min(...rows.map((r) => r.first_seen)), lastSeen: Math.max(...rows.map((r) => r.last_seen)),
      count: Math.max(...rows.map((r) => r.count)), refs: refsOf(rows),
      cis: text.cis, title: text.title, category: text.category, scored: text.scored, remediation: text.remediation,
    });
  }
  return groups.size;
}

/** The rollups of migrations 002 and 012 (check_totals), recounted from the findings. */
const RECOUNT_ROLLUPS = `
DELETE FROM node_counts;
DELETE FROM finding_totals;
DELETE FROM check_nodes;
DELETE FROM check_spread;
DELETE FROM check_totals;
INSERT INTO node_counts SELECT state, node, count(*), sum(severity_rank = 0), sum(severity_rank = 1), sum(severity_rank = 2),
  sum(severity_rank = 3), sum(severity_rank = 4) FROM findings GROUP BY state, node;
INSERT INTO finding_totals SELECT state, category, severity_rank, count(*) FROM findings GROUP BY state, category, severity_rank;
INSERT INTO check_nodes SELECT state, check_id, node, count(*) FROM findings WHERE status = 'fail' GROUP BY state, check_id, node;
INSERT INTO check_spread SELECT state, check_id, count(DISTINCT node), count(*), sum(severity_rank = 0), sum(severity_rank = 1),
  sum(severity_rank = 2), sum(severity_rank = 3), sum(severity_rank = 4) FROM findings WHERE status = 'fail' GROUP BY state, check_id;
INSERT INTO check_totals SELECT state, check_id, severity_rank, count(*) FROM findings GROUP BY state, check_id, severity_rank;
`;

/**
 * The retired checks' latest results go (the survivors' are there), as do an absorbed check's on
 * a subject its absorber judged; each node's compliance is recounted.
 */
function dropRetiredResults(db: Db): void {
  const drop = db.prepare('DELETE FROM node_results WHERE check_id = ?');
  const dropAbsorbed = db.prepare(`DELETE FROM node_results WHERE check_id = ? AND EXISTS (SELECT 1 FROM node_results o
    WHERE o.node = node_results.node AND o.check_id = ? AND o.subject = node_results.subject)`);
  let n = 0;
  for (const id of RETIRED_AT_013) n += drop.run(id).changes;
  for (const [absorbed, into] of ABSORBED_AT_013) n += dropAbsorbed.run(absorbed, into).changes;
  if (n === 0) return;
  db.exec(`UPDATE nodes SET
    scored_pass = (SELECT count(*) FROM node_results r WHERE r.node = nodes.name AND r.scored = 1 AND r.status = 'pass'),
    scored_total = (SELECT count(*) FROM node_results r WHERE r.node = nodes.name AND r.scored = 1 AND r.status IN ('pass', 'fail')),
    failing_checks = (SELECT count(DISTINCT r.check_id) FROM node_results r WHERE r.node = nodes.name AND r.status = 'fail')`);
}

export const m013MergedChecks: Migration = {
  version: 13,
  name: 'merged-checks',
  sql: `
ALTER TABLE findings ADD COLUMN benchmark_refs TEXT NOT NULL DEFAULT '[]';
UPDATE findings SET benchmark_refs = json_array('${CIS_BENCHMARK}:' || cis) WHERE cis != '';
`,
  run(db) {
    if (rekey(db) > 0) db.exec(RECOUNT_ROLLUPS);
    dropRetiredResults(db);
  },
};

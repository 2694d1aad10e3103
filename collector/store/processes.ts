// Unexpected processes: the `proc-unexpected` findings read as one row per (node, baseline,
// executable), which is what their fingerprint already is, with the process the agent last
// reported (its detail JSON, agent/processes/findings.ts).
//
// Where a process belongs comes from the finding's subject, `<baseline key>:<executable>`
// (proto/baseline-key.ts), not from the detail: the subject is the finding's identity, and a
// workload key `<namespace>/<Kind>/<name>/<container>` holds no `:` (nor does a host key,
// `host/control-plane`, `host/worker` or an older agent's `host`), so the key is everything
// before the first `:`. The namespace and workload filters match on that key, and only on
// four-part workload keys (`host` is a valid namespace name). The detail is
// the agent's account of the last occurrence: each field is checked and bounded as it is read.
import type { Synchronous } from './synchronous.js';
import { isHostKey, parseWorkloadKey, processSubject } from '../../proto/baseline-key.js';
import type { FindingState, Severity } from '../../proto/domain.js';
import type { Statement } from 'better-sqlite3';
import type { Db } from './db.js';
import { encodeCursor, pageOf, type Page } from './paging.js';
import type { ProcessFilter, ProcessQueries, UnexpectedProcess } from './boundary/processes.js';
import { isoTime } from './time.js';
import { ALLOW_RESOLVES_CHECK_IDS, PROC_UNEXPECTED_CHECK } from '../../proto/process-checks.js';
import { isSha256 } from '../../proto/exec-identity.js';

export interface Raw {
  seq: number; id: string; node: string; subject: string; state: FindingState; severity: Severity; detail: string;
  seen: string; first_seen: number; last_seen: number; count: number;
}

/** Bounds on what a row carries from the detail (the ingest bounds the detail to 16 KiB). */
const MAX_TEXT = 4096;
const MAX_PARENTS = 64;
/** The key part of a subject, as SQL: everything before its first `:`. */
const KEY_SQL = "substr(subject, 1, instr(subject, ':') - 1)";

const like = (s: string): string => s.replace(/[\\%_]/g, (c) => `\\${c}`);

export function createProcessQueries(db: Db): Synchronous<ProcessQueries> {
  const statements = new Map<string, Statement<Record<string, unknown>, Raw>>();
  // Walks the (check_id, state) index; the subjects are checked per row.
  const unresolved = db.prepare<[string, string], { subject: string; detail: string }>(`SELECT subject, detail FROM findings
    WHERE check_id IN (SELECT value FROM json_each(?)) AND state IN ('open', 'suppressed') AND subject IN (SELECT value FROM json_each(?))
    ORDER BY seq`);

  return {
    /**
     * The contents that ran at each of `paths` under `key`, as the findings an operator's allow
     * resolves (proc-unexpected, proc-modified-binary; open or suppressed, on any node) recorded
     * them: the SHA-256 of the detail's identity. A finding counts when its detail names the
     * baseline and executable of its own subject; one without a content (an agent before
     * contents, a file that could not be hashed) adds none. Paths with none are left out.
     */
    contentsSeen(key: string, paths: readonly string[]): Map<string, string[]> {
      const bySubject = new Map(paths.map((p) => [processSubject(key, p), p]));
      const out = new Map<string, string[]>();
      for (const r of unresolved.all(JSON.stringify(ALLOW_RESOLVES_CHECK_IDS), JSON.stringify([...bySubject.keys()]))) {
        const path = bySubject.get(r.subject);
        let detail: Obj | undefined;
        try {
          detail = obj(JSON.parse(r.detail));
        } catch {
          continue; // the ingest admits only JSON objects; an unreadable detail names no content
        }
        if (path === undefined || detail?.baseline !== key || detail.exe !== path) continue;
        const sha256 = obj(detail.identity)?.sha256;
        if (!isSha256(sha256)) continue;
        const list = out.get(path) ?? [];
        if (!list.includes(sha256)) list.push(sha256);
        out.set(path, list);
      }
      return out;
    },

    /** A page of rows in finding order (oldest first), after the cursor position `after`. */
    unexpected(filter: ProcessFilter, limit: number, after: number): Page<UnexpectedProcess> {
      // (node, state) drives when a node is given (its findings are few), else (check_id,
      // state); either walks rows in seq order without sorting.
      const where = [`${filter.node === undefined ? '' : '+'}check_id = @check`, 'state = @state', 'seq > @after'];
      const params: Record<string, unknown> = { check: PROC_UNEXPECTED_CHECK.id, state: filter.state, after, limit: limit + 1 };
      if (filter.node !== undefined) { where.push('node = @node'); params.node = filter.node; }
      if (filter.since !== undefined) { where.push('+last_seen >= @since'); params.since = filter.since; }
      if (filter.namespace !== undefined) {
        // Three more `/`: a workload key, never the two-part host key of a namespace named `host`.
        where.push(`${KEY_SQL} LIKE @namespace ESCAPE '\\'`);
        params.namespace = `${like(filter.namespace)}/%/%/%`;
      }
      if (filter.workload !== undefined) {
        // Parts cannot hold `/`, so in a four-part key `%/<Kind>/<name>/%` can only match the
        // kind and name (and `%/%/<name>/%` only the name).
        const slash = filter.workload.indexOf('/');
        where.push(`${KEY_SQL} LIKE @workload ESCAPE '\\'`);
        params.workload = slash === -1
          ? `%/%/${like(filter.workload)}/%`
          : `%/${like(filter.workload.slice(0, slash))}/${like(filter.workload.slice(slash + 1))}/%`;
      }
      // Assembled from fixed fragments (a handful of shapes, each prepared once); values are bound.
      const sql = `SELECT seq, id, node, subject, state, severity, detail, seen, first_seen, last_seen, count FROM findings
        WHERE ${where.join(' AND ')} ORDER BY seq LIMIT @limit`;
      let stmt = statements.get(sql);
      if (!stmt) statements.set(sql, (stmt = db.prepare<Record<string, unknown>, Raw>(sql)));
      return pageOf(stmt.all(params), limit, toProcess, (last) => encodeCursor(last.seq));
    },
  };
}

type Obj = Record<string, unknown>;
const obj = (v: unknown): Obj | undefined => (typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Obj) : undefined);
const text = (v: unknown): string => (typeof v === 'string' ? v.slice(0, MAX_TEXT) : '');

/** The baseline key and executable a subject names; an unrecognised subject is all executable. */
export function splitSubject(subject: string): { baseline: string; executable: string } {
  const container = /^(container:[0-9a-f]{64}):(.*)$/s.exec(subject);
  if (container) return { baseline: container[1] as string, executable: container[2] as string };
  const colon = subject.indexOf(':');
  const key = colon === -1 ? '' : subject.slice(0, colon);
  if (isHostKey(key) || (key !== '' && parseWorkloadKey(key))) return { baseline: key, executable: subject.slice(colon + 1) };
  return { baseline: '', executable: subject };
}

export function toProcess(r: Raw): UnexpectedProcess {
  let detail: Obj = {};
  try {
    detail = obj(JSON.parse(r.detail)) ?? {};
  } catch {
    // The ingest admits only JSON objects; an unreadable detail leaves the fields empty.
  }
  const { baseline, executable } = splitSubject(r.subject);
  const key = parseWorkloadKey(baseline);
  const container = obj(detail.container);
  const pid = detail.pid;
  return {
    id: r.id, node: r.node, state: r.state, severity: r.severity, baseline,
    // An over-long subject is cut and hashed: the detail's executable, when the subject is
    // exactly what it makes, is the whole path.
    executable: typeof detail.exe === 'string' && processSubject(baseline, detail.exe) === r.subject ? detail.exe : executable,
    exeDeleted: detail.exeDeleted === true,
    namespace: key?.namespace ?? '',
    workload: key ? `${key.kind}/${key.name}` : '',
    container: key?.container ?? text(container?.name),
    containerId: text(container?.id) || (baseline.startsWith('container:') ? baseline.slice('container:'.length) : ''),
    pod: text(detail.pod),
    pid: typeof pid === 'number' && Number.isSafeInteger(pid) && pid >= 0 ? pid : null,
    user: text(detail.user),
    cmdline: text(detail.cmdline),
    parents: Array.isArray(detail.parents) ? detail.parents.filter((p): p is string => typeof p === 'string').slice(0, MAX_PARENTS).map(text) : [],
    seen: r.seen,
    partial: detail.partial === true,
    firstSeen: isoTime(r.first_seen),
    lastSeen: isoTime(r.last_seen),
    count: r.count,
  };
}

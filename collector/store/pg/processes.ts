// Unexpected processes on PostgreSQL: the implementation of ProcessQueries
// (boundary/processes.ts) over `Sql`. The SQLite one (store/processes.ts) is the
// specification, and its toProcess turns the rows of both into what the API shows.
//
// The namespace and workload filters match the key part of a subject with SQLite's LIKE,
// which ignores the case of ASCII letters only: here ILIKE under COLLATE "C", which does the
// same whatever the database's locale, with the same escapes. SQLite's key expression
// (substr up to the first `:`, empty when there is none) is written so that PostgreSQL's
// substr, which refuses a negative length, gives the same.
import { processSubject } from '../../../proto/baseline-key.js';
import { isSha256 } from '../../../proto/exec-identity.js';
import { ALLOW_RESOLVES_CHECK_IDS, PROC_UNEXPECTED_CHECK } from '../../../proto/process-checks.js';
import type { ProcessFilter, ProcessQueries, UnexpectedProcess } from '../boundary/processes.js';
import { encodeCursor, pageOf, type Page } from '../paging.js';
import { toProcess, type Raw } from '../processes.js';
import { DETAIL_TEXT, detailValue } from './detail.js';
import type { Sql } from './sql.js';

/** The key part of a subject: everything before its first `:`, or '' without one. */
const KEY_SQL = "(substr(subject, 1, greatest(strpos(subject, ':') - 1, 0)) COLLATE \"C\")";

const like = (s: string): string => s.replace(/[\\%_]/g, (c) => `\\${c}`);

// Walks the (check_id, state) index; the subjects are checked per row.
const UNRESOLVED = `SELECT subject, detail FROM findings
  WHERE check_id = ANY($1::text[]) AND state IN ('open', 'suppressed') AND subject = ANY($2::text[])
  ORDER BY seq`;

type Obj = Record<string, unknown>;
const obj = (v: unknown): Obj | undefined => (typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Obj) : undefined);

export function createPgProcessQueries(sql: Sql): ProcessQueries {
  return {
    /**
     * As SQLite's: a finding counts when its detail names the baseline and executable of its own
     * subject; one without a content adds none. The detail is jsonb, read as an object.
     */
    async contentsSeen(key: string, paths: readonly string[]): Promise<Map<string, string[]>> {
      const bySubject = new Map(paths.map((p) => [processSubject(key, p), p]));
      const out = new Map<string, string[]>();
      const rows = await sql.rows<{ subject: string; detail: unknown }>(UNRESOLVED, [[...ALLOW_RESOLVES_CHECK_IDS], [...bySubject.keys()]]);
      for (const r of rows) {
        const path = bySubject.get(r.subject);
        const detail = obj(detailValue(r.detail));
        if (path === undefined || detail?.baseline !== key || detail.exe !== path) continue;
        const sha256 = obj(detail.identity)?.sha256;
        if (!isSha256(sha256)) continue;
        const list = out.get(path) ?? [];
        if (!list.includes(sha256)) list.push(sha256);
        out.set(path, list);
      }
      return out;
    },

    async unexpected(filter: ProcessFilter, limit: number, after: number): Promise<Page<UnexpectedProcess>> {
      const params: unknown[] = [];
      const bind = (v: unknown): string => {
        params.push(v);
        return `$${params.length}`;
      };
      const where = [`check_id = ${bind(PROC_UNEXPECTED_CHECK.id)}`, `state = ${bind(filter.state)}`, `seq > ${bind(after)}`];
      if (filter.node !== undefined) where.push(`node = ${bind(filter.node)}`);
      if (filter.since !== undefined) where.push(`last_seen >= ${bind(filter.since)}`);
      if (filter.namespace !== undefined) {
        // Three more `/`: a workload key, never the two-part host key of a namespace named `host`.
        where.push(`${KEY_SQL} ILIKE ${bind(`${like(filter.namespace)}/%/%/%`)} ESCAPE '\\'`);
      }
      if (filter.workload !== undefined) {
        // Parts cannot hold `/`, so in a four-part key `%/<Kind>/<name>/%` can only match the
        // kind and name (and `%/%/<name>/%` only the name).
        const slash = filter.workload.indexOf('/');
        const pattern = slash === -1
          ? `%/%/${like(filter.workload)}/%`
          : `%/${like(filter.workload.slice(0, slash))}/${like(filter.workload.slice(slash + 1))}/%`;
        where.push(`${KEY_SQL} ILIKE ${bind(pattern)} ESCAPE '\\'`);
      }
      // Assembled from fixed fragments (a handful of shapes, each prepared once); values are bound.
      const text = `SELECT seq, id, node, subject, state, severity, ${DETAIL_TEXT} AS detail, seen, first_seen, last_seen, count FROM findings
        WHERE ${where.join(' AND ')} ORDER BY seq LIMIT ${bind(limit + 1)}`;
      return pageOf(await sql.rows<Raw>(text, params), limit, toProcess, (last) => encodeCursor(last.seq));
    },
  };
}

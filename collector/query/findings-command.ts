// `nodeward findings show|history|suppress|unsuppress ID`: one finding through the collector's
// API (GET /api/v1/findings/{id}, POST .../suppress and .../unsuppress; the last two need an
// admin token and are written to the audit log). ID is the finding's id, the Id column of
// `nodeward query findings`. Exit codes as for `nodeward query`: 0 done, 1 the call failed,
// 2 usage error (including a parameter the API refused with 400).
import type { Command } from 'commander';
import { getOk, postOk } from './client.js';
import { OUTPUTS, parseUntil, printPage, QueryUsageError, runQuery, withConnection, writeOut, type ConnectionFlags, type QueryIo } from './command.js';
import { printable, renderTable, type Column } from './table.js';

interface HistoryLike { event: string; at: string; lastAt: string; occurrences: number; severity: string; note: string }

interface FindingLike {
  /** Absent from collectors older than cluster findings. */
  scope?: string;
  id: string; node: string; checkId: string; cis: string; references?: string[]; title: string; category: string; subject: string; severity: string;
  status: string; state: string; scored: boolean; actual: string; expected: string; source: string; sourceFile: string;
  reason: string; remediation: string; firstSeen: string; lastSeen: string; count: number; resolvedAt: string | null;
  suppressedReason: string | null; suppressedUntil: string | null; suppressedBy: string | null; suppressedAt: string | null;
  history?: HistoryLike[];
}

const time = (iso: string | null | undefined): string => (iso ? iso.replace(/\.\d{3}Z$/, 'Z') : '');

const HISTORY_COLUMNS: ReadonlyArray<Column<HistoryLike>> = [
  { title: 'At', value: (h) => time(h.at) },
  { title: 'Until', value: (h) => (h.lastAt && h.lastAt !== h.at ? time(h.lastAt) : null) },
  { title: 'Event', value: (h) => h.event },
  { title: 'Times', value: (h) => h.occurrences, align: 'right' },
  { title: 'Severity', value: (h) => h.severity },
  { title: 'Note', value: (h) => h.note, max: 100 },
];

/** A finding's id as the API names it: 32 lowercase hex characters. */
function findingId(raw: string): string {
  const id = raw.trim().toLowerCase();
  if (!/^[0-9a-f]{32}$/.test(id)) throw new QueryUsageError(`${JSON.stringify(raw)} is not a finding id: 32 hex characters, the Id column of nodeward query findings`);
  return id;
}

/** The state line: open, resolved when, suppressed by whom, why and until when. */
function stateText(f: FindingLike): string {
  if (f.state === 'resolved') return `resolved${f.resolvedAt ? ` at ${time(f.resolvedAt)}` : ''}`;
  if (f.state === 'suppressed') {
    return `suppressed by ${f.suppressedBy || '(unknown)'}${f.suppressedAt ? ` at ${time(f.suppressedAt)}` : ''}`
      + `${f.suppressedUntil ? ` until ${time(f.suppressedUntil)}` : ' with no end'}: ${f.suppressedReason ?? ''}`;
  }
  return f.state;
}

/** `nodeward findings show`: the finding's fields as `Label: value` lines, then its history. */
export function renderFinding(f: FindingLike): string {
  const value = f.actual === '' ? '(not set)' : f.actual;
  const from = f.sourceFile ? ` (${f.source} ${f.sourceFile})` : f.source && f.source !== 'none' ? ` (${f.source})` : '';
  const rows: Array<[string, string]> = [
    ['Finding', f.id],
    ['Check', `${f.checkId}${f.cis ? ` (CIS ${f.cis}${f.scored ? '' : ', manual'})` : ''}: ${f.title}`],
    ['References', (f.references ?? []).length > 0 ? (f.references ?? []).join(', ') : '(none: not a benchmark control)'],
    f.scope === 'cluster' ? ['Scope', 'cluster (about API objects; no node)'] : ['Node', f.node],
    ['Subject', f.subject],
    ['Severity', f.severity],
    ['State', stateText(f)],
    ['Status', f.status],
    ['Value', `${value}${from}; expected ${f.expected}`],
    ['Reason', f.reason],
    ['Remediation', f.remediation],
    ['Seen', `${f.count} time${f.count === 1 ? '' : 's'}, first ${time(f.firstSeen)}, last ${time(f.lastSeen)}`],
  ];
  const width = Math.max(...rows.map(([k]) => k.length)) + 1;
  const lines = rows.map(([k, v]) => `${`${k}:`.padEnd(width)} ${printable(v)}`);
  const history = f.history ?? [];
  lines.push('', history.length === 0 ? 'No history.' : `History, newest first:\n${renderTable(history, HISTORY_COLUMNS)}`);
  return lines.join('\n');
}

export function addFindingsCommand(program: Command, io: QueryIo): Command {
  const findings = program.command('findings').description('one finding: show it, its history, suppress or unsuppress it (by its id)');

  withConnection(findings.command('show').description('a finding: check, subject, value and where it came from, reason, remediation, state, history'))
    .argument('<id>', 'the finding id (the Id column of nodeward query findings)')
    .action(async (raw: string, o: ConnectionFlags) => {
      const id = findingId(raw);
      await runQuery(o, io, async (conn) => {
        const f = await getOk<FindingLike>(conn, `/api/v1/findings/${id}`);
        writeOut(io, o.output === 'json' ? JSON.stringify(f, null, 2) : renderFinding(f));
      });
    });

  withConnection(findings.command('history').description("a finding's history, newest first: transitions, and occurrences folded per hour"), OUTPUTS)
    .argument('<id>', 'the finding id')
    .action(async (raw: string, o: ConnectionFlags) => {
      const id = findingId(raw);
      await runQuery(o, io, async (conn) => {
        const f = await getOk<FindingLike>(conn, `/api/v1/findings/${id}`);
        printPage(io, o.output, { items: f.history ?? [], nextCursor: null }, HISTORY_COLUMNS, 'No history.', 'entries');
      });
    });

  withConnection(findings.command('suppress').description('suppress a finding (or change the reason and end of its suppression); needs an admin token'))
    .argument('<id>', 'the finding id')
    .requiredOption('--reason <text>', 'why (shown with the finding and in the audit log)')
    .option('--until <when>', 'when the suppression ends by itself: 24h, 7d, 90d from now, or an RFC 3339 time (default: never)', (v) => parseUntil(v))
    .action(async (raw: string, o: ConnectionFlags & { reason: string; until?: string }) => {
      const id = findingId(raw);
      if (o.reason.trim() === '') throw new QueryUsageError('--reason must say why');
      await runQuery(o, io, async (conn) => {
        const f = await postOk<FindingLike>(conn, `/api/v1/findings/${id}/suppress`, { reason: o.reason, ...(o.until ? { until: o.until } : {}) });
        writeOut(io, o.output === 'json' ? JSON.stringify(f, null, 2) : `${f.id}: ${printable(stateText(f))}`);
      });
    });

  withConnection(findings.command('unsuppress').description('end a suppression now; needs an admin token'))
    .argument('<id>', 'the finding id')
    .action(async (raw: string, o: ConnectionFlags) => {
      const id = findingId(raw);
      await runQuery(o, io, async (conn) => {
        const f = await postOk<FindingLike>(conn, `/api/v1/findings/${id}/unsuppress`, {});
        writeOut(io, o.output === 'json' ? JSON.stringify(f, null, 2) : `${f.id}: suppression ended; now ${printable(stateText(f))}`);
      });
    });

  return findings;
}

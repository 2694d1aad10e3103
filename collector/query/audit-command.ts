// `nodeward audit`: the collector's audit log (GET /api/v1/audit, admin token): who changed
// what, when, from where, and how the call ended; newest first. Exit codes as for
// `nodeward query`: 0 answered, 1 the call failed, 2 usage error.
import type { Command } from 'commander';
import { collect, OUTPUTS, parseSince, positive, printPage, runQuery, withConnection, type ConnectionFlags, type QueryIo } from './command.js';
import type { Column } from './table.js';

interface AuditLike {
  id: number; at: string; lastAt: string; actor: string; role: string; action: string; target: string;
  detail: Record<string, unknown>; status: number; remote: string; count: number;
}

const time = (iso: string | null | undefined): string => (iso ? iso.replace(/\.\d{3}Z$/, 'Z') : '');

const AUDIT_COLUMNS: ReadonlyArray<Column<AuditLike>> = [
  { title: 'At', value: (a) => time(a.at) },
  { title: 'Actor', value: (a) => a.actor, max: 32 },
  { title: 'Role', value: (a) => a.role },
  { title: 'Action', value: (a) => a.action, max: 40 },
  { title: 'Target', value: (a) => a.target, max: 60 },
  { title: 'Status', value: (a) => a.status, align: 'right' },
  { title: 'Calls', value: (a) => a.count, align: 'right' },
  { title: 'From', value: (a) => a.remote, max: 40 },
  { title: 'Detail', value: (a) => (Object.keys(a.detail ?? {}).length === 0 ? null : JSON.stringify(a.detail)), max: 80 },
];

export function addAuditCommand(program: Command, io: QueryIo): Command {
  return withConnection(program.command('audit').description('the audit log: API calls that change something, who made them and how they ended; newest first (needs an admin token)'), OUTPUTS)
    .option('--actor <name>', 'only calls by this token or user name')
    .option('--action <action>', 'only this action, e.g. finding.suppress, webhook.retry, baseline.allow')
    .option('--target <target>', 'only calls on this target (a finding id, a baseline key, a node)')
    .option('--since <when>', 'at or after: 30m, 24h, 7d or an RFC 3339 time', (v) => parseSince(v))
    .option('--limit <n>', 'at most this many records', positive, 100)
    .option('--all', 'every record that matches (follows every page)')
    .action(async (o: ConnectionFlags & { actor?: string; action?: string; target?: string; since?: string; limit: number; all?: boolean }) => {
      await runQuery(o, io, async (conn) => {
        const params = { actor: o.actor, action: o.action, target: o.target, since: o.since };
        const page = await collect<AuditLike>(conn, '/api/v1/audit', params, o.all ? Number.MAX_SAFE_INTEGER : o.limit, 1000);
        printPage(io, o.output, page, AUDIT_COLUMNS, 'No audit record matches.', 'records');
      });
    });
}

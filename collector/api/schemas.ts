// Request and response schemas of the query API. The same schemas validate requests and
// produce the OpenAPI document.
import { Type, type TLiteral, type TUnion } from '@sinclair/typebox';
import { FINDING_STATES, SEVERITIES } from '../../proto/domain.js';
import { HISTORY_EVENTS } from '../store/history.js';

const literals = <T extends string>(xs: readonly T[]): TUnion<TLiteral<T>[]> => Type.Union(xs.map((x) => Type.Literal(x)));
const Nullable = <T extends ReturnType<typeof Type.String>>(t: T) => Type.Union([t, Type.Null()]);
const Cursor = Type.Optional(Type.String({ maxLength: 256, description: 'The nextCursor of the previous page' }));
const Time = (description: string) => Type.String({ format: 'date-time', description });

export const ErrorBody = Type.Object({ error: Type.String() });

export const FindingsQuery = Type.Object({
  node: Type.Optional(Type.String({ maxLength: 253 })),
  check: Type.Optional(Type.String({ maxLength: 64 })),
  category: Type.Optional(Type.String({ maxLength: 32 })),
  severity: Type.Optional(literals(SEVERITIES)),
  minSeverity: Type.Optional(literals(SEVERITIES)),
  state: Type.Optional(literals(FINDING_STATES)),
  since: Type.Optional(Time('Last seen at or after (RFC 3339)')),
  q: Type.Optional(Type.String({ maxLength: 256, description: 'Substring of subject, title, check or value' })),
  limit: Type.Integer({ minimum: 1, maximum: 1000, default: 100 }),
  cursor: Cursor,
}, { additionalProperties: false });

const findingFields = {
  id: Type.String(), node: Type.String(), checkId: Type.String(), cis: Type.String(), title: Type.String(),
  category: Type.String(), subject: Type.String(), severity: literals(SEVERITIES), status: Type.String(),
  state: literals(FINDING_STATES), scored: Type.Boolean(), actual: Type.String(), expected: Type.String(),
  source: Type.String(), sourceFile: Type.String(), reason: Type.String(), remediation: Type.String(),
  detail: Type.Unknown(), seen: Type.String(), firstSeen: Type.String(), lastSeen: Type.String(),
  count: Type.Integer(), resolvedAt: Nullable(Type.String()),
  suppressedReason: Nullable(Type.String()), suppressedUntil: Nullable(Type.String()),
  suppressedBy: Nullable(Type.String()), suppressedAt: Nullable(Type.String()),
};

export const Finding = Type.Object(findingFields);

export const HistoryEntry = Type.Object({
  event: literals(HISTORY_EVENTS), at: Type.String(), lastAt: Type.String(), occurrences: Type.Integer(),
  severity: Type.String(), note: Type.String(),
});

export const FindingDetail = Type.Object({
  ...findingFields,
  history: Type.Array(HistoryEntry, { description: 'Newest first; transitions, and occurrences folded per hour; bounded' }),
});

export const FindingPage = Type.Object({ items: Type.Array(Finding), nextCursor: Nullable(Type.String()) });

export const FindingParams = Type.Object({ id: Type.String({ pattern: '^[0-9a-f]{32}$' }) }, { additionalProperties: false });

export const SuppressBody = Type.Object({
  reason: Type.String({ minLength: 1, maxLength: 1024 }),
  until: Type.Optional(Time('When the suppression ends by itself (RFC 3339, in the future)')),
}, { additionalProperties: false });

export const NodesQuery = Type.Object({
  stale: Type.Optional(Type.Boolean({ description: 'true: only nodes silent past the stale time; false: only the others' })),
  limit: Type.Integer({ minimum: 1, maximum: 5000, default: 1000 }),
  cursor: Cursor,
}, { additionalProperties: false });

export const NodeParams = Type.Object({
  name: Type.String({ minLength: 1, maxLength: 253, pattern: '^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$' }),
}, { additionalProperties: false });

export const Node = Type.Object({
  name: Type.String(), agentVersion: Type.String(), kubeletVersion: Type.String(), os: Type.String(), kernel: Type.String(),
  arch: Type.String(), cpus: Type.Integer(), memoryBytes: Type.Integer(),
  certificates: Type.Array(Type.Object({ path: Type.String(), notAfter: Type.String() })),
  connected: Type.Boolean(), stale: Type.Boolean(), firstSeen: Type.String(), lastSeen: Type.String(),
  execCoverage: Type.String(),
  spool: Type.Object({ entries: Type.Integer(), dropped: Type.Integer(), rejected: Type.Integer() }),
  findingsRefused: Type.Integer(), openFindings: Type.Integer(), failingChecks: Type.Integer(),
  scoredChecks: Type.Object({ passing: Type.Integer(), scored: Type.Integer() }),
  complianceScore: Type.Union([Type.Number(), Type.Null()]),
});

export const NodePage = Type.Object({ items: Type.Array(Node), nextCursor: Nullable(Type.String()) });

export const SummaryQuery = Type.Object({
  state: Type.Union(FINDING_STATES.map((x) => Type.Literal(x)), { default: 'open', description: 'Which findings to count' }),
  top: Type.Integer({ minimum: 1, maximum: 100, default: 10, description: 'Rows in byNode and topChecks' }),
}, { additionalProperties: false });

const BySeverity = Type.Object(Object.fromEntries(SEVERITIES.map((s) => [s, Type.Integer()])) as Record<(typeof SEVERITIES)[number], ReturnType<typeof Type.Integer>>);

export const Summary = Type.Object({
  state: literals(FINDING_STATES),
  generatedAt: Type.String(),
  nodes: Type.Object({ total: Type.Integer(), connected: Type.Integer(), stale: Type.Integer() }),
  compliance: Type.Object({
    score: Type.Union([Type.Number(), Type.Null()], { description: 'Passing scored checks / scored checks, across all nodes' }),
    passing: Type.Integer(), scored: Type.Integer(),
  }),
  findings: Type.Object({ total: Type.Integer(), bySeverity: BySeverity, byCategory: Type.Record(Type.String(), Type.Integer()) }),
  byNode: Type.Array(Type.Object({ node: Type.String(), total: Type.Integer(), bySeverity: BySeverity })),
  topChecks: Type.Array(Type.Object({
    checkId: Type.String(), title: Type.String(), category: Type.String(), severity: literals(SEVERITIES),
    nodes: Type.Integer({ description: 'Nodes it fails on' }), findings: Type.Integer(),
  }), { description: 'Failing checks (not warnings) with findings in this state on the most nodes' }),
});

export const AuditQuery = Type.Object({
  actor: Type.Optional(Type.String({ maxLength: 64 })),
  action: Type.Optional(Type.String({ maxLength: 64 })),
  target: Type.Optional(Type.String({ maxLength: 253 })),
  since: Type.Optional(Time('At or after (RFC 3339)')),
  limit: Type.Integer({ minimum: 1, maximum: 1000, default: 100 }),
  cursor: Cursor,
}, { additionalProperties: false });

export const AuditRecord = Type.Object({
  id: Type.Integer(), at: Type.String(), actor: Type.String(), role: Type.String(), action: Type.String(),
  target: Type.String(), detail: Type.Record(Type.String(), Type.Unknown()), status: Type.Integer(), remote: Type.String(),
});

export const AuditPage = Type.Object({ items: Type.Array(AuditRecord), nextCursor: Nullable(Type.String()) });

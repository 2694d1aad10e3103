// Request and response schemas of the query API. The same schemas validate requests and
// produce the OpenAPI document.
import { Type, type TLiteral, type TUnion } from '@sinclair/typebox';
import { FINDING_STATES, SEVERITIES } from '../../proto/domain.js';

const literals = <T extends string>(xs: readonly T[]): TUnion<TLiteral<T>[]> => Type.Union(xs.map((x) => Type.Literal(x)));

export const ErrorBody = Type.Object({ error: Type.String() });

export const FindingsQuery = Type.Object({
  node: Type.Optional(Type.String({ maxLength: 253 })),
  check: Type.Optional(Type.String({ maxLength: 64 })),
  category: Type.Optional(Type.String({ maxLength: 32 })),
  severity: Type.Optional(literals(SEVERITIES)),
  minSeverity: Type.Optional(literals(SEVERITIES)),
  state: Type.Optional(literals(FINDING_STATES)),
  since: Type.Optional(Type.String({ format: 'date-time', description: 'Last seen at or after (RFC 3339)' })),
  q: Type.Optional(Type.String({ maxLength: 256, description: 'Substring of subject, title, check or value' })),
  limit: Type.Integer({ minimum: 1, maximum: 1000, default: 100 }),
  cursor: Type.Optional(Type.String({ maxLength: 256 })),
}, { additionalProperties: false });

export const Finding = Type.Object({
  id: Type.String(), node: Type.String(), checkId: Type.String(), cis: Type.String(), title: Type.String(),
  category: Type.String(), subject: Type.String(), severity: literals(SEVERITIES), status: Type.String(),
  state: literals(FINDING_STATES), scored: Type.Boolean(), actual: Type.String(), expected: Type.String(),
  source: Type.String(), sourceFile: Type.String(), reason: Type.String(), remediation: Type.String(),
  detail: Type.Unknown(), seen: Type.String(), firstSeen: Type.String(), lastSeen: Type.String(),
  count: Type.Integer(), resolvedAt: Type.Union([Type.String(), Type.Null()]),
  suppressedReason: Type.Union([Type.String(), Type.Null()]), suppressedUntil: Type.Union([Type.String(), Type.Null()]),
});

export const FindingPage = Type.Object({ items: Type.Array(Finding), nextCursor: Type.Union([Type.String(), Type.Null()]) });

export const FindingParams = Type.Object({ id: Type.String({ pattern: '^[0-9a-f]{32}$' }) }, { additionalProperties: false });

export const SuppressBody = Type.Object({
  reason: Type.String({ minLength: 1, maxLength: 1024 }),
  until: Type.Optional(Type.String({ format: 'date-time' })),
}, { additionalProperties: false });

export const Node = Type.Object({
  name: Type.String(), agentVersion: Type.String(), kubeletVersion: Type.String(), os: Type.String(), kernel: Type.String(),
  arch: Type.String(), cpus: Type.Integer(), memoryBytes: Type.Integer(),
  certificates: Type.Array(Type.Object({ path: Type.String(), notAfter: Type.String() })),
  connected: Type.Boolean(), stale: Type.Boolean(), firstSeen: Type.String(), lastSeen: Type.String(),
  execCoverage: Type.String(),
  spool: Type.Object({ entries: Type.Integer(), dropped: Type.Integer(), rejected: Type.Integer() }),
  findingsRefused: Type.Integer(), openFindings: Type.Integer(), failingChecks: Type.Integer(),
  complianceScore: Type.Union([Type.Number(), Type.Null()]),
});

export const NodePage = Type.Object({ items: Type.Array(Node), nextCursor: Type.Union([Type.String(), Type.Null()]) });

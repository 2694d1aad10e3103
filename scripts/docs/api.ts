// docs/api.md, rendered from the collector's OpenAPI document: the one @fastify/swagger builds
// in collector/api/ from the schemas that validate requests (GET /api/v1/openapi.json serves
// the same). Routes, parameters, bodies and answers come from the document; only the general
// rules of the API (authentication, errors, paging) are written here.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildApi } from '../../collector/api/app.js';
import { createMetrics } from '../../collector/metrics.js';
import { createPipeline } from '../../collector/pipeline/pipeline.js';
import { openStore } from '../../collector/store/sqlite.js';
import { createLogger } from '../../proto/support/logger.js';
import { code, slug, table, text } from './markdown.js';

/** A JSON Schema as the OpenAPI document holds it (loosely typed: it is read, not trusted). */
type Schema = Record<string, unknown>;
interface Parameter { name: string; in: string; required?: boolean; description?: string; schema?: Schema }
interface Operation {
  operationId?: string;
  tags?: string[];
  summary?: string;
  description?: string;
  parameters?: Parameter[];
  requestBody?: { content?: Record<string, { schema?: Schema }> };
  responses?: Record<string, { description?: string; content?: Record<string, { schema?: Schema }> }>;
  'x-nodeward-role'?: string;
  'x-nodeward-audited'?: boolean;
}
export interface OpenApiDocument {
  info?: { title?: string; version?: string };
  paths: Record<string, Record<string, Operation>>;
  components?: { schemas?: Record<string, Schema> };
}

/** The collector's OpenAPI document, from its real app over a store in a temp dir (never listening). */
export async function collectorOpenApi(): Promise<OpenApiDocument> {
  const dir = await mkdtemp(join(tmpdir(), 'nodeward-openapi-'));
  const store = openStore({ path: join(dir, 'nodeward.db') });
  const log = createLogger('gen-docs', 'silent');
  const metrics = createMetrics();
  try {
    const pipeline = createPipeline({ store, metrics, log, now: Date.now });
    const app = await buildApi({ store, pipeline, metrics, log, tokens: [], staleAfterMs: 300_000, ready: () => true });
    try {
      await app.ready();
      return JSON.parse(JSON.stringify(app.swagger())) as OpenApiDocument;
    } finally {
      await app.close();
    }
  } finally {
    await store.close();
    await rm(dir, { recursive: true, force: true });
  }
}

const METHODS = ['get', 'post', 'put', 'patch', 'delete'];

function resolve(doc: OpenApiDocument, s: Schema | undefined): Schema {
  if (!s) return {};
  const ref = s.$ref;
  if (typeof ref === 'string' && ref.startsWith('#/components/schemas/')) return resolve(doc, doc.components?.schemas?.[ref.slice('#/components/schemas/'.length)]);
  return s;
}

const words = (xs: readonly string[]): string => (xs.length <= 1 ? xs.join('') : `${xs.slice(0, -1).join(', ')} or ${xs[xs.length - 1]}`);

/** The literal values a schema allows (`enum`, or `anyOf` of single-value enums); null when it is not such a set. */
function literals(s: Schema): string[] | null {
  if (Array.isArray(s.enum)) return s.enum.map(String);
  if (!Array.isArray(s.anyOf)) return null;
  const out: string[] = [];
  for (const m of s.anyOf as Schema[]) {
    const vals = literals(m);
    if (vals === null) return null;
    out.push(...vals);
  }
  return out;
}

/** A schema's type in words: `integer, 1 to 1000`, `one of open, resolved`, `list of strings`, `string (date-time)`. */
export function schemaType(doc: OpenApiDocument, raw: Schema | undefined): string {
  const s = resolve(doc, raw);
  const nullable = s.nullable === true ? ', or null' : '';
  const lits = literals(s);
  if (lits) return `one of ${words(lits.map(code))}${nullable}`;
  if (Array.isArray(s.anyOf)) return (s.anyOf as Schema[]).map((m) => schemaType(doc, m)).join(', or ') + nullable;
  const type = Array.isArray(s.type) ? (s.type as string[]).join(' or ') : String(s.type ?? 'any');
  if (type === 'array') {
    const item = resolve(doc, s.items as Schema | undefined);
    const itemLits = literals(item);
    const inner = item.type === 'object' ? 'objects' : itemLits ? words(itemLits.map(code)) : `${String(item.type ?? 'any')}s`;
    const most = typeof s.maxItems === 'number' ? `, at most ${s.maxItems}` : '';
    return `list of ${inner}${most}${nullable}`;
  }
  if (type === 'object') return (s.additionalProperties && typeof s.additionalProperties === 'object' ? `map of ${schemaType(doc, s.additionalProperties as Schema)}s` : 'object') + nullable;
  const parts: string[] = [];
  if (typeof s.format === 'string') parts.push(s.format);
  if (typeof s.minimum === 'number' && typeof s.maximum === 'number') parts.push(`${s.minimum} to ${s.maximum}`);
  else if (typeof s.minimum === 'number') parts.push(`at least ${s.minimum}`);
  else if (typeof s.maximum === 'number') parts.push(`at most ${s.maximum}`);
  if (typeof s.maxLength === 'number') parts.push(`at most ${s.maxLength} characters`);
  return `${type}${parts.length ? `, ${parts.join(', ')}` : ''}${nullable}`;
}

const describe = (s: Schema): string => (typeof s.description === 'string' ? text(s.description) : '');

/**
 * Every field of an object schema, nested ones as `a.b` and list items as `a[].b`, in the
 * document's order; lists of objects and objects are followed into.
 */
export function fieldRows(doc: OpenApiDocument, raw: Schema | undefined, prefix = '', depth = 0): string[][] {
  const s = resolve(doc, raw);
  const props = s.properties as Record<string, Schema> | undefined;
  if (!props || depth > 6) return [];
  const required = new Set(Array.isArray(s.required) ? (s.required as string[]) : []);
  const rows: string[][] = [];
  for (const [name, fieldRaw] of Object.entries(props)) {
    const f = resolve(doc, fieldRaw);
    const path = `${prefix}${name}`;
    rows.push([code(path), schemaType(doc, f), required.has(name) ? 'yes' : 'no', describe(f)]);
    if (f.type === 'object' && f.properties) rows.push(...fieldRows(doc, f, `${path}.`, depth + 1));
    const item = f.type === 'array' ? resolve(doc, f.items as Schema | undefined) : undefined;
    if (item?.type === 'object' && item.properties) rows.push(...fieldRows(doc, item, `${path}[].`, depth + 1));
  }
  return rows;
}

const jsonSchema = (c: Record<string, { schema?: Schema }> | undefined): Schema | undefined => c?.['application/json']?.schema;

function paramDefault(s: Schema): string {
  return s.default === undefined ? '' : code(JSON.stringify(s.default));
}

function operationSection(doc: OpenApiDocument, method: string, path: string, op: Operation): string {
  const out: string[] = [`### ${code(`${method.toUpperCase()} ${path}`)}`, ''];
  if (op.summary) out.push(text(op.summary.replace(/\.?$/, '.')), '');
  if (op.description) out.push(text(op.description), '');
  const role = op['x-nodeward-role'] ?? 'reader';
  out.push(`Role: ${code(role)}.${op['x-nodeward-audited'] ? ' Every call is written to the audit log.' : ''}`, '');
  if (op.operationId) out.push(`Operation id: ${code(op.operationId)}${op.tags?.length ? `; tag ${op.tags.map(code).join(', ')}` : ''}.`, '');
  const params = op.parameters ?? [];
  if (params.length > 0) {
    out.push(table(['parameter', 'in', 'type', 'default', 'description'], params.map((p) => {
      const s = resolve(doc, p.schema);
      // Fastify marks a parameter with a default as required; a caller may leave it out.
      const optional = s.default !== undefined || p.required !== true;
      return [code(p.name), p.in, schemaType(doc, s) + (optional ? '' : ', required'), paramDefault(s), p.description !== undefined ? text(p.description) : describe(s)];
    })), '');
  }
  const body = jsonSchema(op.requestBody?.content);
  if (body) {
    out.push('Request body (JSON):', '', table(['field', 'type', 'required', 'description'], fieldRows(doc, body)), '');
  }
  const responses = Object.entries(op.responses ?? {}).sort(([a], [b]) => a.localeCompare(b));
  for (const [status, r] of responses) {
    const s = jsonSchema(r.content);
    const rows = fieldRows(doc, s);
    const isError = Number(status) >= 400;
    if (isError) continue;
    if (rows.length === 0) {
      out.push(`Answer ${status}: ${s ? schemaType(doc, s) : 'no body'}.`, '');
      continue;
    }
    out.push(`Answer ${status}:`, '', table(['field', 'type', 'always', 'description'], rows), '');
  }
  const errors = responses.filter(([status]) => Number(status) >= 400);
  if (errors.length > 0) {
    out.push('Errors, each with a body `{"error": "..."}` that says why:', '', table(['status', 'when'], errors.map(([status, r]) => [code(status), text(r.description ?? '')])), '');
  }
  return out.join('\n');
}

export function apiMarkdown(doc: OpenApiDocument): string {
  const ops: { method: string; path: string; op: Operation }[] = [];
  for (const [path, byMethod] of Object.entries(doc.paths)) {
    for (const method of METHODS) {
      const op = byMethod[method];
      if (op) ops.push({ method, path, op });
    }
  }
  const index = table(['call', 'role', 'what it does'], ops.map(({ method, path, op }) => [
    `[${code(`${method.toUpperCase()} ${path}`)}](#${slug(`${method.toUpperCase()} ${path}`)})`, code(op['x-nodeward-role'] ?? 'reader'), text(op.summary ?? ''),
  ]));
  return `# API reference

Generated from the collector's OpenAPI document by \`npm run gen:docs\`; do not edit by hand.
The collector serves the same document at \`GET /api/v1/openapi.json\`.

${API_RULES}
## Calls

${index}

${ops.map(({ method, path, op }) => operationSection(doc, method, path, op)).join('\n')}`;
}

/** The rules every call follows: written here, since no schema holds them. */
const API_RULES = `The API is HTTPS and JSON, on the collector's API port (8443 by default). With
\`npm start\`, from the directory it ran in:

\`\`\`sh
TOKEN=$(cat data/admin.token)
curl --cacert data/pki/ca.crt -H "Authorization: Bearer $TOKEN" \\
  "https://localhost:8443/api/v1/findings?state=open&minSeverity=high"
\`\`\`

\`./bin/nodeward query\` and the other client commands call the same API
([getting-started.md](getting-started.md#ask-the-collector)).

## Authentication and roles

- Every call needs \`Authorization: Bearer <token>\`, except \`/healthz\`, \`/readyz\`,
  \`/metrics\` (Prometheus) and \`GET /api/v1/openapi.json\`: the OpenAPI document describes
  the API and holds no data, so it is served to anyone (its operations are marked
  \`security: []\` when public). Tokens are set in \`api.tokens\`
  ([configuration.md](configuration.md)); the collector keeps only their SHA-256.
- A token is a \`reader\` or an \`admin\`. Readers can call every \`GET\`. Calls that change
  something need \`admin\`, and the collector writes each of them to the audit log
  (\`GET /api/v1/audit\`).
- Without a valid token the answer is 401. A reader calling an admin route gets 403.
- The dashboard's session cookie also authenticates \`GET\` calls. A session can read but not
  change anything.

## Errors and limits

- Bad input is a 400 whose \`error\` names the parameter. Numbers in a query are plain
  decimal digits: \`limit=100\` works; \`1e3\`, \`0x10\`, \`Infinity\` and surrounding spaces are
  a 400. Booleans are \`true\` or \`false\`.
- Each token has a rate limit (\`api.rateLimit\`). Over it, the answer is 429 with
  \`Retry-After\`.
- Failed tokens are limited too, on the API and at the dashboard login. After 10 failures
  from one address, one more every 5 s is allowed; after 200 from all addresses together, 5
  a second. Past that, a failure gets 429 with \`Retry-After\`. A correct token is checked
  first and is never refused because others failed from the same address (behind an ingress
  every client has the ingress's address). Tokens are kept from being guessed by their
  length: the admin token \`npm start\` writes is 256 random bits. The limits only bound what
  failures cost.
- Every answer carries \`Cache-Control: no-store\`.

## Pages and cursors

Lists answer \`{items, nextCursor}\`. Pass \`nextCursor\` back as \`cursor\` to get the next page;
it is \`null\` on the last page. \`limit\` sets the most items a page holds: a page may hold
fewer and still have a next one (a findings search on PostgreSQL reads a bounded number of
findings per page, and the last page across clusters may be empty), so follow \`nextCursor\`
until it is \`null\` rather than stopping at a short page. The findings list comes in several
orders (\`sort\`, \`order\`; most severe first by default): its cursor continues the order it came
from, and a walk neither skips nor repeats a finding that keeps its place in that order
meanwhile. [The order of the findings list](findings-order.md) says which orders a change moves a
finding in, and what each order and filter costs. In the other lists, a walk with the cursor
neither skips nor repeats an item while others are added or updated.

## Findings

A finding's \`id\` is its fingerprint: the first 32 hex characters of
SHA-256(\`node\` "\\n" \`checkId\` "\\n" \`subject\`). The wire contract documents it, in
\`proto/nodeward/v1/agent.proto\`. Its \`state\` is \`open\`, \`resolved\` or \`suppressed\`.

Strings that come from a node (subjects, command lines, values) are untrusted text. Show them
as text, never as HTML.

## Health and metrics

\`/healthz\` and \`/readyz\` answer 200 when the collector is alive and ready. \`/metrics\` is
in the Prometheus text format. It includes: agent streams connected; messages and findings
ingested; dedup hits; rejects by reason; finding transitions; findings by state; nodes
(known, connected, stale); API latency per route; rate-limited calls; rows purged by
retention; the database size. For baselines: reports merged, updates pushed to agents, what
the central bounds dropped (baselines, items, contents), executables and contents a locked baseline refused,
process findings ignored because the central baseline already allows them, baselines of
nodes' reports refused by the quotas (by reason), and baselines and nodes deleted. Also
failed credentials (by surface, and whether they were limited), unauthenticated refusals
audited in aggregate, and per webhook destination: deliveries by outcome, pending, dead
letters, drops and the latency from commit to delivery
([webhooks.md](webhooks.md#metrics)). Connection counters are in
[configuration.md](configuration.md#connection-limits). Every family, the process and runtime
metrics, the agents' own figures per node, and example alert rules and a Grafana dashboard:
[metrics.md](metrics.md).
`;

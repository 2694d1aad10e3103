// The OpenAPI document (GET /api/v1/openapi.json) as a client generator reads it: every
// operation has a stable operationId and a tag, every parameter and every schema property says
// what it is, and every operation lists the errors it can answer (400 when it takes input, 401
// and 429 behind the token gate, 403 on admin calls, 404 when it takes an id) with the error body.
import test from 'ava';
import { buildTestApi } from '../helpers/api-app.js';

type Schema = Record<string, any>;
interface Operation {
  operationId?: string;
  tags?: string[];
  parameters?: Array<{ name: string; in: string; description?: string; schema?: Schema }>;
  requestBody?: { content?: Record<string, { schema?: Schema }> };
  responses?: Record<string, { description?: string; content?: Record<string, { schema?: Schema }> }>;
  security?: unknown[];
  'x-nodeward-role'?: string;
}
interface Document { paths: Record<string, Record<string, Operation>>; components?: { schemas?: Record<string, Schema> } }

async function served(): Promise<Document> {
  const api = await buildTestApi();
  try {
    // No token: the document is public.
    const res = await api.app.inject({ method: 'GET', url: '/api/v1/openapi.json' });
    if (res.statusCode !== 200) throw new Error(`GET /api/v1/openapi.json without a token: ${res.statusCode} ${res.body}`);
    return JSON.parse(res.body) as Document;
  } finally {
    await api.close();
  }
}

function operations(doc: Document): Array<{ call: string; path: string; op: Operation }> {
  return Object.entries(doc.paths).flatMap(([path, methods]) =>
    Object.entries(methods).map(([method, op]) => ({ call: `${method.toUpperCase()} ${path}`, path, op })));
}

/** Paths (a.b, a[].b) of the properties of a schema, and its unions' members, that have no description. */
function undescribed(doc: Document, raw: Schema | undefined, where: string, depth = 0): string[] {
  if (!raw || depth > 10) return [];
  const ref = typeof raw.$ref === 'string' ? doc.components?.schemas?.[raw.$ref.replace('#/components/schemas/', '')] : undefined;
  const s = ref ?? raw;
  const out: string[] = [];
  for (const [name, prop] of Object.entries((s.properties ?? {}) as Record<string, Schema>)) {
    if (typeof prop.description !== 'string' || prop.description.trim() === '') out.push(`${where}.${name}`);
    out.push(...undescribed(doc, prop, `${where}.${name}`, depth + 1));
  }
  if (s.items) out.push(...undescribed(doc, s.items as Schema, `${where}[]`, depth + 1));
  for (const m of (s.anyOf ?? s.oneOf ?? []) as Schema[]) out.push(...undescribed(doc, m, where, depth + 1));
  if (s.additionalProperties && typeof s.additionalProperties === 'object') out.push(...undescribed(doc, s.additionalProperties as Schema, `${where}{}`, depth + 1));
  return out;
}

test('every operation has a unique camelCase operationId and a tag', async (t) => {
  const doc = await served();
  const ops = operations(doc);
  t.true(ops.length >= 20, `${ops.length} operations`);
  const ids = new Set<string>();
  for (const { call, op } of ops) {
    t.regex(op.operationId ?? '', /^[a-z][A-Za-z0-9]+$/, `${call}: operationId`);
    t.false(ids.has(op.operationId ?? ''), `${call}: operationId ${op.operationId} is not shared`);
    ids.add(op.operationId ?? '');
    t.true((op.tags ?? []).length > 0, `${call}: tags`);
  }
  // Stable names: clients generated from the document call these.
  const byCall = new Map(ops.map(({ call, op }) => [call, op.operationId]));
  t.is(byCall.get('GET /api/v1/findings'), 'listFindings');
  t.is(byCall.get('POST /api/v1/findings/{id}/suppress'), 'suppressFinding');
  t.is(byCall.get('DELETE /api/v1/nodes/{name}'), 'deleteNode');
  t.is(byCall.get('POST /api/v1/baselines/allow'), 'allowBaselineExecutables');
  t.is(byCall.get('POST /api/v1/webhooks/deliveries/retry'), 'retryWebhookDeliveries');
});

test('every parameter has a description', async (t) => {
  const doc = await served();
  const missing = operations(doc).flatMap(({ call, op }) => (op.parameters ?? [])
    .filter((p) => !(p.description ?? p.schema?.description)?.trim())
    .map((p) => `${call} ${p.in} ${p.name}`));
  t.deepEqual(missing, []);
});

test('every operation documents its errors, each with the error body', async (t) => {
  const doc = await served();
  for (const { call, path, op } of operations(doc)) {
    const responses = op.responses ?? {};
    const isPublic = op.security?.length === 0;
    const expected: string[] = [];
    if ((op.parameters ?? []).length > 0 || op.requestBody) expected.push('400');
    if (!isPublic) expected.push('401', '429');
    if (op['x-nodeward-role'] === 'admin') expected.push('403');
    if (path.includes('{')) expected.push('404');
    for (const status of expected) {
      const r = responses[status];
      t.truthy(r, `${call}: ${status} is documented`);
      if (!r) continue;
      t.true((r.description ?? '').length > 0 && r.description !== 'Default Response', `${call}: ${status} says what it means`);
      const body = r.content?.['application/json']?.schema;
      t.deepEqual(body?.required, ['error'], `${call}: ${status} has the error body`);
      t.is(body?.properties?.error?.type, 'string', `${call}: ${status} error is a string`);
    }
  }
});

test('the admin calls are the ones documented with 403', async (t) => {
  const doc = await served();
  const with403 = operations(doc).filter(({ op }) => op.responses?.['403']).map(({ call }) => call).sort();
  const admin = operations(doc).filter(({ op }) => op['x-nodeward-role'] === 'admin').map(({ call }) => call).sort();
  t.deepEqual(with403, admin);
  t.true(admin.includes('GET /api/v1/audit'));
});

test('every property of every request and answer schema has a description', async (t) => {
  const doc = await served();
  const missing = operations(doc).flatMap(({ call, op }) => [
    ...undescribed(doc, op.requestBody?.content?.['application/json']?.schema, `${call} body`),
    ...Object.entries(op.responses ?? {}).flatMap(([status, r]) => undescribed(doc, r.content?.['application/json']?.schema, `${call} ${status}`)),
  ]);
  t.deepEqual(missing, []);
});

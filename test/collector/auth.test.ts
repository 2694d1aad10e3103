// Every call the OpenAPI document lists needs a token (401 without one) and the admin calls
// refuse readers (403), so a new endpoint cannot ship unprotected by accident.
import test from 'ava';
import { ADMIN_TOKEN, READER_TOKEN } from '../helpers/collector.js';
import { api, withCollector } from '../helpers/agent-session.js';

const ADMIN_ONLY = new Set([
  'POST /api/v1/findings/{id}/suppress', 'POST /api/v1/findings/{id}/unsuppress', 'GET /api/v1/audit',
  'POST /api/v1/baselines/allow', 'POST /api/v1/baselines/remove', 'POST /api/v1/baselines/lock', 'POST /api/v1/baselines/unlock',
  'POST /api/v1/baselines/delete', 'POST /api/v1/baselines/allow-listen', 'DELETE /api/v1/nodes/{name}', 'POST /api/v1/webhooks/deliveries/retry',
]);

test('every documented call needs a token, and admin calls refuse readers', (t) => withCollector(async (tc) => {
  const doc = (await api(tc, '/api/v1/openapi.json', { token: ADMIN_TOKEN })).body;
  // The document itself is the one public call it lists (it holds no data), and says so.
  const publicCalls = Object.entries(doc.paths as Record<string, Record<string, { security?: unknown[] }>>)
    .flatMap(([path, methods]) => Object.entries(methods).filter(([, op]) => op.security?.length === 0).map(([m]) => `${m.toUpperCase()} ${path}`));
  t.deepEqual(publicCalls, ['GET /api/v1/openapi.json']);
  const calls = Object.entries(doc.paths as Record<string, Record<string, unknown>>)
    .flatMap(([path, methods]) => Object.keys(methods).map((m) => `${m.toUpperCase()} ${path}`))
    .filter((call) => !publicCalls.includes(call));
  t.true(calls.length >= 8, calls.join(', '));
  for (const admin of ADMIN_ONLY) t.true(calls.includes(admin), `${admin} is documented`);
  for (const call of calls) {
    const [method, template] = call.split(' ') as [string, string];
    const path = template.replace('{id}', 'a'.repeat(32)).replace('{name}', 'node-a');
    const body = method === 'POST' ? { reason: 'x' } : undefined;
    const none = await api(tc, path, { method, token: null, ...(body ? { body } : {}) });
    t.is(none.status, 401, `${call} without a token`);
    const reader = await api(tc, path, { method, token: READER_TOKEN, ...(body ? { body } : {}) });
    if (ADMIN_ONLY.has(call)) t.is(reader.status, 403, `${call} as a reader`);
    else t.false([401, 403].includes(reader.status), `${call} as a reader: ${reader.status}`);
    const admin = await api(tc, path, { method, token: ADMIN_TOKEN, ...(body ? { body } : {}) });
    t.false([401, 403, 500].includes(admin.status), `${call} as an admin: ${admin.status}`);
  }
}));

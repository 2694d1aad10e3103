// The facts phase in layers, checked on the import graph (test/helpers/import-graph.ts): the
// checks read the facts model and the pure interpreters (flags, settings, paths, certificate
// descriptions) and nothing that touches the host; the interpreters import nothing but the
// model and each other. A check that needs a host reader's helper is a sign the helper belongs
// in an interpreter.
import test from 'ava';
import { sources } from '../helpers/import-graph.js';

const facts = (names: readonly string[]): Set<string> => new Set(names.map((n) => `agent/facts/${n}.ts`));
const MODEL = facts(['model', 'host-facts', 'node-facts', 'control-plane-types', 'certificate-types', 'etcd-probe-types', 'exposure-types']);
const INTERPRETERS = facts(['cli-flags', 'component-settings', 'components', 'component-paths', 'kubelet-paths', 'x509-info', 'go-duration', 'setting-values']);
const INDEX = 'agent/facts/index.ts';

const all = sources('agent');

test('checks import only the facts model and the interpreters (the public surface for types only)', async (t) => {
  const checks = (await all).filter((f) => f.path.startsWith('agent/checks/'));
  t.true(checks.length > 30, `${checks.length} check files`);
  const edges = checks.flatMap((f) => f.imports.filter((i) => i.startsWith('agent/facts/')).map((i) => ({ from: f, to: i })));
  t.true(edges.some((e) => MODEL.has(e.to) || e.to === INDEX) && edges.some((e) => INTERPRETERS.has(e.to)), 'the edges are read');
  t.deepEqual(edges.filter((e) => !MODEL.has(e.to) && !INTERPRETERS.has(e.to) && e.to !== INDEX).map((e) => `${e.from.path} -> ${e.to}`), []);
  // The public surface also exports collectFacts: a check may take its types, never a value.
  const VALUE_IMPORT = /^(?:import|export)\b(?!\s+type\b)[^;]*?from\s+'[./]*facts\/index\.js';/gm;
  t.is(`import { collectFacts } from '../facts/index.js';\nimport type { HostFacts } from '../facts/index.js';`.match(VALUE_IMPORT)?.length, 1, 'a value import is recognised');
  const valueImports = checks.flatMap((f) => [...f.text.matchAll(VALUE_IMPORT)].map((m) => `${f.path}: ${m[0]}`));
  t.deepEqual(valueImports, []);
});

test('the interpreters import nothing but the model and each other', async (t) => {
  const files = (await all).filter((f) => INTERPRETERS.has(f.path));
  t.is(files.length, INTERPRETERS.size);
  const out = files.flatMap((f) => f.imports.filter((i) => i.startsWith('agent/') && !MODEL.has(i) && !INTERPRETERS.has(i)).map((i) => `${f.path} -> ${i}`));
  t.deepEqual(out, []);
});

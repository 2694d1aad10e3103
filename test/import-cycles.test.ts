// No import cycle anywhere in agent/, collector/ or proto/: every import, export-from and
// dynamic import counts, type-only ones included (a cycle through types still makes a reader
// go round in circles, and let the facts model import back from the code that fills it). The
// graph is read as test/collector/import-graph.test.ts reads it (test/helpers/import-graph.ts).
import test from 'ava';
import { importCycles, reach, sources } from './helpers/import-graph.js';

test('the cycle finder finds a cycle through a type-only import, a self-import, and none in a chain', (t) => {
  const files = [
    { path: 'a.ts', imports: ['b.ts'] }, { path: 'b.ts', imports: ['c.ts', 'node:fs'] }, { path: 'c.ts', imports: ['a.ts'] },
    { path: 'd.ts', imports: ['d.ts'] }, { path: 'e.ts', imports: ['a.ts'] }, { path: 'f.ts', imports: ['e.ts'] },
  ];
  t.deepEqual(importCycles(files), [['a.ts', 'b.ts', 'c.ts'], ['d.ts']]);
  t.deepEqual(importCycles([{ path: 'x.ts', imports: ['y.ts'] }, { path: 'y.ts', imports: [] }]), []);
});

test('the facts model imports nothing back: agent/facts/model.ts reaches no collector', async (t) => {
  const files = (await Promise.all(['agent', 'proto'].map((d) => sources(d)))).flat();
  const byPath = new Map(files.map((f) => [f.path, f]));
  const collects = (path: string): boolean => /\bexport\s+(?:async\s+)?function\s+collect[A-Z]/.test(byPath.get(path)?.text ?? '');
  t.true(collects('agent/facts/certificates.ts'), 'a collector is recognised');
  const reached = reach(byPath, 'agent/facts/model.ts');
  // The parser sees the type-only edges the cycle check counts.
  for (const p of ['agent/facts/certificate-types.ts', 'agent/facts/control-plane-types.ts', 'agent/facts/node-facts.ts', 'agent/facts/host-facts.ts']) t.true(reached.has(p), p);
  t.deepEqual([...reached].filter(collects), []);
});

test('no import cycle in agent/, collector/ or proto/ (type-only imports count)', async (t) => {
  const files = (await Promise.all(['agent', 'collector', 'proto'].map((d) => sources(d)))).flat();
  t.true(files.length > 300, `${files.length} files`);
  t.deepEqual(importCycles(files), []);
});

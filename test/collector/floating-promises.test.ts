// Every store read and write returns a promise (collector/store/store.ts). A promise nobody
// waits for runs out of its caller's order and loses its error; one put where a value belongs
// (an answer's field, an assertion) is a bug that type-checks. scripts/floating-promises.ts
// finds both on the type-checked program; here it must find none, and must find the ones
// planted in a fixture, so the check cannot pass by finding nothing.
import test from 'ava';
import { floatingPromises } from '../../scripts/floating-promises.js';

test('no promise is left floating, or put where a value belongs, in the collector, the agent, the benches or the tests', (t) => {
  t.timeout(120_000);
  const found = floatingPromises(['collector', 'agent', 'proto', 'bin', 'bench', 'test', 'scripts']);
  const planted = found.filter((f) => f.file === 'test/fixtures-ts/floating.ts');
  t.deepEqual(planted.map((f) => f.line), [8, 10, 12, 14], 'the planted ones are found: a dropped call, a field, an operand, an assertion');
  t.deepEqual(found.filter((f) => f.file !== 'test/fixtures-ts/floating.ts').map((f) => `${f.file}:${f.line}: ${f.text}`), []);
});

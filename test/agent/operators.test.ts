import test from 'ava';
import { describeTest, runTest } from '../../agent/checks/operators.js';
import type { Test } from '../../agent/checks/operators.js';

const table: Array<[Test, string | null, boolean]> = [
  [{ op: 'eq', value: 'false' }, 'false', true],
  [{ op: 'eq', value: 'false' }, 'False', false],
  [{ op: 'eq', value: 'false' }, null, false],
  [{ op: 'noteq', value: '0' }, '5m', true],
  [{ op: 'noteq', value: '0' }, '0', false],
  [{ op: 'has', value: 'Node' }, 'Node,RBAC', true],
  [{ op: 'has', value: 'Node' }, 'NodeRestriction,RBAC', false],
  [{ op: 'nothave', value: 'AlwaysAllow' }, 'Webhook', true],
  [{ op: 'nothave', value: 'AlwaysAllow' }, 'Webhook, AlwaysAllow', false],
  [{ op: 'nothave', value: 'AlwaysAllow' }, null, false],
  [{ op: 'gte', value: 30 }, '30', true],
  [{ op: 'gte', value: 30 }, '29', false],
  [{ op: 'gte', value: 30 }, 'thirty', false],
  [{ op: 'lte', value: 10 }, '-1', true],
  [{ op: 'bitmask-mode-at-most', value: '600' }, '0600', true],
  [{ op: 'bitmask-mode-at-most', value: '600' }, '0400', true],
  [{ op: 'bitmask-mode-at-most', value: '600' }, '0000', true],
  [{ op: 'bitmask-mode-at-most', value: '600' }, '0640', false],
  [{ op: 'bitmask-mode-at-most', value: '600' }, '0700', false],
  [{ op: 'bitmask-mode-at-most', value: '600' }, '4600', false],
  [{ op: 'bitmask-mode-at-most', value: '644' }, '0444', true],
  [{ op: 'bitmask-mode-at-most', value: '600' }, 'rw-------', false],
  [{ op: 'valid-elements', value: ['A', 'B'] }, 'A,B', true],
  [{ op: 'valid-elements', value: ['A', 'B'] }, 'A,C', false],
  [{ op: 'valid-elements', value: ['A', 'B'] }, '', false],
  [{ op: 'present' }, '', true],
  [{ op: 'present' }, null, false],
  [{ op: 'absent' }, null, true],
  [{ op: 'absent' }, 'x', false],
];

for (const [t0, actual, ok] of table) {
  test(`${t0.op} ${'value' in t0 ? JSON.stringify(t0.value) : ''} on ${JSON.stringify(actual)} -> ${ok}`, (t) => {
    t.is(runTest(t0, actual).ok, ok);
  });
}

test('failures say why when the comparison alone does not', (t) => {
  t.is(runTest({ op: 'eq', value: 'false' }, null).note, 'not set');
  t.is(runTest({ op: 'bitmask-mode-at-most', value: '600' }, '0644').note, 'bits 0044 are set beyond the limit');
  t.regex(runTest({ op: 'gte', value: 1 }, 'x').note, /not an integer/);
});

test('expectations read as words', (t) => {
  t.is(describeTest({ op: 'bitmask-mode-at-most', value: '600' }), '0600 or stricter');
  t.is(describeTest({ op: 'nothave', value: 'AlwaysAllow' }), 'does not include AlwaysAllow');
  t.is(describeTest({ op: 'eq', value: '0' }), '0');
});

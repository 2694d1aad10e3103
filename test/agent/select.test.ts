import test from 'ava';
import { CATALOG, selectChecks, UnknownCheckError } from '../../agent/checks/index.js';
import type { CheckSpec } from '../../agent/checks/index.js';

const ids = (specs: readonly CheckSpec[]): string[] => specs.map((s) => s.id);

test('by id, with or without the cis- prefix', (t) => {
  t.deepEqual(ids(selectChecks(CATALOG, ['cis-4.2.1'])), ['cis-4.2.1']);
  t.deepEqual(ids(selectChecks(CATALOG, ['4.2.1'])), ['cis-4.2.1']);
});

test('by section prefix, in catalogue order, without duplicates', (t) => {
  t.deepEqual(ids(selectChecks(CATALOG, ['4.2'])), ['cis-4.2.1', 'cis-4.2.2', 'cis-4.2.4']);
  t.deepEqual(ids(selectChecks(CATALOG, ['4.1'])), ['cis-4.1.5', 'cis-4.1.9']);
  t.deepEqual(ids(selectChecks(CATALOG, ['4'])), ['cis-4.1.5', 'cis-4.1.9', 'cis-4.2.1', 'cis-4.2.2', 'cis-4.2.4']);
  t.deepEqual(ids(selectChecks(CATALOG, ['4.2.4,cis-4.1.5', '4.1.5'])), ['cis-4.1.5', 'cis-4.2.4']);
});

test('no selector selects everything', (t) => {
  t.is(selectChecks(CATALOG, []), CATALOG);
  t.is(selectChecks(CATALOG, [' , ']), CATALOG);
});

test('a prefix matches whole components only: 4.2.1 is not 4.2.10', (t) => {
  const base = CATALOG[2] as CheckSpec;
  const catalog: CheckSpec[] = [base, { ...base, id: 'cis-4.2.10', cis: '4.2.10' } as CheckSpec];
  t.deepEqual(ids(selectChecks(catalog, ['4.2.1'])), ['cis-4.2.1']);
  t.deepEqual(ids(selectChecks(catalog, ['4.2'])), ['cis-4.2.1', 'cis-4.2.10']);
});

test('unknown selectors are one clear error that lists them all', (t) => {
  const err = t.throws(() => selectChecks(CATALOG, ['4.2.1', 'cis-9.9', '4.3', '4.2.']), { instanceOf: UnknownCheckError });
  t.deepEqual(err?.unknown, ['cis-9.9', '4.3', '4.2.']);
  t.regex(err?.message ?? '', /unknown check selectors: cis-9\.9, 4\.3, 4\.2\. \(known checks: cis-4\.1\.5/);
});

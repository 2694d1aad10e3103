import test from 'ava';
import { CATALOG, selectChecks, UnknownCheckError } from '../../agent/checks/index.js';
import type { CheckSpec } from '../../agent/checks/index.js';

const ids = (specs: readonly CheckSpec[]): string[] => specs.map((s) => s.id);

test('by id, with or without the cis- prefix', (t) => {
  t.deepEqual(ids(selectChecks(CATALOG, ['cis-4.2.1'])), ['cis-4.2.1']);
  t.deepEqual(ids(selectChecks(CATALOG, ['4.2.1'])), ['cis-4.2.1']);
});

const numbered = (section: string, n: number): string[] => Array.from({ length: n }, (_, i) => `cis-${section}.${i + 1}`);

test('by section prefix, in catalogue order, without duplicates', (t) => {
  // CIS 1.12 has 10 checks in 4.1, 14 in 4.2 and 1 in 4.3.
  t.deepEqual(ids(selectChecks(CATALOG, ['4.2'])), numbered('4.2', 14));
  t.deepEqual(ids(selectChecks(CATALOG, ['4.1'])), numbered('4.1', 10));
  t.deepEqual(ids(selectChecks(CATALOG, ['4.3'])), ['cis-4.3.1']);
  t.deepEqual(ids(selectChecks(CATALOG, ['4'])), [...numbered('4.1', 10), ...numbered('4.2', 14), 'cis-4.3.1']);
  t.deepEqual(ids(selectChecks(CATALOG, ['4.2.4,cis-4.1.5', '4.1.5'])), ['cis-4.1.5', 'cis-4.2.4']);
});

test('checks without a CIS number are selected by id only', (t) => {
  t.deepEqual(ids(selectChecks(CATALOG, ['cert-expiry,k8s-version-supported'])), ['k8s-version-supported', 'cert-expiry']);
  t.false(ids(selectChecks(CATALOG, ['4'])).includes('k8s-version-supported'));
});

test('a check that decides a CIS control beside others is selected by that control and by its reference', (t) => {
  // cert-key-file judges every private key file; on the PKI's *.key files that is CIS 1.1.21.
  t.deepEqual(ids(selectChecks(CATALOG, ['1.1.21'])), ['cert-key-file']);
  t.deepEqual(ids(selectChecks(CATALOG, ['cis-1.1.21'])), ['cert-key-file']);
  t.deepEqual(ids(selectChecks(CATALOG, ['cis-1.12:1.1.21'])), ['cert-key-file']);
  t.true(ids(selectChecks(CATALOG, ['1.1'])).includes('cert-key-file'));
  t.deepEqual(ids(selectChecks(CATALOG, ['cis-1.12:4.2'])), numbered('4.2', 14));
  t.throws(() => selectChecks(CATALOG, ['cis-eks-1.5:3.1.1']), { instanceOf: UnknownCheckError });
});

test('a retired check id selects the checks it was merged into', (t) => {
  t.deepEqual(ids(selectChecks(CATALOG, ['etcd-auto-tls'])), ['cis-2.3', 'cis-2.6']);
  t.deepEqual(ids(selectChecks(CATALOG, ['kubelet-api-anonymous,kubelet-readonly-port-closed'])), ['cis-4.2.1', 'cis-4.2.4']);
  t.deepEqual(ids(selectChecks(CATALOG, ['etcd-ca-shared'])), ['cis-2.7']);
});

test('no selector selects everything', (t) => {
  t.is(selectChecks(CATALOG, []), CATALOG);
  t.is(selectChecks(CATALOG, [' , ']), CATALOG);
});

test('a prefix matches whole components only: 4.2.1 is not 4.2.10', (t) => {
  const base = CATALOG.find((c) => c.id === 'cis-4.2.1') as CheckSpec;
  const catalog: CheckSpec[] = [base, { ...base, id: 'cis-4.2.10', references: ['cis-1.12:4.2.10'] } as CheckSpec];
  t.deepEqual(ids(selectChecks(catalog, ['4.2.1'])), ['cis-4.2.1']);
  t.deepEqual(ids(selectChecks(catalog, ['4.2'])), ['cis-4.2.1', 'cis-4.2.10']);
});

test('unknown selectors are one clear error that lists them all', (t) => {
  const err = t.throws(() => selectChecks(CATALOG, ['4.2.1', 'cis-9.9', '4.9', '4.2.']), { instanceOf: UnknownCheckError });
  t.deepEqual(err?.unknown, ['cis-9.9', '4.9', '4.2.']);
  t.regex(err?.message ?? '', /unknown check selectors: cis-9\.9, 4\.9, 4\.2\. \(known checks: .*cis-4\.1\.5/);
});

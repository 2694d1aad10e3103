// The closed set of operators a data check may use. `actual` is the effective value as text,
// or null when the setting is not set anywhere and has no default.

export type Test =
  | { readonly op: 'eq' | 'noteq'; readonly value: string }
  /** Membership in a comma-separated list (`Node,RBAC` has `RBAC`), not a substring test. */
  | { readonly op: 'has' | 'nothave'; readonly value: string }
  | { readonly op: 'gte' | 'lte'; readonly value: number }
  /** Octal permission limit, e.g. '600': no bit may be set beyond it (0400 passes, 0640 fails). */
  | { readonly op: 'bitmask-mode-at-most'; readonly value: string }
  /** Every comma-separated element must be one of these. */
  | { readonly op: 'valid-elements'; readonly value: readonly string[] }
  | { readonly op: 'present' | 'absent' };

export interface TestOutcome {
  readonly ok: boolean;
  /** Why, when the bare comparison does not say it (not set, not a number...). */
  readonly note: string;
}

const elements = (v: string): string[] => v.split(',').map((e) => e.trim()).filter((e) => e !== '');
const octal = (v: string): number | null => (/^[0-7]{1,5}$/.test(v) ? parseInt(v, 8) : null);
const integer = (v: string): number | null => (/^-?[0-9]+$/.test(v) ? Number(v) : null);

const outcome = (ok: boolean, note = ''): TestOutcome => ({ ok, note });

export function runTest(test: Test, actual: string | null): TestOutcome {
  if (test.op === 'present') return outcome(actual !== null, actual === null ? 'not set' : '');
  if (test.op === 'absent') return outcome(actual === null);
  if (actual === null) return outcome(false, 'not set');
  switch (test.op) {
    case 'eq':
      return outcome(actual === test.value);
    case 'noteq':
      return outcome(actual !== test.value);
    case 'has':
      return outcome(elements(actual).includes(test.value));
    case 'nothave':
      return outcome(!elements(actual).includes(test.value));
    case 'gte':
    case 'lte': {
      const n = integer(actual);
      if (n === null) return outcome(false, `${JSON.stringify(actual)} is not an integer`);
      return outcome(test.op === 'gte' ? n >= test.value : n <= test.value);
    }
    case 'bitmask-mode-at-most': {
      const mode = octal(actual);
      const limit = octal(test.value);
      if (mode === null || limit === null) return outcome(false, `${JSON.stringify(actual)} is not an octal mode`);
      const extra = mode & ~limit;
      return outcome(extra === 0, extra === 0 ? '' : `bits ${extra.toString(8).padStart(4, '0')} are set beyond the limit`);
    }
    case 'valid-elements': {
      const items = elements(actual);
      if (items.length === 0) return outcome(false, 'the list is empty');
      const bad = items.filter((i) => !test.value.includes(i));
      return outcome(bad.length === 0, bad.length === 0 ? '' : `not allowed: ${bad.join(',')}`);
    }
  }
}

/** The expectation in words, for the `expected` field of a result. */
export function describeTest(test: Test): string {
  switch (test.op) {
    case 'eq':
      return test.value;
    case 'noteq':
      return `not ${test.value}`;
    case 'has':
      return `includes ${test.value}`;
    case 'nothave':
      return `does not include ${test.value}`;
    case 'gte':
      return `>= ${test.value}`;
    case 'lte':
      return `<= ${test.value}`;
    case 'bitmask-mode-at-most':
      return `${test.value.padStart(4, '0')} or stricter`;
    case 'valid-elements':
      return `only ${test.value.join(',')}`;
    case 'present':
      return 'set';
    case 'absent':
      return 'not set';
  }
}

// Choosing checks by id (`cis-4.2.1`, `4.2.1`, `etcd-cert-expiry`) or CIS section (`4.2`, `4`).
import { CIS_BENCHMARK, controlsIn, parseRef } from '../../proto/benchmark-refs.js';
import { survivorsOf } from '../../proto/retired-checks.js';
import type { CheckSpec } from './spec.js';

/** A selector matched no check: a usage error (the CLI exits 2 with this message). */
export class UnknownCheckError extends Error {
  readonly code = 'UNKNOWN_CHECK';
  constructor(
    readonly unknown: readonly string[],
    known: readonly string[],
  ) {
    super(`unknown check selector${unknown.length > 1 ? 's' : ''}: ${unknown.join(', ')} (known checks: ${known.join(', ')})`);
    this.name = 'UnknownCheckError';
  }
}

const within = (control: string, wanted: string): boolean => control === wanted || control.startsWith(`${wanted}.`);

function matches(spec: CheckSpec, selector: string): boolean {
  if (spec.id === selector) return true;
  // A check merged into another (proto/retired-checks.ts) selects the one it became.
  if (survivorsOf(selector).includes(spec.id)) return true;
  const ref = parseRef(selector);
  if (ref !== undefined) return spec.references.some((r) => { const p = parseRef(r); return p?.benchmark === ref.benchmark && within(p.control, ref.control); });
  const cis = selector.startsWith('cis-') ? selector.slice(4) : selector;
  return controlsIn(spec.references, CIS_BENCHMARK).some((c) => within(c, cis));
}

/**
 * The checks any selector matches, in catalogue order: a check id (a retired one selects the
 * check it was merged into), a CIS control or section of the catalog's benchmark (`4.2.1`,
 * `cis-4.2`, `4`), or a benchmark reference (`cis-1.12:1.1.21`). Selectors may also come as one
 * comma-separated string. No selector at all selects the whole catalogue.
 * @throws UnknownCheckError naming every selector that matches nothing.
 */
export function selectChecks(catalog: readonly CheckSpec[], selectors: readonly string[]): readonly CheckSpec[] {
  const wanted = selectors.flatMap((s) => s.split(',')).map((s) => s.trim()).filter((s) => s !== '');
  if (wanted.length === 0) return catalog;
  const unknown = wanted.filter((w) => !catalog.some((spec) => matches(spec, w)));
  if (unknown.length > 0) throw new UnknownCheckError(unknown, catalog.map((c) => c.id));
  return catalog.filter((spec) => wanted.some((w) => matches(spec, w)));
}

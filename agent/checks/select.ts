// Choosing checks by id (`cis-4.2.1`, `4.2.1`, `etcd-cert-expiry`) or CIS section (`4.2`, `4`).
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

function matches(spec: CheckSpec, selector: string): boolean {
  if (spec.id === selector) return true;
  const cis = selector.startsWith('cis-') ? selector.slice(4) : selector;
  return spec.cis !== '' && (spec.cis === cis || spec.cis.startsWith(`${cis}.`));
}

/**
 * The checks any selector matches, in catalogue order. Selectors may also come as one
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

// Host documents a fact collection refused by their limits (document-limits.ts), counted so the
// collector sees them per node. A refused document is its file's ELIMIT FactError, with the
// limit it passed, wherever the reader put it in the snapshot (its check is then an error
// result); this finds them there, so no reader has to be handed a counter.
import type { DocumentRefusalReason } from './document-limits.js';
import type { HostFacts } from './model.js';

export interface DocumentRefusal {
  readonly path: string;
  readonly reason: DocumentRefusalReason;
}

/**
 * The documents a snapshot records as refused, once per path, in the order met. Pure. A
 * parsed document's content (a ConfigDoc's `data`, the only parsed JSON the snapshot holds) is
 * not searched: what a host file says cannot pass for a refusal.
 */
export function documentRefusals(facts: HostFacts): DocumentRefusal[] {
  const found = new Map<string, DocumentRefusal>();
  const visit = (v: unknown): void => {
    if (typeof v !== 'object' || v === null) return;
    if (Array.isArray(v)) {
      for (const x of v) visit(x);
      return;
    }
    const o = v as Record<string, unknown>;
    if (o['code'] === 'ELIMIT' && typeof o['path'] === 'string' && typeof o['limit'] === 'string' && !found.has(o['path'])) {
      found.set(o['path'], { path: o['path'], reason: o['limit'] as DocumentRefusalReason });
    }
    for (const [k, x] of Object.entries(o)) if (k !== 'data') visit(x);
  };
  visit(facts);
  return [...found.values()];
}

export interface DocumentRefusalStats {
  /** Documents refused, summed over the collections counted (one refused at every scan counts at every scan). */
  readonly refused: number;
  /** The last one counted: its host path and the limit it passed; empty before any. */
  readonly lastPath: string;
  readonly lastReason: DocumentRefusalReason | '';
}

export type DocumentRefusalCounter = ReturnType<typeof createDocumentRefusalCounter>;

/** Since the agent started; holds one path, so it stays bounded however many are refused. */
export function createDocumentRefusalCounter() {
  let refused = 0;
  let last: DocumentRefusal | undefined;
  return {
    /** Counts one collection's refusals. */
    add(refusals: readonly DocumentRefusal[]): void {
      refused += refusals.length;
      last = refusals.at(-1) ?? last;
    },
    stats(): DocumentRefusalStats {
      return { refused, lastPath: last?.path ?? '', lastReason: last?.reason ?? '' };
    },
  };
}

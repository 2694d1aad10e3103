// What the posture readers (rbac-objects.ts, cluster-objects.ts) share: the test that a value
// is a JSON object, the bound on an object's name, and how a reader refuses an object whole.
// A reader throws `Refused` from deep inside an object and `guardRead` turns it into the
// informer's `invalid` answer with its code; anything else thrown is still a refusal, never a
// crash of the watch.
export const MAX_NAME = 253;

export type Obj = Record<string, unknown>;
export const obj = (v: unknown): Obj | undefined => (typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Obj) : undefined);
export const nameOk = (v: unknown): v is string => typeof v === 'string' && v.length > 0 && v.length <= MAX_NAME;

export class Refused<C extends string> {
  constructor(readonly code: C, readonly reason: string) {}
}

/** The refusal of a reader whose codes are `C`. */
export const refuser = <C extends string>() => (code: C, reason: string): never => {
  throw new Refused(code, reason);
};

/** Runs a reader: its value, or the refusal with its code (`not-an-object` for anything unforeseen), the reason prefixed by `what`. */
export function guardRead<T, C extends string>(what: string, read: () => T): { readonly value: T } | { readonly code: C | 'not-an-object'; readonly reason: string } {
  try {
    return { value: read() };
  } catch (err) {
    if (err instanceof Refused) return { code: err.code as C, reason: `${what}: ${err.reason}` };
    return { code: 'not-an-object', reason: `${what}: unreadable (${err instanceof Error ? err.message.slice(0, 200) : 'unknown error'})` };
  }
}

// The SQLite backend's side of the boundary's promises. better-sqlite3 runs a statement
// synchronously, so the SQLite sub-stores are written as plain synchronous code against
// `Synchronous<T>` (the boundary interface with its promises taken off), and `promised`
// puts them behind the boundary: each call runs at once (or when `lane` lets it) and its
// result or error becomes a settled promise.
export type Synchronous<T> = {
  [K in keyof T]: T[K] extends (...args: infer A) => Promise<infer R>
    ? (...args: A) => R
    : T[K] extends (...args: never[]) => unknown
      ? T[K]
      : T[K] extends object
        ? Synchronous<T[K]>
        : T[K];
};

/** Runs a synchronous call when the store lets it (at once, or after the units ahead of it). */
export type Lane = <R>(call: () => R) => Promise<R>;

/** Runs the call now: its value, or its error, as a settled promise. */
export function settle<R>(call: () => R): Promise<R> {
  try {
    return Promise.resolve(call());
  } catch (err) {
    return Promise.reject(err);
  }
}

/**
 * The boundary object over a synchronous implementation: every method through `lane`, except
 * `keep`'s, which do not reach the database and stay synchronous (a cursor decoder, the
 * configured destinations, a listener's subscription). Nested objects are wrapped the same.
 */
export function promised<T extends object>(impl: Synchronous<T>, lane: Lane, keep: readonly string[] = []): T {
  const out: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(impl as Record<string, unknown>)) {
    if (typeof value === 'function') {
      const method = value as (...args: unknown[]) => unknown;
      out[name] = keep.includes(name) ? method.bind(impl) : (...args: unknown[]) => lane(() => method.apply(impl, args));
    } else if (value !== null && typeof value === 'object') {
      out[name] = promised(value as Synchronous<object>, lane);
    } else {
      out[name] = value;
    }
  }
  return out as T;
}

// A token bucket per key (an API token's name, or a client address for logins). A bucket
// holds `burst` requests and refills at `perSecond`; a request that finds it empty is told
// how long until one is available. The number of buckets is bounded.

export interface RateLimitConfig {
  readonly perSecond: number;
  readonly burst: number;
  /** Buckets kept at most; the least recently used go first (a full bucket loses nothing). */
  readonly maxKeys?: number;
}

export type Verdict = { readonly allowed: true } | { readonly allowed: false; readonly retryAfterSeconds: number };

export function createRateLimiter(config: RateLimitConfig, now: () => number = Date.now) {
  const maxKeys = config.maxKeys ?? 10_000;
  const buckets = new Map<string, { tokens: number; at: number }>();
  const refilled = (key: string): { tokens: number; at: number } => {
    const t = now();
    let b = buckets.get(key);
    if (b) {
      buckets.delete(key);
      b.tokens = Math.min(config.burst, b.tokens + ((t - b.at) / 1000) * config.perSecond);
      b.at = t;
    } else {
      b = { tokens: config.burst, at: t };
      if (buckets.size >= maxKeys) {
        const oldest = buckets.keys().next();
        if (!oldest.done) buckets.delete(oldest.value);
      }
    }
    buckets.set(key, b);
    return b;
  };
  const verdict = (b: { tokens: number }): Verdict => (b.tokens >= 1
    ? { allowed: true }
    : { allowed: false, retryAfterSeconds: Math.max(1, Math.ceil((1 - b.tokens) / config.perSecond)) });
  return {
    /** Spends one request if the bucket has one. */
    take(key: string): Verdict {
      const b = refilled(key);
      const v = verdict(b);
      if (v.allowed) b.tokens -= 1;
      return v;
    },
    /** Whether a request would be allowed, spending nothing (to charge only failures). */
    check(key: string): Verdict {
      return verdict(refilled(key));
    },
  };
}

export type RateLimiter = ReturnType<typeof createRateLimiter>;

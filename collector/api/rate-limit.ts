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
  return {
    take(key: string): Verdict {
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
      if (b.tokens >= 1) {
        b.tokens -= 1;
        return { allowed: true };
      }
      return { allowed: false, retryAfterSeconds: Math.max(1, Math.ceil((1 - b.tokens) / config.perSecond)) };
    },
  };
}

export type RateLimiter = ReturnType<typeof createRateLimiter>;

// Token buckets by key, bounded in number (pure state; the clock is passed in).
// A bucket starts full with `burst` tokens and gains one every `refillMs`. When more than
// `maxKeys` buckets exist, the one used least recently is forgotten (a forgotten key starts
// full again, which errs on the side of reporting); evictions are counted.

export interface TokenBucketOptions {
  readonly burst: number;
  readonly refillMs: number;
  readonly maxKeys: number;
}

interface Bucket {
  tokens: number;
  updatedMs: number;
}

export function createTokenBuckets(opts: TokenBucketOptions) {
  // A Map iterates in insertion order: re-inserting on use keeps the least recent first.
  const buckets = new Map<string, Bucket>();
  let evicted = 0;

  function refill(b: Bucket, now: number): void {
    if (now <= b.updatedMs) return;
    const gained = (now - b.updatedMs) / opts.refillMs;
    b.tokens = Math.min(opts.burst, b.tokens + gained);
    b.updatedMs = now;
  }

  function bucket(key: string, now: number): Bucket {
    let b = buckets.get(key);
    if (b) {
      buckets.delete(key);
    } else {
      b = { tokens: opts.burst, updatedMs: now };
      while (buckets.size >= opts.maxKeys) {
        const oldest = buckets.keys().next().value as string;
        buckets.delete(oldest);
        evicted++;
      }
    }
    buckets.set(key, b);
    refill(b, now);
    return b;
  }

  return {
    /** Takes one token if there is one. */
    take(key: string, now: number): boolean {
      const b = bucket(key, now);
      if (b.tokens < 1) return false;
      b.tokens -= 1;
      return true;
    },
    /** Whether a token is available, without taking it. */
    available(key: string, now: number): boolean {
      const b = buckets.get(key);
      if (!b) return true;
      refill(b, now);
      return b.tokens >= 1;
    },
    forget(key: string): void {
      buckets.delete(key);
    },
    get size(): number {
      return buckets.size;
    },
    get evicted(): number {
      return evicted;
    },
  };
}

export type TokenBuckets = ReturnType<typeof createTokenBuckets>;

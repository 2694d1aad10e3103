// Failed credentials (a bearer token the API does not know, a token the dashboard login
// refused) are limited; correct ones never are. The credential is checked first, and only a
// failure is charged: to its source's bucket, and to one bucket that all sources share. A
// failure that finds either empty is answered 429 with Retry-After instead of 401.
//
// Why successes are never charged: behind an ingress or a NAT every client has the same
// address, so a limiter that refuses an address (or everyone) refuses the operators with the
// right token too, and anyone can lock them out by failing on purpose. What makes a token
// hard to guess is its length (the admin token `npm start` writes is 256 random bits); what this bounds
// is what failures cost the collector (and the audit log aggregates them, store/audit.ts).
import { createRateLimiter, type RateLimitConfig, type Verdict } from './rate-limit.js';

export interface FailureLimits {
  /** Failures one source address may make. */
  readonly perSource: RateLimitConfig;
  /** Failures all sources together may make. */
  readonly global: RateLimitConfig;
}

/** Ten failures from one address, then one every 5 s; 200 from everyone, then 5 a second. */
export const FAILURE_LIMITS: FailureLimits = {
  perSource: { perSecond: 0.2, burst: 10, maxKeys: 10_000 },
  global: { perSecond: 5, burst: 200 },
};

export type FailureVerdict = Verdict & { readonly scope?: 'source' | 'global' };

export function createFailureLimiter(now: () => number, limits: FailureLimits = FAILURE_LIMITS) {
  const perSource = createRateLimiter(limits.perSource, now);
  const global = createRateLimiter(limits.global, now);
  return {
    /**
     * Charges one failed credential from `source`. Not allowed: it was over a limit (answer
     * 429). A source over its own limit does not drain the shared bucket any further.
     */
    fail(source: string): FailureVerdict {
      const own = perSource.take(source);
      if (!own.allowed) return { ...own, scope: 'source' };
      const all = global.take('*');
      return all.allowed ? all : { ...all, scope: 'global' };
    },
  };
}

export type FailureLimiter = ReturnType<typeof createFailureLimiter>;

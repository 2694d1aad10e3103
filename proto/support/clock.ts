// Time for both apps: what `now` is, and waking up later. A component that reads the time or
// waits for it takes a Clock, so the rules that depend on time (the collector's expiry,
// staleness, retention, rate limits and webhook backoff; the agent's certificate renewal)
// follow whatever clock it was given: the system's in production, one a test moves by hand
// (test/helpers/clock.ts). Network deadlines (TLS handshakes, request timeouts) stay on real
// time: they guard real sockets. So does the validity of a certificate: peers judge it by
// the real time.

export interface Clock {
  /** Milliseconds since the epoch. */
  now(): number;
  /**
   * Calls `fn` once, `ms` from now on this clock; returns what cancels it. A pending call
   * does not keep the process alive (the listeners do).
   */
  after(ms: number, fn: () => void): () => void;
}

/** setTimeout's longest delay; a later wake-up is a wake-up at this bound (callers re-arm). */
export const MAX_TIMER_MS = 2 ** 31 - 1;

export const systemClock: Clock = {
  now: () => Date.now(),
  after(ms, fn) {
    const timer = setTimeout(fn, Math.min(Math.max(0, ms), MAX_TIMER_MS));
    timer.unref();
    return () => clearTimeout(timer);
  },
};

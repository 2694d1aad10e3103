// The collector's time: what `now` is, and waking up later. Every component that reads the
// time or waits takes a Clock (createCollector passes one down), so expiry, staleness,
// retention, rate limits and webhook backoff follow whatever clock the collector was given:
// the system's in production, one a test moves by hand (test/helpers/clock.ts).
// Network deadlines (TLS handshakes, request timeouts) stay on real time: they guard real
// sockets, not the collector's rules.

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

// A clock the test moves (proto/support/clock.ts): time stands still until `advance`, which
// runs every wake-up that falls due, in order, each at its own time. Tests of expiry,
// staleness, retention, rate limits, backoff and renewal use it instead of sleeping.
import type { Clock } from '../../proto/support/clock.js';

export interface TestClock extends Clock {
  /** Moves the time forward by `ms`, running what falls due on the way; lets the event loop turn after each. */
  advance(ms: number): Promise<void>;
  /** Sets the time (never backwards) as `advance` would. */
  set(at: number): Promise<void>;
  /** Wake-ups waiting. */
  pending(): number;
  /**
   * Moves the time forward `stepMs` at a time until `done` holds, letting real I/O (HTTP,
   * gRPC) finish between steps; fails after `timeoutMs` of real time.
   */
  advanceUntil<T>(what: string, done: () => T | undefined | Promise<T | undefined>, opts?: { stepMs?: number; timeoutMs?: number }): Promise<T>;
}

interface Wakeup { readonly at: number; readonly order: number; readonly fn: () => void }

/** Lets pending I/O callbacks, timers of zero delay and microtasks run. */
const turn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

export function testClock(start = Date.now()): TestClock {
  let t = start;
  let order = 0;
  let wakeups: Wakeup[] = [];

  async function runTo(end: number): Promise<void> {
    for (;;) {
      const due = wakeups.filter((w) => w.at <= end).sort((a, b) => a.at - b.at || a.order - b.order)[0];
      if (!due) break;
      wakeups = wakeups.filter((w) => w !== due);
      t = Math.max(t, due.at);
      due.fn();
      await turn();
    }
    t = Math.max(t, end);
    await turn();
  }

  const clock: TestClock = {
    now: () => t,
    after(ms, fn) {
      const w: Wakeup = { at: t + Math.max(0, ms), order: order++, fn };
      wakeups.push(w);
      return () => {
        wakeups = wakeups.filter((x) => x !== w);
      };
    },
    advance: (ms) => runTo(t + ms),
    set: (at) => runTo(at),
    pending: () => wakeups.length,
    async advanceUntil(what, done, opts = {}) {
      const stepMs = opts.stepMs ?? 100;
      const deadline = Date.now() + (opts.timeoutMs ?? 20_000);
      for (;;) {
        const v = await done();
        if (v !== undefined) return v;
        if (Date.now() > deadline) throw new Error(`timed out waiting for ${what} (test clock at +${t - start} ms)`);
        await runTo(t + stepMs);
        // Real I/O between steps: a request in flight gets to finish before time moves on.
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
    },
  };
  return clock;
}

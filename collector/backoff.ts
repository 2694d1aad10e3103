// The collector's one backoff: the wait before the next try after some failed ones. Webhook
// deliveries (webhooks/dispatcher.ts) and the Kubernetes list/watch informers (kube/informer.ts)
// wait by it.

export interface Backoff {
  readonly initialMs: number;
  readonly maxMs: number;
}

/**
 * The wait before try `attempt + 1`, after `attempt` failed tries: exponential from
 * `initialMs`, capped at `maxMs`, with "equal jitter" (half fixed, half random), so
 * destinations that failed together do not all come back at the same instant.
 */
export function backoffMs(attempt: number, b: Backoff, random: () => number = Math.random): number {
  const exp = Math.min(b.maxMs, b.initialMs * 2 ** Math.min(30, Math.max(0, attempt - 1)));
  return Math.round(exp / 2 + (random() * exp) / 2);
}

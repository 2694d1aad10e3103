// One lane for everything that collects facts and spools a report (periodic scans and
// watch re-evaluations): they run one at a time, in the order asked, so a report never
// reaches the spool after a report built from newer facts.

export interface ScanLane {
  /** Runs `fn` after everything queued before it has settled; a failure does not block the lane. */
  run<T>(fn: () => Promise<T>): Promise<T>;
}

export function createScanLane(): ScanLane {
  let tail: Promise<unknown> = Promise.resolve();
  return {
    run<T>(fn: () => Promise<T>): Promise<T> {
      const next = tail.then(fn);
      tail = next.catch(() => undefined);
      return next;
    },
  };
}

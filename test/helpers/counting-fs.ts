// A host reader that records every host path asked of it (by any method) before handing the
// call to a real rooted reader: tests count what a piece of the agent reads.
import type { HostFs } from '../../agent/facts/host-fs.js';

export interface CountingFs extends HostFs {
  /** Host paths asked for since the last clear, in order (a path asked twice is there twice). */
  readonly reads: string[];
  clear(): void;
}

export function countingFs(inner: HostFs): CountingFs {
  const reads: string[] = [];
  const seen = <A extends unknown[], R>(fn: (path: string, ...rest: A) => R) => (path: string, ...rest: A): R => {
    reads.push(path);
    return fn(path, ...rest);
  };
  return {
    root: inner.root,
    reads,
    clear: () => {
      reads.length = 0;
    },
    resolve: seen((p) => inner.resolve(p)),
    readFile: seen((p, o?: { maxBytes?: number }) => inner.readFile(p, o)),
    stat: seen((p) => inner.stat(p)),
    lstat: seen((p) => inner.lstat(p)),
    readlink: seen((p) => inner.readlink(p)),
    readdir: seen((p) => inner.readdir(p)),
    openFile: seen((p) => inner.openFile(p)),
  };
}

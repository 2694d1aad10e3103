// Newline-delimited text from a stream (a Kubernetes watch sends one JSON event per line),
// with a bound on a line: a longer line is skipped up to its newline and reported, and
// whatever follows it is read as usual. Lines are decoded once they are whole, so a
// character split across chunks arrives intact.

export interface LineSplitter {
  /** Feed the next chunk; complete lines are passed to onLine as they appear. */
  push(chunk: Buffer): void;
}

export function createLineSplitter(maxBytes: number, onLine: (line: string) => void, onOversized: () => void): LineSplitter {
  let parts: Buffer[] = [];
  let size = 0;
  let skipping = false;
  return {
    push(chunk) {
      let start = 0;
      while (start <= chunk.length) {
        const nl = chunk.indexOf(0x0a, start);
        const end = nl === -1 ? chunk.length : nl;
        if (!skipping && end > start) {
          if (size + (end - start) > maxBytes) {
            skipping = true;
            parts = [];
            size = 0;
            onOversized();
          } else {
            parts.push(chunk.subarray(start, end));
            size += end - start;
          }
        }
        if (nl === -1) return;
        const line = skipping || size === 0 ? '' : Buffer.concat(parts, size).toString('utf8');
        parts = [];
        size = 0;
        skipping = false;
        start = nl + 1;
        if (line.trim() !== '') onLine(line);
      }
    },
  };
}

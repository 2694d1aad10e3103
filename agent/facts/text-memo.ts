// A pure interpretation of a host document, remembered for the texts seen last: a node's
// documents (static pod manifests, component configs) rarely change between scans, and
// parsing them again was a quarter of a scan's CPU. Keyed by the SHA-256 of the text, so a
// changed document is interpreted again and no text is kept (only what the interpretation
// returns, which the snapshot holds anyway). Bounded: the last `entries` distinct texts.
import { createHash } from 'node:crypto';

export function createTextMemo<T>(entries: number): (text: string, interpret: () => T) => T {
  const known = new Map<string, T>();
  return (text, interpret) => {
    const key = createHash('sha256').update(text).digest('base64');
    const hit = known.get(key);
    if (hit !== undefined) {
      known.delete(key);
      known.set(key, hit);
      return hit;
    }
    const value = interpret();
    known.set(key, value);
    if (known.size > entries) known.delete(known.keys().next().value as string);
    return value;
  };
}

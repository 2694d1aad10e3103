// The agent's one bounded synchronous file reader (agent/facts/bounded-read.ts): what it returns
// for any length against any bound and scratch size, the line cut of text, and what it refuses.
import test from 'ava';
import fc from 'fast-check';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readBounded, readBoundedText } from '../../agent/facts/bounded-read.js';

const dir = mkdtempSync(join(tmpdir(), 'nodeward-bounded-read-'));
test.after.always(() => rmSync(dir, { recursive: true, force: true }));

test('property: any file, any bound, any scratch: the first max bytes, and cut exactly when there were more', (t) => {
  let n = 0;
  fc.assert(fc.property(
    fc.uint8Array({ maxLength: 5000 }), fc.integer({ min: 0, max: 6000 }), fc.integer({ min: 0, max: 3000 }), fc.boolean(),
    (bytes, max, scratchSize, view) => {
      const path = join(dir, `f${n++}`);
      writeFileSync(path, bytes);
      const r = readBounded(path, max, { scratch: Buffer.alloc(scratchSize), view });
      if ('error' in r) return false;
      return Buffer.compare(r.data, Buffer.from(bytes.subarray(0, max))) === 0 && r.cut === bytes.length > max;
    },
  ), { numRuns: 300 });
  t.pass();
});

test('text past the bound is cut after its last full line; a copy outlives the scratch it was read into', (t) => {
  const path = join(dir, 'table');
  writeFileSync(path, 'header\nrow 1\nrow 2\nrow 3\n');
  t.deepEqual(readBoundedText(path, 100), { text: 'header\nrow 1\nrow 2\nrow 3\n', cut: false });
  t.deepEqual(readBoundedText(path, 16), { text: 'header\nrow 1\n', cut: true });
  t.deepEqual(readBoundedText(path, 3), { text: '', cut: true });
  const scratch = Buffer.alloc(8);
  const copy = readBounded(path, 6, { scratch });
  scratch.fill(0);
  t.deepEqual('data' in copy ? copy.data.toString() : '', 'header');
});

test('a link is refused, not followed; a missing file and a FIFO with no writer do not throw or hang', (t) => {
  const target = join(dir, 'secret');
  writeFileSync(target, 'outside');
  const link = join(dir, 'link');
  symlinkSync(target, link);
  t.deepEqual(readBounded(link, 100), { error: 'ELOOP' });
  t.deepEqual(readBounded(join(dir, 'absent'), 100), { error: 'ENOENT' });
  const fifo = join(dir, 'fifo');
  execFileSync('mkfifo', [fifo]);
  const r = readBounded(fifo, 100);
  t.true('error' in r || r.data.length === 0, JSON.stringify(r));
});

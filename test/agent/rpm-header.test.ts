// The rpm header parser and the SQLite image builder: pure functions over bytes a root user on
// the node can write. They never throw, refuse with a stable code, stay inside their bounds,
// and read back what the test-side writer (test/helpers/rpm-header.ts) wrote.
import test from 'ava';
import Database from 'better-sqlite3';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  int32s, parseRpmHeader, rawStrings, rpmFindFiles, rpmPackageInfo, RPM_HEADER_LIMITS, RPM_TAG, type RpmHeaderErrorCode,
} from '../../agent/facts/rpm-header.js';
import { sqliteImage } from '../../agent/facts/sqlite-image.js';
import { checkProperty, fc } from '../helpers/property.js';
import { packageHeader, writeRpmHeader, type TestPackage } from '../helpers/rpm-header.js';

const CODES: ReadonlySet<RpmHeaderErrorCode> = new Set([
  'too-short', 'too-many-entries', 'too-much-data', 'size-mismatch', 'bad-type', 'bad-offset', 'bad-count', 'misaligned',
  'unterminated', 'missing-tag', 'wrong-type', 'count-mismatch', 'bad-dirindex',
]);

const BASH: TestPackage = {
  name: 'bash', version: '5.2.26', release: '3.fc40', epoch: 0, algo: 8,
  files: [
    { path: '/usr/bin/bash', digest: 'ab'.repeat(32) },
    { path: '/usr/bin/bashbug', digest: 'cd'.repeat(32) },
    { path: '/usr/share/doc/bash', digest: '' },
    { path: '/usr/share/doc/bash/README', digest: 'ef'.repeat(32) },
  ],
};

/** Every way of reading a header this code has: none may throw, each refusal has a known code. */
function readAll(bytes: Uint8Array): boolean {
  const h = parseRpmHeader(bytes);
  if (!h.ok) return CODES.has(h.error.code) && h.error.message.length > 0;
  const results = [
    rpmPackageInfo(h.value),
    rpmFindFiles(h.value, new Set(['/usr/bin/bash', '/x'])),
    rawStrings(h.value, RPM_TAG.DIRNAMES),
    int32s(h.value, RPM_TAG.DIRINDEXES),
  ];
  return results.every((r) => r.ok || CODES.has(r.error.code));
}

test('a package header reads back: name, [epoch:]version-release, algorithm, and the digest of each asked-for file', (t) => {
  const h = parseRpmHeader(packageHeader(BASH));
  if (!h.ok) return t.fail(h.error.message);
  t.deepEqual(rpmPackageInfo(h.value), { ok: true, value: { name: 'bash', version: '0:5.2.26-3.fc40', digestAlgo: 8 } });
  t.deepEqual(rpmFindFiles(h.value, new Set(['/usr/bin/bash', '/bin/bash', '/usr/share/doc/bash'])), {
    ok: true,
    value: [{ path: '/usr/bin/bash', digest: 'ab'.repeat(32) }, { path: '/usr/share/doc/bash', digest: '' }],
  });
  t.deepEqual(rpmFindFiles(h.value, new Set(['/usr/bin/bas', '/usr/bin/'])), { ok: true, value: [] }, 'whole names only');
});

test('without FILEDIGESTALGO the algorithm is MD5 (1); without EPOCH the version has none; without files nothing matches', (t) => {
  const h = parseRpmHeader(packageHeader({ name: 'old', version: '1', release: '2', files: [{ path: '/usr/bin/old', digest: 'AA'.repeat(16) }] }));
  if (!h.ok) return t.fail(h.error.message);
  t.deepEqual(rpmPackageInfo(h.value), { ok: true, value: { name: 'old', version: '1-2', digestAlgo: 1 } });
  t.deepEqual(rpmFindFiles(h.value, new Set(['/usr/bin/old'])), { ok: true, value: [{ path: '/usr/bin/old', digest: 'aa'.repeat(16) }] }, 'digests are lowercased');
  const none = parseRpmHeader(packageHeader({ name: 'meta', version: '1', release: '1', files: [] }));
  t.true(none.ok && rpmFindFiles(none.value, new Set(['/usr/bin/old'])).ok);
});

test('a later entry for a tag wins (a value rpm changed after install)', (t) => {
  const h = parseRpmHeader(writeRpmHeader([
    { tag: RPM_TAG.NAME, type: 'string', value: 'first' },
    { tag: RPM_TAG.NAME, type: 'string', value: 'second' },
  ]));
  t.true(h.ok && rpmPackageInfo(h.value).ok && (rpmPackageInfo(h.value) as { value: { name: string } }).value.name === 'second');
});

test('each malformed header is refused with its own code', (t) => {
  const good = packageHeader(BASH);
  const code = (bytes: Uint8Array): string => {
    const h = parseRpmHeader(bytes);
    if (!h.ok) return h.error.code;
    const info = rpmPackageInfo(h.value);
    if (!info.ok) return info.error.code;
    const files = rpmFindFiles(h.value, new Set(['/usr/bin/bash']));
    return files.ok ? 'ok' : files.error.code;
  };
  const patched = (at: number, value: number, base: Buffer = good): Buffer => {
    const b = Buffer.from(base);
    b.writeUInt32BE(value >>> 0, at);
    return b;
  };
  t.is(code(good), 'ok');
  t.is(code(good.subarray(0, 5)), 'too-short');
  t.is(code(patched(0, 0)), 'too-many-entries');
  t.is(code(patched(0, 70_000)), 'too-many-entries');
  t.is(code(patched(4, RPM_HEADER_LIMITS.maxDataBytes + 1)), 'too-much-data');
  t.is(code(Buffer.concat([good, Buffer.alloc(1)])), 'size-mismatch');
  t.is(code(good.subarray(0, good.length - 1)), 'size-mismatch');
  t.is(code(patched(8 + 4, 10)), 'bad-type', 'entry 0 type 10');
  t.is(code(patched(8 + 8, good.readUInt32BE(4) + 1)), 'bad-offset', 'entry 0 offset past the data');
  t.is(code(patched(8 + 12, 0)), 'bad-count');
  t.is(code(patched(8 + 12, 2)), 'bad-count', 'a STRING with count 2');
  const ints = writeRpmHeader([{ tag: RPM_TAG.NAME, type: 'string', value: 'abc' }, { tag: RPM_TAG.EPOCH, type: 'int32', value: [1] }]);
  t.is(code(patched(8 + 16 + 8, 2, ints)), 'misaligned');
  t.is(code(patched(8 + 16 + 12, 5, ints)), 'bad-offset', 'five INT32s do not fit');
  const open = Buffer.from(writeRpmHeader([{ tag: RPM_TAG.NAME, type: 'string', value: 'abc' }]));
  open[open.length - 1] = 0x41;
  t.is(code(open), 'unterminated');
  t.is(code(writeRpmHeader([{ tag: RPM_TAG.VERSION, type: 'string', value: '1' }])), 'missing-tag', 'no NAME');
  t.is(code(writeRpmHeader([{ tag: RPM_TAG.NAME, type: 'int32', value: [1] }])), 'wrong-type');
  const files = (dirindexes: number[], basenames: string[], digests: string[]): Buffer => writeRpmHeader([
    { tag: RPM_TAG.NAME, type: 'string', value: 'p' },
    { tag: RPM_TAG.FILEDIGESTS, type: 'string-array', value: digests },
    { tag: RPM_TAG.DIRINDEXES, type: 'int32', value: dirindexes },
    { tag: RPM_TAG.BASENAMES, type: 'string-array', value: basenames },
    { tag: RPM_TAG.DIRNAMES, type: 'string-array', value: ['/usr/bin/'] },
  ]);
  t.is(code(files([0], ['bash'], ['aa'])), 'ok');
  t.is(code(files([0, 0], ['bash'], ['aa'])), 'count-mismatch');
  t.is(code(files([0], ['bash'], ['aa', 'bb'])), 'count-mismatch');
  t.is(code(files([1], ['bash'], ['aa'])), 'bad-dirindex');
  t.is(code(writeRpmHeader([{ tag: RPM_TAG.NAME, type: 'string', value: 'p' }, { tag: RPM_TAG.BASENAMES, type: 'string-array', value: ['bash'] }])), 'missing-tag');
});

test('property: the parser and every accessor never throw on arbitrary bytes', async (t) => {
  await checkProperty(t, fc.property(fc.uint8Array({ maxLength: 600 }), readAll), 2000);
});

test('property: on headers with a consistent intro and random entries, nothing throws and refusals are coded', async (t) => {
  const entry = fc.record({
    tag: fc.oneof(fc.constantFrom(...Object.values(RPM_TAG)), fc.nat(6000)),
    type: fc.nat(11),
    offset: fc.nat(80),
    count: fc.oneof(fc.nat(6), fc.nat(0xffffffff)),
  });
  await checkProperty(t, fc.property(fc.array(entry, { minLength: 1, maxLength: 10 }), fc.uint8Array({ maxLength: 64 }), (entries, data) => {
    const b = Buffer.alloc(8 + 16 * entries.length + data.length);
    b.writeUInt32BE(entries.length, 0);
    b.writeUInt32BE(data.length, 4);
    entries.forEach((e, i) => {
      b.writeUInt32BE(e.tag, 8 + 16 * i);
      b.writeUInt32BE(e.type, 12 + 16 * i);
      b.writeUInt32BE(e.offset, 16 + 16 * i);
      b.writeUInt32BE(e.count, 20 + 16 * i);
    });
    Buffer.from(data).copy(b, 8 + 16 * entries.length);
    return readAll(b);
  }), 3000);
});

test('property: a written package reads back, and any single corruption of it is read or refused, never thrown', async (t) => {
  const name = fc.stringMatching(/^[a-z][a-z0-9+._-]{0,15}$/);
  const file = fc.record({
    path: fc.array(fc.stringMatching(/^[a-zA-Z0-9._-]{1,8}$/), { minLength: 1, maxLength: 4 }).map((parts) => `/${parts.join('/')}`),
    digest: fc.oneof(fc.constant(''), fc.stringMatching(/^[0-9a-fA-F]{64}$/)),
  });
  const pkg = fc.record({
    name, version: fc.stringMatching(/^[0-9][0-9.]{0,6}$/), release: fc.stringMatching(/^[0-9a-z.]{1,6}$/),
    algo: fc.constantFrom(1, 8, 10), files: fc.uniqueArray(file, { maxLength: 8, selector: (f) => f.path }),
  });
  await checkProperty(t, fc.property(pkg, fc.nat(), fc.nat(255), fc.nat(), (p, at, byte, cut) => {
    const blob = packageHeader(p);
    const h = parseRpmHeader(blob);
    if (!h.ok) return false;
    const info = rpmPackageInfo(h.value);
    const files = rpmFindFiles(h.value, new Set(p.files.map((f) => f.path)));
    if (!info.ok || info.value.name !== p.name || info.value.digestAlgo !== p.algo) return false;
    if (!files.ok || files.value.length !== p.files.length) return false;
    if (!files.value.every((f, i) => f.path === p.files[i]!.path && f.digest === p.files[i]!.digest.toLowerCase())) return false;
    const flipped = Buffer.from(blob);
    flipped[at % flipped.length] = byte;
    return readAll(flipped) && readAll(blob.subarray(0, cut % (blob.length + 1)));
  }), 1500);
});

test('the walk over strings is bounded by the data: an entry claiming a million strings in 16 bytes is refused', (t) => {
  const b = Buffer.from(writeRpmHeader([{ tag: RPM_TAG.NAME, type: 'string', value: 'p' }, { tag: RPM_TAG.BASENAMES, type: 'string-array', value: ['a', 'b'] }]));
  b.writeUInt32BE(1_000_000, 8 + 16 + 12);
  const h = parseRpmHeader(b);
  if (!h.ok) return t.fail(h.error.message);
  const r = rawStrings(h.value, RPM_TAG.BASENAMES);
  t.false(r.ok);
  t.is(!r.ok && r.error.code, 'unterminated');
  b.writeUInt32BE(RPM_HEADER_LIMITS.maxCount + 1, 8 + 16 + 12);
  const over = parseRpmHeader(b);
  t.is(!over.ok && over.error.code, 'bad-count');
});

// ---- the SQLite image: database file + write-ahead log, as the writer committed them ----

async function walDatabase(t: import('ava').ExecutionContext): Promise<{ path: string; db: Database.Database }> {
  const dir = await mkdtemp(join(tmpdir(), 'nodeward-sqlite-image-'));
  const path = join(dir, 'x.sqlite');
  const db = new Database(path);
  t.teardown(async () => {
    if (db.open) db.close();
    await rm(dir, { recursive: true, force: true });
  });
  db.pragma('journal_mode = WAL');
  db.pragma('wal_autocheckpoint = 0');
  db.exec('CREATE TABLE t (v TEXT)');
  db.pragma('wal_checkpoint(TRUNCATE)');
  return { path, db };
}

const rows = (image: Buffer): string[] => {
  const db = new Database(image, { readonly: true });
  try {
    return (db.prepare('SELECT v FROM t ORDER BY rowid').pluck().all() as string[]);
  } finally {
    db.close();
  }
};

test('commits still in the write-ahead log are in the image; an uncommitted tail and a stale log are not', async (t) => {
  const { path, db } = await walDatabase(t);
  db.prepare('INSERT INTO t VALUES (?)').run('checkpointed');
  db.pragma('wal_checkpoint(TRUNCATE)');
  db.prepare('INSERT INTO t VALUES (?)').run('in the log');
  db.prepare('INSERT INTO t VALUES (?)').run('x'.repeat(20_000)); // overflow pages, all in the log
  const main = await readFile(path);
  const wal = await readFile(`${path}-wal`);
  const withLog = sqliteImage(main, wal, 1 << 24);
  if (!withLog.ok) return t.fail(withLog.message);
  t.true(withLog.walFrames > 0);
  t.deepEqual(rows(withLog.image), ['checkpointed', 'in the log', 'x'.repeat(20_000)]);
  const withoutLog = sqliteImage(main, null, 1 << 24);
  t.true(withoutLog.ok && rows(withoutLog.image).length === 1, 'the main file alone has only the checkpointed row');

  // A torn last frame (the writer was mid-append): the commits before it stand.
  const torn = Buffer.from(wal);
  torn[torn.length - 10] = torn[torn.length - 10]! ^ 0xff;
  const tornImage = sqliteImage(main, torn, 1 << 24);
  t.true(tornImage.ok && rows(tornImage.image).length === 2, 'the damaged transaction is dropped, the one before kept');

  // A log from before a checkpoint restarted it (other salts): ignored frame by frame.
  const staleHeader = Buffer.from(wal);
  staleHeader[16] = staleHeader[16]! ^ 0xff;
  const stale = sqliteImage(main, staleHeader, 1 << 24);
  t.true(stale.ok && stale.walIgnored !== null && rows(stale.image).length === 1, 'a header whose checksum fails is ignored');
});

test('the image is refused when it is not SQLite or over its size limit; never thrown on random bytes', async (t) => {
  const { path, db } = await walDatabase(t);
  db.prepare('INSERT INTO t VALUES (?)').run('a');
  const main = await readFile(path);
  const wal = await readFile(`${path}-wal`);
  const notSqlite = sqliteImage(Buffer.from('#!/bin/sh\n'.repeat(20)), null, 1 << 20);
  t.is(!notSqlite.ok && notSqlite.code, 'not-sqlite');
  const tooBig = sqliteImage(main, wal, main.length - 1);
  t.is(!tooBig.ok && tooBig.code, 'too-large');
  const header = main.subarray(0, 100);
  await checkProperty(t, fc.property(fc.uint8Array({ maxLength: 300 }), fc.option(fc.uint8Array({ maxLength: 300 })), fc.boolean(), (a, b, keepHeader) => {
    const dbBytes = keepHeader ? Buffer.concat([header, Buffer.from(a)]) : Buffer.from(a);
    const r = sqliteImage(dbBytes, b === null ? null : Buffer.concat([wal.subarray(0, 32), Buffer.from(b)]), 1 << 16);
    return r.ok ? r.image.length <= 1 << 16 : ['not-sqlite', 'bad-page-size', 'too-large'].includes(r.code);
  }), 1000);
});

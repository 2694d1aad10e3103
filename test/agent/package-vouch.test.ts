// Whether the host's package manager vouches for a file's new content. Host trees are built
// in a temp dir per test (dpkg's info files, diversions and status; rpm's SQLite database
// written with better-sqlite3 and real rpm headers from test/helpers/rpm-header.ts); the last
// tests ask this machine's own /var/lib/dpkg about its own bash.
import test, { type ExecutionContext } from 'ava';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, realpathSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, rename, rm, stat, symlink, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { createHostFs } from '../../agent/facts/host-fs.js';
import { createPackageVouch, judge, pathAliases, type ContentDigests, type Knowledge, type PackageVouchOptions } from '../../agent/facts/package-vouch.js';
import { checkProperty, fc } from '../helpers/property.js';
import { needs } from '../helpers/requirements.js';
import { addRpmPackages, openRpmDbWriter, packageRow, writeRpmDb, type TestPackage } from '../helpers/rpm-header.js';

const digests = (content: string | Buffer): ContentDigests => ({
  md5: createHash('md5').update(content).digest('hex'),
  sha256: createHash('sha256').update(content).digest('hex'),
});
const md5 = (content: string): string => digests(content).md5;
const sha256 = (content: string): string => digests(content).sha256;

const BASH = 'bash 5.2.15-2+b8';
const BASH_OLD = 'bash 5.2.15-2+b7';
const LIBC = 'libc6 amd64';
const LIBC32 = 'libc6 i386';
const DASH_SH = "dash's own /bin/sh";
const MKSH_SH = "mksh's /bin/sh, diverted to /bin/sh.distrib";
const FOO = 'foo as packaged';

interface Tree {
  readonly base: string;
  readonly root: string;
  write(rel: string, content: string | Buffer): Promise<void>;
}

async function tree(t: ExecutionContext, opts: { merged?: boolean } = {}): Promise<Tree> {
  const base = await mkdtemp(join(tmpdir(), 'nodeward-vouch-'));
  t.teardown(() => rm(base, { recursive: true, force: true }));
  const root = join(base, 'host');
  for (const d of ['bin', 'sbin', 'lib', 'lib64']) {
    await mkdir(join(root, 'usr', d), { recursive: true });
    if (opts.merged !== false) await symlink(`usr/${d}`, join(root, d));
    else await mkdir(join(root, d));
  }
  const write = async (rel: string, content: string | Buffer): Promise<void> => {
    await mkdir(dirname(join(root, rel)), { recursive: true });
    await writeFile(join(root, rel), content);
  };
  return { base, root, write };
}

/** A Debian 12-shaped dpkg database: merged-/usr records, a multi-arch package, diversions. */
async function dpkgTree(t: ExecutionContext, opts: { merged?: boolean } = {}): Promise<Tree> {
  const tr = await tree(t, opts);
  const info = 'var/lib/dpkg/info';
  await tr.write(`${info}/bash.md5sums`, `${md5('bashbug')}  usr/bin/bashbug\n${md5(BASH)}  bin/bash\n`);
  await tr.write(`${info}/bash.list`, '/bin/bash\n');
  await tr.write(`${info}/coreutils.md5sums`, `${md5('ls')}  bin/ls\n${md5('cat')}  bin/cat\n`);
  await tr.write(`${info}/libc6:amd64.md5sums`, `${md5(LIBC)}  lib/x86_64-linux-gnu/libc.so.6\n`);
  await tr.write(`${info}/libc6:i386.md5sums`, `${md5(LIBC32)}  lib/i386-linux-gnu/libc.so.6\n`);
  await tr.write(`${info}/dash.md5sums`, `${md5('dash')}  bin/dash\n${md5(DASH_SH)}  bin/sh\n`);
  await tr.write(`${info}/mksh.md5sums`, `${md5(MKSH_SH)}  bin/sh\n`);
  await tr.write(`${info}/foo.md5sums`, `${md5(FOO)}  usr/bin/foo\n`);
  await tr.write('var/lib/dpkg/diversions', '/bin/sh\n/bin/sh.distrib\ndash\n/usr/bin/foo\n/usr/bin/foo.orig\n:\n');
  await tr.write('var/lib/dpkg/status', [
    'Package: bash', 'Architecture: amd64', 'Version: 5.2.15-2+b8', '',
    'Package: coreutils', 'Architecture: amd64', 'Version: 9.1-1', '',
    'Package: libc6', 'Architecture: i386', 'Version: 2.36-9+deb12u3', '',
    'Package: libc6', 'Architecture: amd64', 'Version: 2.36-9+deb12u4', '',
    'Package: dash', 'Version: 0.5.12-2', '', 'Package: mksh', 'Version: 59c-2+b2', '', 'Package: foo', 'Version: 1', '',
  ].join('\n'));
  return tr;
}

const vouchIn = (root: string, opts: PackageVouchOptions = {}) => createPackageVouch(createHostFs(root), opts);

test('dpkg, merged /usr: the kernel\'s /usr/bin/bash is vouched by the record of bin/bash; other content is not', async (t) => {
  const tr = await dpkgTree(t);
  const pv = vouchIn(tr.root);
  t.deepEqual(await pv.vouch('/usr/bin/bash', digests(BASH)), { vouched: true, manager: 'dpkg', package: 'bash', version: '5.2.15-2+b8', recordedPath: '/bin/bash' });
  t.deepEqual(await pv.vouch('/bin/bash', digests(BASH)), { vouched: true, manager: 'dpkg', package: 'bash', version: '5.2.15-2+b8', recordedPath: '/bin/bash' });
  const changed = await pv.vouch('/usr/bin/bash', digests(BASH_OLD));
  t.like(changed, { vouched: false, reason: 'digest-differs' });
  t.regex((changed as { detail: string }).detail, new RegExp(`bash 5\\.2\\.15-2\\+b8 \\(dpkg\\) recorded /bin/bash with md5 ${md5(BASH)}`));
  t.deepEqual(await pv.vouch('/usr/lib/x86_64-linux-gnu/libc.so.6', digests(LIBC)), {
    vouched: true, manager: 'dpkg', package: 'libc6', version: '2.36-9+deb12u4', recordedPath: '/lib/x86_64-linux-gnu/libc.so.6',
  }, 'the multi-arch package\'s version is its architecture\'s');
  t.like(await pv.vouch('/usr/lib/x86_64-linux-gnu/libc.so.6', digests(LIBC32)), { vouched: false, reason: 'digest-differs' }, 'the i386 content is not the amd64 file');
  t.like(await pv.vouch('/usr/local/bin/kubelet', digests('kubelet')), { vouched: false, reason: 'not-owned' });
  const s = pv.stats();
  t.is(s.lookups, 6);
  t.is(s.vouched, 3);
  t.deepEqual([s.refused['digest-differs'], s.refused['not-owned']], [2, 1]);
});

test('dpkg, /usr not merged: /usr/bin/bash and /bin/bash are two files, and the record of one does not vouch for the other', async (t) => {
  const tr = await dpkgTree(t, { merged: false });
  const pv = vouchIn(tr.root);
  t.like(await pv.vouch('/usr/bin/bash', digests(BASH)), { vouched: false, reason: 'not-owned' });
  t.like(await pv.vouch('/bin/bash', digests(BASH)), { vouched: true, package: 'bash' });
});

test('dpkg diversions: at a diverted path only the diverting package counts; at the diverted-to path the others do; a local diversion is nobody\'s', async (t) => {
  const tr = await dpkgTree(t);
  const pv = vouchIn(tr.root);
  // dash diverts /bin/sh: mksh's /bin/sh is installed as /bin/sh.distrib.
  t.like(await pv.vouch('/usr/bin/sh', digests(DASH_SH)), { vouched: true, package: 'dash', recordedPath: '/bin/sh' });
  t.like(await pv.vouch('/usr/bin/sh', digests(MKSH_SH)), { vouched: false, reason: 'digest-differs' }, "mksh's record of /bin/sh is not what is at /bin/sh");
  t.like(await pv.vouch('/usr/bin/sh.distrib', digests(MKSH_SH)), { vouched: true, package: 'mksh', recordedPath: '/bin/sh' });
  const dashThere = await pv.vouch('/usr/bin/sh.distrib', digests(DASH_SH));
  t.like(dashThere, { vouched: false, reason: 'digest-differs' }, "the diverting package's own /bin/sh is never at the diverted-to path");
  t.regex((dashThere as { detail: string }).detail, /^mksh /, "only the other packages' records count there");
  // The administrator diverted /usr/bin/foo: whatever is there now is theirs, not foo's.
  const local = await pv.vouch('/usr/bin/foo', digests(FOO));
  t.like(local, { vouched: false, reason: 'not-owned' });
  t.regex((local as { detail: string }).detail, /diverted locally/);
  t.like(await pv.vouch('/usr/bin/foo.orig', digests(FOO)), { vouched: true, package: 'foo', recordedPath: '/usr/bin/foo' });
});

test('paths asked for together are answered by one pass; a repeat is a cache hit that reads nothing', async (t) => {
  const tr = await dpkgTree(t);
  const pv = vouchIn(tr.root);
  const answers = await Promise.all([
    pv.vouch('/usr/bin/bash', digests(BASH)), pv.vouch('/usr/bin/ls', digests('ls')), pv.vouch('/usr/bin/cat', digests('cat')),
    pv.vouch('/usr/bin/bash', digests(BASH_OLD)),
  ]);
  t.deepEqual(answers.map((a) => a.vouched), [true, true, true, false]);
  const first = pv.stats();
  t.is(first.passes, 1);
  t.is(first.pathsLookedUp, 3, 'the same path twice is looked up once');
  t.is(first.md5sumsFilesRead, 7, 'each md5sums file read once for all three');
  t.like(await pv.vouch('/usr/bin/ls', digests('cat')), { vouched: false, reason: 'digest-differs' });
  const second = pv.stats();
  t.is(second.cacheHits, 1);
  t.is(second.passes, 1);
  t.is(second.md5sumsFilesRead, 7);
});

test('an upgrade is seen: a rewritten md5sums file, or a newly installed package, invalidates what was cached', async (t) => {
  const tr = await dpkgTree(t);
  const pv = vouchIn(tr.root);
  const info = join(tr.root, 'var/lib/dpkg/info');
  const NEW = 'bash 5.2.15-2+b9';
  t.like(await pv.vouch('/usr/bin/bash', digests(NEW)), { vouched: false, reason: 'digest-differs' });
  t.like(await pv.vouch('/usr/local/bin/kubelet', digests('kubelet')), { vouched: false, reason: 'not-owned' });
  // dpkg replaces the file by a rename; give it a later time, as the upgrade would.
  await writeFile(join(info, 'bash.md5sums.dpkg-new'), `${md5(NEW)}  bin/bash\n`);
  await rename(join(info, 'bash.md5sums.dpkg-new'), join(info, 'bash.md5sums'));
  const later = new Date(Date.now() + 5_000);
  await utimes(join(info, 'bash.md5sums'), later, later);
  t.like(await pv.vouch('/usr/bin/bash', digests(NEW)), { vouched: true, package: 'bash' });
  // A package installed later: the directory changes, so "not owned" is asked again.
  await writeFile(join(info, 'kubelet.md5sums'), `${md5('kubelet')}  usr/local/bin/kubelet\n`);
  const evenLater = new Date(Date.now() + 10_000);
  await utimes(info, evenLater, evenLater);
  t.like(await pv.vouch('/usr/local/bin/kubelet', digests('kubelet')), { vouched: true, package: 'kubelet' });
  t.is(pv.stats().cacheHits, 0);
  t.is(pv.stats().passes, 4);
});

test('bounds: files per pass, bytes per md5sums file and time per pass are cut, counted and answered as incomplete', async (t) => {
  const tr = await dpkgTree(t);
  // Eight md5sums files, one allowed: libc6 is not named like its file, so it is not read first.
  const few = vouchIn(tr.root, { limits: { maxMd5sumsFiles: 1 } });
  const cut = await few.vouch('/usr/lib/x86_64-linux-gnu/libc.so.6', digests(LIBC));
  t.like(cut, { vouched: false, reason: 'incomplete' });
  t.regex((cut as { detail: string }).detail, /7 md5sums files, only 1 read/);
  t.is(few.stats().truncated.files, 6);
  t.like(await few.vouch('/usr/bin/bash', digests(BASH)), { vouched: true }, 'the package named like the file is read first');

  const small = vouchIn(tr.root, { limits: { maxMd5sumsBytes: 60 } });
  t.like(await small.vouch('/usr/bin/ls', digests('ls')), { vouched: false, reason: 'incomplete' }, 'coreutils.md5sums is over 60 bytes');
  t.true(small.stats().truncated.md5sumsSkipped >= 1);

  // A clock that moves a second each time it is read: the pass is over its 3 s at once.
  let clock = 0;
  const slow = vouchIn(tr.root, { now: () => (clock += 1000), limits: { maxPassMs: 3000, retryIncompleteMs: 60_000 } });
  t.like(await slow.vouch('/usr/lib/x86_64-linux-gnu/libc.so.6', digests(LIBC)), { vouched: false, reason: 'incomplete' });
  t.is(slow.stats().truncated.time, 1);
  t.like(await slow.vouch('/usr/lib/x86_64-linux-gnu/libc.so.6', digests(LIBC)), { reason: 'incomplete' });
  t.is(slow.stats().passes, 1, 'an incomplete answer is kept for a while ...');
  clock += 60_000;
  await slow.vouch('/usr/lib/x86_64-linux-gnu/libc.so.6', digests(LIBC));
  t.is(slow.stats().passes, 2, '... then looked up again');
});

test('bounds: paths waiting beyond maxPending are refused as busy, and the cache holds maxCacheEntries', async (t) => {
  const tr = await dpkgTree(t);
  const pv = vouchIn(tr.root, { limits: { maxPending: 1, maxCacheEntries: 2 } });
  const [a, b] = await Promise.all([pv.vouch('/usr/bin/bash', digests(BASH)), pv.vouch('/usr/bin/ls', digests('ls'))]);
  t.like(a, { vouched: true });
  t.like(b, { vouched: false, reason: 'busy' });
  await pv.vouch('/usr/bin/ls', digests('ls'));
  await pv.vouch('/usr/bin/cat', digests('cat'));
  t.is(pv.stats().cacheEntries, 2);
  t.is(pv.stats().refused.busy, 1);
});

test('a /var/lib/dpkg/info link pointing out of the host root is resolved inside it, never followed out', async (t) => {
  const tr = await tree(t);
  // Outside the root: an info directory that would vouch for anything asked.
  const outside = join(tr.base, 'outside-info');
  await mkdir(outside);
  await writeFile(join(outside, 'evil.md5sums'), `${md5('payload')}  usr/bin/bash\n`);
  await mkdir(join(tr.root, 'var/lib/dpkg'), { recursive: true });
  await symlink(outside, join(tr.root, 'var/lib/dpkg/info'));
  const abs = vouchIn(tr.root);
  t.like(await abs.vouch('/usr/bin/bash', digests('payload')), { vouched: false, reason: 'no-database' });
  await rm(join(tr.root, 'var/lib/dpkg/info'));
  await symlink('../../../../../../../../outside-info', join(tr.root, 'var/lib/dpkg/info'));
  t.like(await vouchIn(tr.root).vouch('/usr/bin/bash', digests('payload')), { vouched: false, reason: 'no-database' });
  // And one md5sums file inside a real info directory linking out.
  await rm(join(tr.root, 'var/lib/dpkg/info'));
  await mkdir(join(tr.root, 'var/lib/dpkg/info'));
  await symlink(join(outside, 'evil.md5sums'), join(tr.root, 'var/lib/dpkg/info/evil.md5sums'));
  const inner = vouchIn(tr.root);
  t.like(await inner.vouch('/usr/bin/bash', digests('payload')), { vouched: false, reason: 'not-owned' });
  t.is(inner.stats().md5sumsFilesRead, 0);
});

test('requests that are not a normalised absolute path with hex digests are refused; an empty host has no database', async (t) => {
  const tr = await tree(t);
  const pv = vouchIn(tr.root);
  const d = digests('x');
  t.like(await pv.vouch('usr/bin/bash', d), { reason: 'invalid-request' });
  t.like(await pv.vouch('/usr/bin/../bin/bash', d), { reason: 'invalid-request' });
  t.like(await pv.vouch('/usr//bin/bash', d), { reason: 'invalid-request' });
  t.like(await pv.vouch('/usr/bin/', d), { reason: 'invalid-request' });
  t.like(await pv.vouch('/usr/bin/bash', { ...d, md5: 'xyz' }), { reason: 'invalid-request' });
  t.like(await pv.vouch('/usr/bin/bash', { ...d, sha512: 'ab' }), { reason: 'invalid-request' });
  t.like(await pv.vouch('/usr/bin/bash', d), { vouched: false, reason: 'no-database' });
  t.is(pv.stats().refused['invalid-request'], 6);
});

// ---- rpm ----

const RPM_BASH: TestPackage = {
  name: 'bash', version: '5.2.26', release: '3.fc40', algo: 8,
  files: [{ path: '/usr/bin/bash', digest: sha256(BASH) }, { path: '/usr/share/doc/bash', digest: '' }],
};
const RPM_LEGACY: TestPackage = { name: 'legacy', version: '1.0', release: '1.el7', epoch: 2, files: [{ path: '/usr/sbin/legacyd', digest: md5('legacyd') }] };
const RPM_STRONG: TestPackage = { name: 'strong', version: '1', release: '1', algo: 10, files: [{ path: '/usr/bin/strong', digest: createHash('sha512').update('strong').digest('hex') }] };

/** Fedora's layout: the database under /usr/lib/sysimage/rpm, /var/lib/rpm a link to it. */
async function rpmTree(t: ExecutionContext): Promise<Tree & { dbPath: string }> {
  const tr = await tree(t);
  await mkdir(join(tr.root, 'usr/lib/sysimage/rpm'), { recursive: true });
  await mkdir(join(tr.root, 'var/lib'), { recursive: true });
  await symlink('../../usr/lib/sysimage/rpm', join(tr.root, 'var/lib/rpm'));
  return { ...tr, dbPath: join(tr.root, 'usr/lib/sysimage/rpm/rpmdb.sqlite') };
}

/** Names, sizes and modification times of everything in a directory. */
async function snapshot(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const name of (await readdir(dir)).sort()) {
    const s = await stat(join(dir, name));
    out.push(`${name} ${s.size} ${s.mtimeMs}`);
  }
  return out;
}

test('rpm: SHA-256 and MD5 records vouch for their content (merged aliases too); other content, unknown paths and unread algorithms are refused', async (t) => {
  const tr = await rpmTree(t);
  writeRpmDb(tr.dbPath, [packageRow(RPM_BASH), packageRow(RPM_LEGACY), packageRow(RPM_STRONG)]);
  const before = await snapshot(dirname(tr.dbPath));
  const pv = vouchIn(tr.root);
  t.deepEqual(await pv.vouch('/usr/bin/bash', digests(BASH)), { vouched: true, manager: 'rpm', package: 'bash', version: '5.2.26-3.fc40', recordedPath: '/usr/bin/bash' });
  t.like(await pv.vouch('/bin/bash', digests(BASH)), { vouched: true, recordedPath: '/usr/bin/bash' });
  t.deepEqual(await pv.vouch('/usr/sbin/legacyd', digests('legacyd')), { vouched: true, manager: 'rpm', package: 'legacy', version: '2:1.0-1.el7', recordedPath: '/usr/sbin/legacyd' });
  const differs = await pv.vouch('/usr/bin/bash', digests(BASH_OLD));
  t.like(differs, { vouched: false, reason: 'digest-differs' });
  t.regex((differs as { detail: string }).detail, /bash 5\.2\.26-3\.fc40 \(rpm\) recorded \/usr\/bin\/bash with sha256 /);
  t.like(await pv.vouch('/usr/bin/zsh', digests('zsh')), { vouched: false, reason: 'not-owned' });
  t.like(await pv.vouch('/usr/bin/strong', digests('strong')), { vouched: false, reason: 'unsupported-digest' });
  t.like(await pv.vouch('/usr/bin/strong', { ...digests('strong'), sha512: createHash('sha512').update('strong').digest('hex') }), { vouched: true, package: 'strong' });
  t.deepEqual(await snapshot(dirname(tr.dbPath)), before, 'nothing was written beside the database (no -wal, no -shm, no journal)');
  t.true(pv.stats().rpmQueries >= 1);
});

test('rpm: commits rpm has not checkpointed yet (still in the write-ahead log) are seen, and reading them writes nothing', async (t) => {
  const tr = await rpmTree(t);
  const writer = openRpmDbWriter(tr.dbPath);
  t.teardown(() => { if (writer.open) writer.close(); });
  addRpmPackages(writer, [packageRow(RPM_LEGACY)]);
  writer.pragma('wal_checkpoint(TRUNCATE)');
  const pv = vouchIn(tr.root);
  t.like(await pv.vouch('/usr/bin/bash', digests(BASH)), { vouched: false, reason: 'not-owned' });
  // The upgrade transaction commits; rpm keeps the database open (and the commit in the log).
  addRpmPackages(writer, [packageRow(RPM_BASH)]);
  t.true(existsSync(`${tr.dbPath}-wal`) && (await stat(`${tr.dbPath}-wal`)).size > 0);
  const before = await snapshot(dirname(tr.dbPath));
  t.like(await pv.vouch('/usr/bin/bash', digests(BASH)), { vouched: true, package: 'bash' }, 'the cached "not owned" was dropped: the log changed');
  t.deepEqual(await snapshot(dirname(tr.dbPath)), before, 'the database, its log and its -shm are untouched');
});

test('rpm: a database that appears after "no database" was cached is read at the next question', async (t) => {
  const tr = await rpmTree(t);
  const pv = vouchIn(tr.root);
  t.like(await pv.vouch('/usr/bin/bash', digests(BASH)), { vouched: false, reason: 'no-database' });
  writeRpmDb(tr.dbPath, [packageRow(RPM_BASH)]);
  const later = new Date(Date.now() + 5_000);
  await utimes(dirname(tr.dbPath), later, later);
  t.like(await pv.vouch('/usr/bin/bash', digests(BASH)), { vouched: true, manager: 'rpm' });
  t.is(pv.stats().passes, 2);
});

test('rpm: a corrupt header is refused and counted; where it could be the owner the answer is unreadable', async (t) => {
  const tr = await rpmTree(t);
  const corrupt = Buffer.from(packageRow({ ...RPM_BASH, name: 'broken', files: [{ path: '/usr/bin/broken', digest: sha256('broken') }] }).blob);
  corrupt.writeUInt32BE(0xffff, 0); // too many index entries for its size
  writeRpmDb(tr.dbPath, [packageRow(RPM_BASH), { blob: corrupt, files: ['/usr/bin/broken'] }]);
  const pv = vouchIn(tr.root);
  t.like(await pv.vouch('/usr/bin/bash', digests(BASH)), { vouched: true }, 'the good package is read');
  const broken = await pv.vouch('/usr/bin/broken', digests('broken'));
  t.like(broken, { vouched: false, reason: 'unreadable' });
  t.regex((broken as { detail: string }).detail, /package header 2: size-mismatch/);
  t.is(pv.stats().truncated.rpmCorruptHeaders, 1);
});

test('rpm: without the Basenames index every header is read; a corrupt one makes "not owned" unreadable', async (t) => {
  const tr = await rpmTree(t);
  writeRpmDb(tr.dbPath, [packageRow(RPM_LEGACY), packageRow(RPM_BASH)], { basenamesIndex: false });
  const pv = vouchIn(tr.root);
  t.like(await pv.vouch('/usr/bin/bash', digests(BASH)), { vouched: true, package: 'bash' });
  t.is(pv.stats().rpmHeadersRead, 2);
  t.like(await pv.vouch('/usr/bin/zsh', digests('zsh')), { reason: 'not-owned' });
  const db = openRpmDbWriter(tr.dbPath, { basenamesIndex: false });
  addRpmPackages(db, [{ blob: Buffer.from('not a header') }], { basenamesIndex: false });
  db.close();
  t.like(await vouchIn(tr.root).vouch('/usr/bin/zsh', digests('zsh')), { reason: 'unreadable' });
  t.like(await vouchIn(tr.root, { limits: { rpm: { maxPackages: 1 } } }).vouch('/usr/bin/bash', digests(BASH)), { reason: 'incomplete' });
});

test('rpm: a file at the database path that is not SQLite, or one over the size limit, is unreadable', async (t) => {
  const tr = await rpmTree(t);
  await writeFile(tr.dbPath, 'SQLite? no: a text file where rpmdb.sqlite should be\n'.repeat(10));
  const notSqlite = await vouchIn(tr.root).vouch('/usr/bin/bash', digests(BASH));
  t.like(notSqlite, { vouched: false, reason: 'unreadable' });
  t.regex((notSqlite as { detail: string }).detail, /not an SQLite database/);
  await rm(tr.dbPath);
  writeRpmDb(tr.dbPath, [packageRow(RPM_BASH)]);
  const big = await vouchIn(tr.root, { limits: { rpm: { maxDbBytes: 4096 } } }).vouch('/usr/bin/bash', digests(BASH));
  t.like(big, { vouched: false, reason: 'unreadable' });
  t.regex((big as { detail: string }).detail, /over the 4096-byte limit/);
});

test('rpm: the BerkeleyDB and ndb backends are recognised and not read (no-database, naming the backend)', async (t) => {
  const bdb = await tree(t);
  await bdb.write('var/lib/rpm/Packages', Buffer.alloc(4096));
  const a = await vouchIn(bdb.root).vouch('/usr/bin/bash', digests(BASH));
  t.like(a, { vouched: false, reason: 'no-database' });
  t.regex((a as { detail: string }).detail, /\/var\/lib\/rpm\/Packages uses the BerkeleyDB backend, which is not read/);
  const ndb = await tree(t);
  await ndb.write('usr/lib/sysimage/rpm/Packages.db', Buffer.alloc(4096));
  const b = await vouchIn(ndb.root).vouch('/usr/bin/bash', digests(BASH));
  t.like(b, { vouched: false, reason: 'no-database' });
  t.regex((b as { detail: string }).detail, /uses the ndb backend/);
});

// ---- the verdict, as a pure function ----

test('property: content is vouched exactly when some record of a digest it was given matches', async (t) => {
  const hex = (n: number) => fc.stringMatching(new RegExp(`^[0-9a-f]{${n}}$`));
  const record = fc.record({
    manager: fc.constantFrom('dpkg' as const, 'rpm' as const), package: fc.constantFrom('a', 'b'), arch: fc.constant(null), version: fc.constant(null),
    path: fc.constant('/usr/bin/x'), algo: fc.constantFrom('md5', 'sha256', 'sha512', 'algo-77'), digest: fc.constantFrom('', '0'.repeat(32), '1'.repeat(64)),
  });
  const state = fc.constantFrom({ state: 'absent' as const }, { state: 'read' as const }, { state: 'unreadable' as const, detail: 'x' }, { state: 'incomplete' as const, detail: 'y' });
  await checkProperty(t, fc.property(fc.array(record, { maxLength: 4 }), state, state, fc.oneof(fc.constant('0'.repeat(32)), hex(32)), fc.oneof(fc.constant('1'.repeat(64)), hex(64)), (recorded, dpkg, rpm, m, s) => {
    const k: Knowledge = { recorded, dpkg, rpm, localDiversion: null };
    const v = judge(k, { md5: m, sha256: s });
    const should = recorded.some((r) => (r.algo === 'md5' && r.digest === m) || (r.algo === 'sha256' && r.digest === s));
    return v.vouched === should;
  }), 2000);
});

test('aliases: a merged top-level directory and its /usr twin; nothing else', (t) => {
  const merged = new Set(['bin', 'lib64']);
  t.deepEqual(pathAliases('/usr/bin/bash', merged), ['/usr/bin/bash', '/bin/bash']);
  t.deepEqual(pathAliases('/bin/bash', merged), ['/bin/bash', '/usr/bin/bash']);
  t.deepEqual(pathAliases('/lib64/ld-linux-x86-64.so.2', merged), ['/lib64/ld-linux-x86-64.so.2', '/usr/lib64/ld-linux-x86-64.so.2']);
  t.deepEqual(pathAliases('/usr/sbin/x', merged), ['/usr/sbin/x']);
  t.deepEqual(pathAliases('/usr/bin', merged), ['/usr/bin']);
  t.deepEqual(pathAliases('/usr/local/bin/x', merged), ['/usr/local/bin/x']);
});

// ---- this machine's own dpkg database ----

const BASH_PATH = existsSync('/usr/bin/bash') ? realpathSync('/usr/bin/bash') : '/usr/bin/bash';
const realDpkg = needs({
  what: "this machine's dpkg database recording bash",
  packages: ['bash'],
  check: () => existsSync('/var/lib/dpkg/info/bash.md5sums') || 'no /var/lib/dpkg/info/bash.md5sums (not a Debian host)',
});

realDpkg("the host's real bash is vouched by its real dpkg record, and a changed digest is not", async (t) => {
  const real = digests(readFileSync(BASH_PATH));
  const pv = createPackageVouch(createHostFs('/'));
  const v = await pv.vouch(BASH_PATH, real);
  t.like(v, { vouched: true, manager: 'dpkg', package: 'bash' });
  t.regex((v as { version?: string }).version ?? '', /^\d/, 'its version from /var/lib/dpkg/status');
  const flipped = { ...real, md5: real.md5.replace(/^./, (c) => (c === '0' ? '1' : '0')) };
  t.like(await pv.vouch(BASH_PATH, flipped), { vouched: false, reason: 'digest-differs' });
  t.is(pv.stats().passes, 1);
  t.is(pv.stats().cacheHits, 1);
});

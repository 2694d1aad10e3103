// What asking the package manager costs (agent/facts/package-vouch.ts), against the same
// reads done the plain way in the same run:
//   dpkg: one pass over this machine's /var/lib/dpkg/info for one path, and for 20 paths at
//         once, against reading every md5sums file with fs.readFile and searching it with
//         Buffer.indexOf (no host-fs, no parsing: the floor for the work);
//   rpm:  a query of a generated rpmdb.sqlite (2,000 packages of 50 files), read into memory
//         with its log, against better-sqlite3 opening the file in place (which a reader must
//         not do to a host's database: it writes -shm/-wal beside it);
//   a cache hit, per call.
import Database from 'better-sqlite3';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createHostFs } from '../agent/facts/host-fs.js';
import { createPackageVouch } from '../agent/facts/package-vouch.js';
import { parseRpmHeader, rpmFindFiles } from '../agent/facts/rpm-header.js';
import { packageRow, writeRpmDb } from '../test/helpers/rpm-header.js';

export interface PackageVouchBenchResult {
  readonly dpkg: { files: number; plainMs: number; onePathMs: number; twentyPathsMs: number } | null;
  readonly rpm: { packages: number; dbBytes: number; inPlaceMs: number; inMemoryMs: number };
  readonly cacheHitUs: number;
}

const DIGESTS = { md5: '0'.repeat(32), sha256: '0'.repeat(64) };
const PATHS = ['/usr/bin/bash', '/usr/bin/ls', '/usr/bin/cat', '/usr/bin/dash', '/usr/bin/env', '/usr/bin/find', '/usr/bin/grep', '/usr/bin/sed',
  '/usr/bin/tar', '/usr/bin/gzip', '/usr/bin/perl', '/usr/bin/python3', '/usr/sbin/ldconfig', '/usr/bin/node', '/usr/bin/git', '/usr/bin/ssh',
  '/usr/bin/curl', '/usr/bin/make', '/usr/bin/gcc', '/usr/local/bin/not-a-package'];

async function ms(fn: () => Promise<unknown>): Promise<number> {
  const t0 = process.hrtime.bigint();
  await fn();
  return Number(process.hrtime.bigint() - t0) / 1e6;
}

/** The best of `n` runs: the machine is shared, and the floor is what the code costs. */
async function best(n: number, fn: () => Promise<unknown>): Promise<number> {
  let min = Infinity;
  for (let i = 0; i < n; i++) min = Math.min(min, await ms(fn));
  return min;
}

async function benchDpkg(rounds: number): Promise<PackageVouchBenchResult['dpkg']> {
  const info = '/var/lib/dpkg/info';
  if (!existsSync(info)) return null;
  const names = (await readdir(info)).filter((n) => n.endsWith('.md5sums'));
  const needle = Buffer.from('bin/bash');
  const plainMs = await best(rounds, async () => {
    for (const n of names) (await readFile(join(info, n))).indexOf(needle);
  });
  const hostFs = createHostFs('/');
  const onePathMs = await best(rounds, () => createPackageVouch(hostFs).vouch('/usr/bin/not-in-any-package', DIGESTS));
  const twentyPathsMs = await best(rounds, () => {
    const pv = createPackageVouch(hostFs);
    return Promise.all(PATHS.map((p) => pv.vouch(p, DIGESTS)));
  });
  return { files: names.length, plainMs, onePathMs, twentyPathsMs };
}

async function benchRpm(rounds: number): Promise<PackageVouchBenchResult['rpm']> {
  const dir = await mkdtemp(join(tmpdir(), 'nodeward-bench-rpm-'));
  try {
    const root = join(dir, 'host');
    await mkdir(join(root, 'var/lib/rpm'), { recursive: true });
    const dbPath = join(root, 'var/lib/rpm/rpmdb.sqlite');
    const packages = 2000;
    const rows = Array.from({ length: packages }, (_, i) => packageRow({
      name: `pkg${i}`, version: '1.0', release: '1', algo: 8,
      files: Array.from({ length: 50 }, (_, j) => ({ path: `/usr/lib/pkg${i}/file${j}`, digest: createHash('sha256').update(`${i}/${j}`).digest('hex') })),
    }));
    writeRpmDb(dbPath, rows);
    const wanted = '/usr/lib/pkg1234/file7';
    const inPlaceMs = await best(rounds, async () => {
      const db = new Database(dbPath, { readonly: true, fileMustExist: true });
      try {
        for (const { hnum } of db.prepare('SELECT hnum FROM Basenames WHERE key = ?').all('file7') as Array<{ hnum: number }>) {
          const h = parseRpmHeader(db.prepare('SELECT blob FROM Packages WHERE hnum = ?').pluck().get(hnum) as Buffer);
          if (h.ok) rpmFindFiles(h.value, new Set([wanted]));
        }
      } finally {
        db.close();
      }
    });
    // Remove what the in-place reader left beside the database, so the agent's read is the same.
    await rm(`${dbPath}-wal`, { force: true });
    await rm(`${dbPath}-shm`, { force: true });
    const hostFs = createHostFs(root);
    const inMemoryMs = await best(rounds, () => createPackageVouch(hostFs).vouch(wanted, DIGESTS));
    return { packages, dbBytes: (await readFile(dbPath)).length, inPlaceMs, inMemoryMs };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

export async function benchPackageVouch(o: { rounds: number; hits: number }): Promise<PackageVouchBenchResult> {
  const dpkg = await benchDpkg(o.rounds);
  const rpm = await benchRpm(o.rounds);
  const pv = createPackageVouch(createHostFs('/'));
  await pv.vouch('/usr/bin/bash', DIGESTS);
  const hitMs = await ms(async () => {
    for (let i = 0; i < o.hits; i++) await pv.vouch('/usr/bin/bash', DIGESTS);
  });
  return { dpkg, rpm, cacheHitUs: (hitMs * 1000) / o.hits };
}

export function formatPackageVouchBench(r: PackageVouchBenchResult): string {
  const f = (n: number): string => `${n.toFixed(1)} ms`;
  return [
    'package vouch: is new content at a path what the package manager recorded? (best of the rounds)',
    r.dpkg
      ? [
          `  dpkg, ${r.dpkg.files} md5sums files: plain fs.readFile + indexOf of each (baseline) ${f(r.dpkg.plainMs)}`,
          `    one path, a full pass through host-fs: ${f(r.dpkg.onePathMs)} (ratio ${(r.dpkg.onePathMs / r.dpkg.plainMs).toFixed(2)})`,
          `    20 paths in one pass: ${f(r.dpkg.twentyPathsMs)} (ratio ${(r.dpkg.twentyPathsMs / r.dpkg.plainMs).toFixed(2)}; ${(r.dpkg.twentyPathsMs / r.dpkg.onePathMs).toFixed(2)}x one path)`,
        ].join('\n')
      : '  dpkg: no /var/lib/dpkg/info on this machine',
    `  rpm, ${r.rpm.packages} packages (${(r.rpm.dbBytes / 1024 / 1024).toFixed(1)} MiB): opened in place, read-only (baseline; writes -shm/-wal) ${f(r.rpm.inPlaceMs)}`,
    `    read into memory with its log (shipped): ${f(r.rpm.inMemoryMs)} (ratio ${(r.rpm.inMemoryMs / r.rpm.inPlaceMs).toFixed(2)})`,
    `  a cache hit (stat of what the answer came from): ${r.cacheHitUs.toFixed(0)} us per call`,
    '',
  ].join('\n');
}

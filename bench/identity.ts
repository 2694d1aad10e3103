// Executable identity (agent/processes/identity.ts): what judging a process by its content
// costs per exec. Three cases, each against a baseline measured in the same run:
//   new version   a file version not seen before is opened through the running process's
//                 /proc/<pid>/exe and hashed (SHA-256 and MD5 in one pass); baseline: reading
//                 the same file with readFile and hashing it the same way.
//   cached        the same version again, known by the identity the kernel recorded at the exec
//                 (no file opened): the cost every exec of a known binary pays.
//   large         a 100 MiB executable's first sight: read once, a chunk at a time.
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { statSync } from 'node:fs';
import { chmod, copyFile, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createHostFs, identityOf } from '../agent/facts/host-fs.js';
import { createIdentityHasher } from '../agent/processes/identity.js';
import { createProcReader } from '../agent/processes/proc-reader.js';

export interface IdentityBenchOptions {
  readonly rounds: number;
  readonly cachedLookups: number;
}

export interface IdentityBenchResult {
  readonly fileBytes: number;
  readonly newVersionMs: number;
  readonly readFileHashMs: number;
  readonly cachedUs: number;
  readonly largeMs: number;
  readonly largeReadFileHashMs: number;
}

function hashBoth(b: Buffer): void {
  createHash('sha256').update(b).digest('hex');
  createHash('md5').update(b).digest('hex');
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;

export async function benchIdentity(o: IdentityBenchOptions): Promise<IdentityBenchResult> {
  const dir = await mkdtemp(join(tmpdir(), 'nodeward-bench-identity-'));
  const reader = createProcReader('/proc');
  const opts = {
    procRoot: '/proc', hostFs: createHostFs('/'), maxBytes: 512 * 1024 * 1024, maxEntries: 16_384, maxQueue: 1024,
    startTicksOf: (pid: number) => reader.readStat(pid)?.startTicks ?? null,
  };
  const child = spawn('/usr/bin/sleep', ['60'], { stdio: 'ignore' });
  await new Promise((r) => child.once('spawn', r));
  try {
    await new Promise((r) => setTimeout(r, 50));
    const pid = child.pid as number;
    const ticks = reader.readStat(pid)?.startTicks ?? -1;
    const fresh: number[] = [];
    const plain: number[] = [];
    let cachedUs = 0;
    for (let i = 0; i < o.rounds; i++) {
      const h = createIdentityHasher(opts);
      let t = performance.now();
      const r = await h.digestsOf({ pid, startTicks: ticks, path: '/usr/bin/sleep', exec: null, overlay: false, hostPrefix: '' });
      fresh.push(performance.now() - t);
      if (!r.ok) throw new Error(`hashing failed: ${r.reason}`);
      t = performance.now();
      hashBoth(await readFile('/usr/bin/sleep'));
      plain.push(performance.now() - t);
      const exec = r.identity;
      t = performance.now();
      for (let j = 0; j < o.cachedLookups; j++) await h.digestsOf({ pid, startTicks: ticks, path: '/usr/bin/sleep', exec, overlay: false, hostPrefix: '' });
      cachedUs = ((performance.now() - t) * 1000) / o.cachedLookups;
    }
    // A large binary seen once: through the host path (the process is gone), as a short-lived one would be.
    const big = join(dir, 'big');
    await copyFile('/usr/bin/sleep', big);
    await writeFile(big, Buffer.alloc(100 * 1024 * 1024, 7), { flag: 'a' });
    await chmod(big, 0o755);
    const bigId = identityOf(statSync(big, { bigint: true }));
    let t = performance.now();
    const r = await createIdentityHasher(opts).digestsOf({ pid: 4_000_000, startTicks: 1, path: big, exec: bigId, overlay: false, hostPrefix: '' });
    const largeMs = performance.now() - t;
    if (!r.ok) throw new Error(`hashing the large file failed: ${r.reason}`);
    t = performance.now();
    hashBoth(await readFile(big));
    const largeReadFileHashMs = performance.now() - t;
    return {
      fileBytes: statSync('/usr/bin/sleep').size, newVersionMs: median(fresh), readFileHashMs: median(plain), cachedUs, largeMs, largeReadFileHashMs,
    };
  } finally {
    child.kill('SIGKILL');
    await rm(dir, { recursive: true, force: true });
  }
}

export function formatIdentityBench(r: IdentityBenchResult): string {
  return [
    'executable identity: hashing what ran (SHA-256 + MD5), per exec',
    `  new version of a ${(r.fileBytes / 1024).toFixed(0)} KiB binary via /proc/<pid>/exe: ${r.newVersionMs.toFixed(2)} ms; baseline readFile + hash ${r.readFileHashMs.toFixed(2)} ms; ratio ${(r.newVersionMs / r.readFileHashMs).toFixed(2)}`,
    `  cached version (identity from the kernel, no file opened): ${r.cachedUs.toFixed(2)} µs per exec; ratio to a new version ${(r.cachedUs / 1000 / r.newVersionMs).toFixed(4)}`,
    `  100 MiB binary seen once (chunked, host path): ${r.largeMs.toFixed(0)} ms; baseline readFile + hash ${r.largeReadFileHashMs.toFixed(0)} ms; ratio ${(r.largeMs / r.largeReadFileHashMs).toFixed(2)}`,
    '',
  ].join('\n');
}

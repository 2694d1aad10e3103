// The executable identity hasher (agent/processes/identity.ts) on real files and real
// processes: digests match what the file holds, a version is hashed once, a process's file is
// read through /proc/<pid>/exe (so a rename or delete after the exec changes nothing), a gone
// process falls back to the host path only when the file there is the version executed, and
// every failure is a counted reason, never a digest.
import test from 'ava';
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, copyFileSync, readFileSync, renameSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createHostFs, identityOf, type FileIdentity } from '../../agent/facts/host-fs.js';
import { createIdentityHasher, identityKey, type IdentityRequest } from '../../agent/processes/identity.js';
import { createProcReader } from '../../agent/processes/proc-reader.js';
import { tempDir as makeTemp } from './helpers.js';
import type { ExecutionContext } from 'ava';

async function tempDir(t: ExecutionContext): Promise<string> {
  const d = await makeTemp('identity');
  t.teardown(() => d.cleanup());
  return d.path;
}

const SLEEP = '/usr/bin/sleep';

function sums(path: string): { sha256: string; md5: string } {
  const b = readFileSync(path);
  return { sha256: createHash('sha256').update(b).digest('hex'), md5: createHash('md5').update(b).digest('hex') };
}

function identity(path: string): FileIdentity {
  return identityOf(statSync(path, { bigint: true }));
}

function hasher(hostRoot = '/', over: Partial<Parameters<typeof createIdentityHasher>[0]> = {}) {
  const reader = createProcReader('/proc');
  return createIdentityHasher({
    procRoot: '/proc', hostFs: createHostFs(hostRoot), maxBytes: 64 * 1024 * 1024, maxEntries: 64, maxQueue: 16,
    startTicksOf: (pid) => reader.readStat(pid)?.startTicks ?? null, ...over,
  });
}

function request(pid: number, path: string, over: Partial<IdentityRequest> = {}): IdentityRequest {
  const reader = createProcReader('/proc');
  return { pid, startTicks: reader.readStat(pid)?.startTicks ?? -1, path, exec: null, overlay: false, hostPrefix: '', ...over };
}

async function withProcess<T>(bin: string, fn: (pid: number) => Promise<T>): Promise<T> {
  const child = spawn(bin, ['30'], { stdio: 'ignore' });
  await new Promise((resolve) => child.once('spawn', resolve));
  // Wait for the exec to be done: the exe link names the binary.
  for (let i = 0; i < 200; i++) {
    try {
      if (readFileSync(`/proc/${child.pid}/cmdline`, 'latin1').startsWith(bin)) break;
    } catch {
      // not yet
    }
    await new Promise((r) => setTimeout(r, 5));
  }
  try {
    return await fn(child.pid as number);
  } finally {
    child.kill('SIGKILL');
  }
}

test('a running process: the digests are those of the file it executed, read through /proc/<pid>/exe, and a second ask is a cache hit', async (t) => {
  const h = hasher();
  await withProcess(SLEEP, async (pid) => {
    const first = await h.digestsOf(request(pid, SLEEP));
    t.true(first.ok);
    if (!first.ok) return;
    t.deepEqual(first.digests, sums(SLEEP));
    t.false(first.cached);
    const exec = identity(SLEEP);
    const second = await h.digestsOf(request(pid, SLEEP, { exec }));
    t.true(second.ok && second.cached);
    t.is(h.stats().hashed, 1);
    t.is(h.stats().cacheHits, 1);
  });
});

test('the file is the one executed: renamed away and replaced after the exec, the running content is still what is hashed', async (t) => {
  const dir = await tempDir(t);
  const bin = join(dir, 'prog');
  copyFileSync(SLEEP, bin);
  chmodSync(bin, 0o755);
  const original = sums(bin);
  await withProcess(bin, async (pid) => {
    renameSync(bin, `${bin}.old`);
    writeFileSync(bin, '#!/bin/false\nnot the program\n', { mode: 0o755 });
    const r = await hasher().digestsOf(request(pid, bin));
    t.true(r.ok);
    if (r.ok) t.is(r.digests.sha256, original.sha256);
  });
});

test('a deleted executable of a live process is still hashed, and its link count says it is deleted', async (t) => {
  const dir = await tempDir(t);
  const bin = join(dir, 'gone');
  copyFileSync(SLEEP, bin);
  chmodSync(bin, 0o755);
  await withProcess(bin, async (pid) => {
    unlinkSync(bin);
    const r = await hasher().digestsOf(request(pid, bin));
    t.true(r.ok);
    if (!r.ok) return;
    t.is(r.identity.nlink, 0);
    t.is(r.digests.sha256, sums(SLEEP).sha256);
  });
});

test('a process already gone: the host path is hashed only when it is the version executed, and only for a process in the host mount namespace', async (t) => {
  const dir = await tempDir(t);
  const bin = join(dir, 'short');
  copyFileSync(SLEEP, bin);
  const exec = identity(bin);
  const gonePid = 4_000_000; // above pid_max: never a live process
  const h = hasher();
  const same = await h.digestsOf({ pid: gonePid, startTicks: 1, path: bin, exec, overlay: false, hostPrefix: '' });
  t.true(same.ok);
  if (same.ok) t.is(same.digests.sha256, sums(bin).sha256);

  // Overwritten in place since the exec: a new version (size and ctime differ).
  writeFileSync(bin, Buffer.concat([readFileSync(SLEEP), Buffer.from('tail')]));
  const changed = await hasher().digestsOf({ pid: gonePid, startTicks: 1, path: bin, exec, overlay: false, hostPrefix: '' });
  t.deepEqual(changed.ok ? 'ok' : changed.reason, 'changed');

  // Another mount namespace's process: its path means nothing on the host.
  const elsewhere = await hasher().digestsOf({ pid: gonePid, startTicks: 1, path: bin, exec: identity(bin), overlay: false, hostPrefix: null });
  t.deepEqual(elsewhere.ok ? 'ok' : elsewhere.reason, 'gone');
});

test('a reused pid is not taken for the process judged', async (t) => {
  await withProcess(SLEEP, async (pid) => {
    const r = await hasher().digestsOf({ pid, startTicks: 1, path: '/nonexistent/path', exec: null, overlay: false, hostPrefix: '' });
    t.false(r.ok);
    if (!r.ok) t.is(r.reason, 'gone');
  });
});

test('limits: a file above maxBytes is too-large and a full queue answers busy; both are counted, never a digest', async (t) => {
  const small = hasher('/', { maxBytes: 1024 });
  await withProcess(SLEEP, async (pid) => {
    const r = await small.digestsOf(request(pid, SLEEP));
    t.deepEqual(r.ok ? 'ok' : r.reason, 'too-large');
    t.is(small.stats().failed['too-large'], 1);
  });
  const dir = await tempDir(t);
  const files = Array.from({ length: 8 }, (_, i) => {
    const p = join(dir, `f${i}`);
    writeFileSync(p, Buffer.alloc(4 << 20, i));
    return p;
  });
  const tight = hasher('/', { maxQueue: 1 });
  const results = await Promise.all(files.map((p) => tight.digestsOf({ pid: 4_000_000, startTicks: 1, path: p, exec: identity(p), overlay: false, hostPrefix: '' })));
  const busy = results.filter((r) => !r.ok && r.reason === 'busy').length;
  t.true(busy > 0, 'some were refused');
  t.is(results.filter((r) => r.ok).length + busy, files.length);
  t.is(tight.stats().failed.busy, busy);
});

test('the host path is read inside the host root: a link out of it is not followed', async (t) => {
  const root = await tempDir(t);
  const outside = join(await tempDir(t), 'secret');
  writeFileSync(outside, 'outside the root');
  const { symlinkSync, mkdirSync } = await import('node:fs');
  mkdirSync(join(root, 'usr/bin'), { recursive: true });
  symlinkSync(outside, join(root, 'usr/bin/tool'));
  const r = await hasher(root).digestsOf({ pid: 4_000_000, startTicks: 1, path: '/usr/bin/tool', exec: identity(outside), overlay: false, hostPrefix: '' });
  t.false(r.ok, 'the file outside the root is never hashed');
});

test('identity keys: an overlay file is known without its device, any other file with it', (t) => {
  const id: FileIdentity = { dev: 51, ino: 7, size: 10, mtimeNs: '1', ctimeNs: '2', mode: 0o100755, nlink: 1 };
  t.is(identityKey(id, true), identityKey({ ...id, dev: 99 }, true));
  t.not(identityKey(id, false), identityKey({ ...id, dev: 99 }, false));
  t.not(identityKey(id, false), identityKey({ ...id, ctimeNs: '3' }, false));
});

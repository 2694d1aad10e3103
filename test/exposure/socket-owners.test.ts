// The descriptor walk that finds who holds each socket (agent/exposure/socket-owners.ts): its
// bounds, each counted when hit; the lowest pid winning a shared socket; links never followed
// out of the proc root; and the native reader (native/src/fd_sockets.cc) giving the JavaScript
// reader's answer on generated trees, hostile links included.
import test from 'ava';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  fdSocketReader, findSocketOwners, listPidDirs, readFdSocketsJs, WALK_BATCH, type FdSocketReader, type FdSockets,
} from '../../agent/exposure/socket-owners.js';
import { checkProperty, fc } from '../helpers/property.js';
import { needs } from '../helpers/requirements.js';
import { ADDON_PATH, loadAddon } from '../../agent/processes/native-addon.js';
import { MAX_CGROUP_BYTES } from '../../agent/processes/proc-reader.js';

interface PidSpec {
  readonly pid: number;
  /** Link targets, one per descriptor (fd numbers 0..n-1). */
  readonly links: readonly string[];
  readonly exe?: string;
  readonly cgroup?: string;
}

function tree(pids: readonly PidSpec[]): string {
  const root = mkdtempSync(join(tmpdir(), 'nodeward-fdwalk-'));
  for (const p of pids) {
    const dir = join(root, String(p.pid));
    mkdirSync(join(dir, 'fd'), { recursive: true });
    p.links.forEach((target, fd) => symlinkSync(target, join(dir, 'fd', String(fd))));
    if (p.exe !== undefined) symlinkSync(p.exe, join(dir, 'exe'));
    if (p.cgroup !== undefined) writeFileSync(join(dir, 'cgroup'), p.cgroup, 'latin1');
  }
  return root;
}

const socket = (inode: number): string => `socket:[${inode}]`;
const native = fdSocketReader();
const nativeTest = needs({
  what: 'the native fd walk (the nodeward_proc addon)', packages: ['build-essential', 'python3'],
  check: () => native.native || 'native/build/Release/nodeward_proc.node is not built or has no fdSockets (npm run build:native)',
});

const walk = (root: string, wanted: readonly number[], opts: Parameters<typeof findSocketOwners>[3] = {}) =>
  findSocketOwners(root, listPidDirs(root), () => new Set(wanted), opts);

for (const [name, read] of [['JavaScript', readFdSocketsJs], ['native', native.read]] as const) {
  const declare = name === 'native' ? nativeTest : test;

  declare(`${name} reader: each wanted socket is owned by the lowest pid holding it; files and other links pass`, async (t) => {
    const root = tree([
      { pid: 300, links: [socket(7), '/var/log/x.log'] },
      { pid: 20, links: ['pipe:[5]', socket(7), socket(8), 'anon_inode:[eventfd]'] },
      { pid: 5, links: [socket(9), 'socket:[abc]', 'socket:[10', 'socket:[]', `socket:[${'9'.repeat(25)}]`] },
    ]);
    try {
      const w = await walk(root, [7, 8, 9, 10, 11], { read });
      t.deepEqual([...w.owners].sort((a, b) => a[0] - b[0]), [[7, 20], [8, 20], [9, 5]]);
      t.is(w.pidsWalked, 3);
      t.deepEqual([w.unreadable, w.fdLimitHits, w.pidLimitHit, w.timeLimitHit], [0, 0, false, false]);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });

  declare(`${name} reader: a socket's holder has its exe link and cgroup read in the same pass; other processes do not`, async (t) => {
    const long = `${'0::/kubepods.slice/x.scope\n'.repeat(Math.ceil(MAX_CGROUP_BYTES / 27) + 5)}`;
    const root = tree([
      { pid: 2, links: [socket(1)], exe: '/usr/bin/etcd (deleted)', cgroup: '0::/system.slice/etcd.service\n' },
      { pid: 3, links: ['/dev/null'], exe: '/usr/bin/cat', cgroup: '0::/\n' },
      { pid: 4, links: [socket(2)] },
      { pid: 5, links: [socket(3)], exe: '/x', cgroup: long },
      { pid: 6, links: [socket(4)], exe: '/y' },
    ]);
    execFileSync('mkfifo', [join(root, '6', 'cgroup')]);
    try {
      const [holder, other, bare, longCg, fifo] = await read(root, [2, 3, 4, 5, 6], 100);
      t.like(holder, { inodes: [1], holder: { exe: '/usr/bin/etcd (deleted)', cgroup: '0::/system.slice/etcd.service\n' } });
      t.like(other, { inodes: [], holder: null });
      t.like(bare, { inodes: [2], holder: { exe: null, cgroup: null } });
      const cut = (longCg as { holder: { cgroup: string } }).holder.cgroup;
      t.true(cut.length <= MAX_CGROUP_BYTES && cut.length > MAX_CGROUP_BYTES - 27 && cut.endsWith('\n'), `cut after its last full line (${cut.length} bytes)`);
      // A FIFO where the cgroup file should be is read without blocking: empty, never a hang.
      t.like(fifo, { inodes: [4], holder: { exe: '/y', cgroup: '' } });
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });

  declare(`${name} reader: every bound is counted when hit`, async (t) => {
    const pids: PidSpec[] = Array.from({ length: 3 * WALK_BATCH }, (_, i) => ({ pid: 100 + i, links: [socket(1000 + i), socket(5000 + i), socket(9000 + i)] }));
    const root = tree(pids);
    try {
      const all = pids.map((p) => 1000 + p.pid - 100);
      const fdCut = await walk(root, [...all, ...pids.map((p) => 9000 + p.pid - 100)], { read, limits: { maxPids: 1_000, maxFdsPerPid: 2, budgetMs: 60_000 } });
      t.is(fdCut.fdLimitHits, pids.length, 'each process had a descriptor past the bound');
      // Two of each process's three descriptors are read: at least one of its two wanted sockets.
      t.true(fdCut.owners.size >= pids.length, `${fdCut.owners.size} owners`);

      const pidCut = await walk(root, all, { read, limits: { maxPids: WALK_BATCH + 3, maxFdsPerPid: 100, budgetMs: 60_000 } });
      t.true(pidCut.pidLimitHit);
      t.is(pidCut.pidsWalked, WALK_BATCH + 3);
      t.is(pidCut.owners.size, WALK_BATCH + 3);

      // The clock moves 10 ms each time it is read: past the 25 ms budget before the third batch.
      let now = 0;
      const timeCut = await walk(root, all, { read, clock: () => (now += 10), limits: { maxPids: 1_000, maxFdsPerPid: 100, budgetMs: 25 } });
      t.true(timeCut.timeLimitHit);
      t.is(timeCut.pidsWalked, 2 * WALK_BATCH);
      t.false(timeCut.pidLimitHit);

      const full = await walk(root, all, { read });
      t.is(full.owners.size, all.length);
      t.deepEqual([full.pidLimitHit, full.timeLimitHit, full.fdLimitHits], [false, false, 0]);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });

  declare(`${name} reader: the walk stops once every wanted socket has its owner`, async (t) => {
    const pids: PidSpec[] = Array.from({ length: 4 * WALK_BATCH }, (_, i) => ({ pid: 10 + i, links: [socket(10 + i)] }));
    const root = tree(pids);
    try {
      const w = await walk(root, [11], { read });
      t.deepEqual([...w.owners], [[11, 11]]);
      t.is(w.pidsWalked, WALK_BATCH, 'only the first batch was taken');
      const none = await walk(root, [], { read });
      t.is(none.owners.size, 0);
      t.is(none.pidsWalked, 0, 'nothing wanted: no batch is taken');
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });

  declare(`${name} reader: a link in place of a pid or fd directory is refused, never followed`, async (t) => {
    const outside = tree([{ pid: 1, links: [socket(42)] }]);
    const root = tree([{ pid: 7, links: [socket(1)] }]);
    try {
      // /proc/8 -> a directory outside the root; /proc/9/fd -> outside's fd directory.
      symlinkSync(join(outside, '1'), join(root, '8'));
      mkdirSync(join(root, '9'));
      symlinkSync(join(outside, '1', 'fd'), join(root, '9', 'fd'));
      const [linkedPid, linkedFd, missing] = await read(root, [8, 9, 10], 100);
      for (const r of [linkedPid, linkedFd, missing]) t.true(r !== undefined && 'error' in r, JSON.stringify(r));
      t.not((linkedFd as { error: string }).error, '', 'the refusal says why');
      // listPidDirs never offers the linked pid directory; the fd link is unreadable.
      t.deepEqual(listPidDirs(root), [7, 9]);
      const w = await walk(root, [1, 42], { read });
      t.deepEqual([...w.owners], [[1, 7]]);
      t.is(w.unreadable, 1);
    } finally {
      rmSync(root, { recursive: true, force: true });
      rmSync(outside, { recursive: true, force: true });
    }
  });
}

test('a reader that fails a batch makes its pids unreadable; the walk goes on', async (t) => {
  const root = tree(Array.from({ length: 2 * WALK_BATCH }, (_, i) => ({ pid: 1 + i, links: [socket(1 + i)] })));
  try {
    let calls = 0;
    const flaky: FdSocketReader = (procRoot, pids, maxFds) => (++calls === 1 ? Promise.reject(new Error('EIO')) : readFdSocketsJs(procRoot, pids, maxFds));
    const w = await walk(root, Array.from({ length: 2 * WALK_BATCH }, (_, i) => 1 + i), { read: flaky });
    t.is(w.unreadable, WALK_BATCH);
    t.is(w.owners.size, WALK_BATCH);
    t.is(w.owners.get(WALK_BATCH + 1), WALK_BATCH + 1);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test('without the addon the JavaScript reader is used, and says so', (t) => {
  const r = fdSocketReader('/nonexistent/nodeward_proc.node');
  t.false(r.native);
  t.is(r.read, readFdSocketsJs);
});

nativeTest('the native reader refuses bad arguments with a TypeError instead of reading', (t) => {
  const loaded = loadAddon<{ fdSockets: (...args: unknown[]) => unknown }>(ADDON_PATH, 'fd walk', 'fdSockets');
  if ('error' in loaded) return t.fail(loaded.error.reason);
  const { fdSockets } = loaded.addon;
  t.true(fdSockets('/proc', [1], 10, 100) instanceof Promise, 'good arguments are taken');
  for (const args of [['', [1], 10, 100], ['/proc', [0], 10, 100], ['/proc', [1.5], 10, 100], ['/proc', 'x', 10, 100], ['/proc', [1], -1, 100],
    ['/pr\0oc', [1], 10, 100], ['/proc', Array(5000).fill(1), 10, 100], ['/proc', [1], 10, 0], ['/proc', [1], 10]]) {
    t.throws(() => fdSockets(...args), { instanceOf: TypeError }, JSON.stringify(args).slice(0, 80));
  }
});

nativeTest('the native reader and the JavaScript reader agree on generated trees, hostile links included', async (t) => {
  const target = fc.oneof(
    fc.nat({ max: 2 ** 40 }).map(socket),
    fc.constantFrom('socket:[]', 'socket:[12', 'socket:[1]x', 'Socket:[1]', 'socket:[-1]', `socket:[${'9'.repeat(21)}]`, `socket:[${2 ** 53}]`, 'pipe:[3]', '/dev/null', 'x'.repeat(200)),
    fc.string({ minLength: 1, maxLength: 80 }).filter((s) => !s.includes('\0')),
  );
  const text = fc.string({ maxLength: 300 }).filter((s) => !s.includes('\0'));
  const spec = fc.uniqueArray(fc.record({
    pid: fc.integer({ min: 1, max: 5_000 }), links: fc.array(target, { maxLength: 12 }),
    exe: fc.option(fc.string({ minLength: 1, maxLength: 120 }).filter((s) => !s.includes('\0')), { nil: undefined }),
    cgroup: fc.option(text, { nil: undefined }),
  }), { selector: (p) => p.pid, maxLength: 6 });
  await checkProperty(t, fc.asyncProperty(spec, fc.integer({ min: 0, max: 14 }), async (pids, maxFds) => {
    const root = tree(pids);
    try {
      const ask = [...pids.map((p) => p.pid), 99_999];
      const [js, nat] = await Promise.all([readFdSocketsJs(root, ask, maxFds), native.read(root, ask, maxFds)]);
      for (let i = 0; i < ask.length; i++) {
        const a = js[i] as FdSockets;
        const b = nat[i] as FdSockets;
        if ('error' in a || 'error' in b) {
          if (!('error' in a && 'error' in b)) return false;
          continue;
        }
        if (a.fds !== b.fds || a.cut !== b.cut) return false;
        if (!a.cut && JSON.stringify(a.holder) !== JSON.stringify(b.holder)) return false;
        // A cut reads the first descriptors in each reader's order (sorted, or the directory's): the same number of them.
        const same = a.cut ? a.inodes.length <= a.fds && b.inodes.length <= b.fds : JSON.stringify([...a.inodes].sort()) === JSON.stringify([...b.inodes].sort());
        if (!same) return false;
      }
      return true;
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  }), 60);
});

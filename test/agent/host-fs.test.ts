import test from 'ava';
import { execFileSync } from 'node:child_process';
import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createHostFs, DEFAULT_MAX_BYTES } from '../../agent/facts/host-fs.js';
import { prepareFixture } from '../helpers/fixture.js';

/** base/canary.txt is OUTSIDE the root base/host; links inside the root try to reach it. */
async function escapeTree(): Promise<{ base: string; root: string; canary: string; cleanup: () => Promise<void> }> {
  const base = await mkdtemp(join(tmpdir(), 'nodeward-hostfs-'));
  const root = join(base, 'host');
  const canary = `CANARY-${Math.random().toString(36).slice(2)}`;
  await writeFile(join(base, 'canary.txt'), canary);
  await mkdir(join(root, 'etc', 'deep'), { recursive: true });
  await symlink('../../../../../../../../canary.txt', join(root, 'etc', 'rel-escape'));
  await symlink(join(base, 'canary.txt'), join(root, 'etc', 'abs-escape'));
  await symlink('../../..', join(root, 'etc', 'deep', 'up'));
  await symlink(base, join(root, 'etc', 'base-dir'));
  return { base, root, canary, cleanup: () => rm(base, { recursive: true, force: true }) };
}

test('an absolute link target is resolved from the host root', async (t) => {
  const fx = await prepareFixture('insecure-worker');
  t.teardown(fx.cleanup);
  const fs = createHostFs(fx.root);
  const r = await fs.resolve('/var/lib/kubelet/pki/kubelet-client-current.pem');
  if (!r.ok) return t.fail(r.error.message);
  t.is(r.value.path, '/var/lib/kubelet/pki/kubelet-client-2026.pem');
  t.is(r.value.diskPath, join(fx.root, 'var/lib/kubelet/pki/kubelet-client-2026.pem'));
  const content = await fs.readFile('/var/lib/kubelet/pki/kubelet-client-current.pem');
  t.true(content.ok && content.value.toString().startsWith('placeholder'));
});

test('stat follows the link to its target; lstat and readlink describe the link itself', async (t) => {
  const fx = await prepareFixture('insecure-worker');
  t.teardown(fx.cleanup);
  const fs = createHostFs(fx.root);
  const st = await fs.stat('/etc/kubernetes/kubelet.conf');
  const lst = await fs.lstat('/etc/kubernetes/kubelet.conf');
  const link = await fs.readlink('/etc/kubernetes/kubelet.conf');
  if (!st.ok || !lst.ok || !link.ok) return t.fail('expected all three to succeed');
  t.is(st.value.type, 'file');
  t.is(st.value.path, '/etc/kubernetes/real/kubelet.conf');
  t.is(st.value.mode, 0o644);
  t.is(lst.value.type, 'symlink');
  t.is(link.value, '/etc/kubernetes/real/kubelet.conf');
});

test('links and .. cannot read a canary file outside the root', async (t) => {
  const tree = await escapeTree();
  t.teardown(tree.cleanup);
  const fs = createHostFs(tree.root);
  const attempts = [
    '/../canary.txt',
    '/../../../../canary.txt',
    '/etc/../../canary.txt',
    '/etc/rel-escape',
    '/etc/abs-escape',
    '/etc/deep/up/canary.txt',
    '/etc/deep/up/../canary.txt',
    '/etc/base-dir/canary.txt',
  ];
  for (const p of attempts) {
    const r = await fs.readFile(p);
    t.false(r.ok && r.value.toString().includes(tree.canary), `${p} leaked the canary`);
    t.false(r.ok, `${p} should not resolve to any file`);
    if (!r.ok) t.is(r.error.code, 'ENOENT', p);
  }
  const listing = await fs.readdir('/../..');
  t.true(listing.ok);
  if (listing.ok) t.deepEqual(listing.value, ['etc']);
});

test('an absolute escape lands inside the root, where a file of the same path is what gets read', async (t) => {
  const tree = await escapeTree();
  t.teardown(tree.cleanup);
  const inside = join(tree.root, tree.base, 'canary.txt');
  await mkdir(join(tree.root, tree.base), { recursive: true });
  await writeFile(inside, 'inside the root');
  const r = await createHostFs(tree.root).readFile('/etc/abs-escape');
  t.true(r.ok);
  if (r.ok) t.is(r.value.toString(), 'inside the root');
});

test('a link cycle is ELOOP, not a hang', async (t) => {
  const tree = await escapeTree();
  t.teardown(tree.cleanup);
  await symlink('/loop-b', join(tree.root, 'loop-a'));
  await symlink('loop-a', join(tree.root, 'loop-b'));
  await symlink('/self', join(tree.root, 'self'));
  const fs = createHostFs(tree.root);
  for (const p of ['/loop-a', '/self', '/loop-b/x']) {
    const r = await fs.stat(p);
    t.false(r.ok);
    if (!r.ok) t.is(r.error.code, 'ELOOP', p);
  }
});

test('reads are bounded: an oversize file is an ETOOBIG error value', async (t) => {
  const tree = await escapeTree();
  t.teardown(tree.cleanup);
  await writeFile(join(tree.root, 'big'), Buffer.alloc(DEFAULT_MAX_BYTES + 1, 0x61));
  await writeFile(join(tree.root, 'ten'), '0123456789');
  const fs = createHostFs(tree.root);
  const big = await fs.readFile('/big');
  t.false(big.ok);
  if (!big.ok) t.is(big.error.code, 'ETOOBIG');
  const tight = await fs.readFile('/ten', { maxBytes: 9 });
  t.false(tight.ok);
  if (!tight.ok) t.is(tight.error.code, 'ETOOBIG');
  const exact = await fs.readFile('/ten', { maxBytes: 10 });
  t.true(exact.ok && exact.value.toString() === '0123456789');
});

test('errors are values with stable codes', async (t) => {
  const fx = await prepareFixture('insecure-worker');
  t.teardown(fx.cleanup);
  const fs = createHostFs(fx.root);
  const cases: Array<[Promise<{ ok: boolean; error?: { code: string } }>, string]> = [
    [fs.readFile('relative/path'), 'EINVAL'],
    [fs.readFile('/etc/passwd/child'), 'ENOTDIR'],
    [fs.readFile('/etc'), 'EISDIR'],
    [fs.readFile('/no/such/file'), 'ENOENT'],
    [fs.readlink('/etc/passwd'), 'EINVAL'],
    [fs.readdir('/etc/passwd'), 'ENOTDIR'],
  ];
  for (const [pending, code] of cases) {
    const r = await pending;
    t.false(r.ok);
    t.is(r.error?.code, code);
  }
});

test('a FIFO is refused without blocking', async (t) => {
  const tree = await escapeTree();
  t.teardown(tree.cleanup);
  execFileSync('mkfifo', [join(tree.root, 'fifo')]);
  const r = await createHostFs(tree.root).readFile('/fifo');
  t.false(r.ok);
  if (!r.ok) t.is(r.error.code, 'EINVAL');
});

// The committed TypeScript in proto/gen/ must be what the generator makes from the .proto
// today: the contract and its types never drift apart.
import test from 'ava';
import { execFileSync } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { fingerprint } from '../../proto/fingerprint.js';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));

async function files(dir: string): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  const walk = async (d: string): Promise<void> => {
    for (const e of await readdir(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory()) await walk(p);
      else out.set(relative(dir, p), await readFile(p, 'utf8'));
    }
  };
  await walk(dir);
  return out;
}

test('proto/gen is up to date with proto/nodeward/v1/agent.proto', async (t) => {
  const out = await mkdtemp(join(tmpdir(), 'nodeward-gen-'));
  t.teardown(() => rm(out, { recursive: true, force: true }));
  execFileSync(process.execPath, [join(ROOT, 'scripts/gen-proto.mjs'), out], { stdio: 'pipe' });
  const fresh = await files(out);
  const committed = await files(join(ROOT, 'proto/gen'));
  t.true(fresh.size > 10);
  t.deepEqual([...committed.keys()].sort(), [...fresh.keys()].sort());
  for (const [name, text] of fresh) t.is(committed.get(name), text, `${name} differs: run npm run gen:proto`);
});

test('the fingerprint is the documented function of node, check and subject', (t) => {
  // SHA-256("node-a\ncis-4.2.1\nkubelet/--anonymous-auth"), first 32 hex characters,
  // computed independently with: printf 'node-a\ncis-4.2.1\nkubelet/--anonymous-auth' | sha256sum
  const expected = execFileSync('sha256sum', { input: 'node-a\ncis-4.2.1\nkubelet/--anonymous-auth' }).toString().slice(0, 32);
  t.is(fingerprint('node-a', 'cis-4.2.1', 'kubelet/--anonymous-auth'), expected);
  t.not(fingerprint('node-a', 'cis-4.2.1', 'x'), fingerprint('node-b', 'cis-4.2.1', 'x'));
  t.regex(fingerprint('n', 'c', 's'), /^[0-9a-f]{32}$/);
});

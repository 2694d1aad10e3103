// Stands in for the images' runtime stage, which cannot be built here (no Docker engine):
// the files the Dockerfiles' runtime stage copies, laid out the same way in a temp dir, with
// node_modules pruned by `npm prune --omit=dev` as their prod-deps stage does. Then the
// agent's `nodeward scan` and the collector run from there. A runtime import of a
// development dependency, or a run-time file the Dockerfiles forget, fails here.
import test from 'ava';
import { execFile, spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { cp, mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { promisify } from 'node:util';
import { prepareFixture } from '../helpers/fixture.js';
import { eventually, httpsJson } from '../helpers/https.js';
import { dockerignoreAllows, parseDockerfile, stage, type Stage } from './dockerfile.js';
import { REPO_ROOT } from './manifests.js';

const run = promisify(execFile);
const DEV_ONLY = ['typescript', 'ava', 'kubernetes-models', 'playwright-core', '@ava/typescript'];

interface Copy {
  readonly fromStage: string;
  readonly src: string;
  readonly dest: string;
}

function runtimeCopies(file: string): { copies: Copy[]; workdir: string; buildWorkdir: string } {
  const df = parseDockerfile(readFileSync(join(REPO_ROOT, file), 'utf8'));
  const runtime = df.stages.at(-1) as Stage;
  const workdirOf = (s: Stage): string => s.instructions.filter((i) => i.keyword === 'WORKDIR').at(-1)?.words[0] ?? '/';
  const copies = runtime.instructions
    .filter((i) => i.keyword === 'COPY')
    .map((i) => ({ fromStage: i.flags['from'] ?? '', src: i.words[0] ?? '', dest: i.words[1] ?? '' }));
  return { copies, workdir: workdirOf(runtime), buildWorkdir: workdirOf(stage(df, 'build')) };
}

let pruned: Promise<{ base: string; prod: string }> | undefined;
const runtimes = new Map<string, Promise<string>>();

/** Once per file: a copy of node_modules, pruned as the prod-deps stage prunes it. */
function prunedDeps(): Promise<{ base: string; prod: string }> {
  pruned ??= (async () => {
    const base = await mkdtemp(join(tmpdir(), 'nodeward-runtime-'));
    // The dependencies as `npm ci` left them, then pruned. The copy is pruned, never the
    // checkout's own node_modules.
    const prod = join(base, 'prod-deps');
    await mkdir(prod);
    for (const f of ['package.json', 'package-lock.json']) await cp(join(REPO_ROOT, f), join(prod, f));
    await run('cp', ['-a', join(REPO_ROOT, 'node_modules'), join(prod, 'node_modules')], { maxBuffer: 1 << 20 });
    await run('npm', ['prune', '--omit=dev', '--ignore-scripts', '--no-audit', '--no-fund', '--offline'], { cwd: prod, maxBuffer: 16 << 20 });
    return { base, prod };
  })();
  return pruned;
}

/** The runtime stage of `file` laid out in a temp dir; returns its WORKDIR (the app dir). */
function prepareRuntime(file: string): Promise<string> {
  let p = runtimes.get(file);
  if (!p) {
    p = layOut(file);
    runtimes.set(file, p);
  }
  return p;
}

async function layOut(file: string): Promise<string> {
  const { base, prod } = await prunedDeps();
  // Each COPY --from=<stage> <src> <dest>, with the build stage's files taken from this
  // checkout (built by `npm test`) and prod-deps' from the pruned copy.
  const { copies, workdir, buildWorkdir } = runtimeCopies(file);
  const ignore = readFileSync(join(REPO_ROOT, '.dockerignore'), 'utf8').split('\n');
  const app = join(base, file.replace(/^Dockerfile\./, ''));
  for (const c of copies) {
    const rel = relative(buildWorkdir, c.src);
    const from = c.fromStage === 'prod-deps' ? join(prod, rel) : join(REPO_ROOT, rel);
    const to = join(app, relative(workdir, join(workdir, c.dest)));
    await mkdir(dirname(to), { recursive: true });
    // cp(1) for the big node_modules tree (fs.cp is many times slower on it); the pruned
    // copy is only read from now on, so hard links do.
    if (rel !== 'dist') {
      await run('cp', ['-a', ...(c.fromStage === 'prod-deps' ? ['-l'] : []), from, to]);
      continue;
    }
    await cp(from, to, {
      recursive: true,
      verbatimSymlinks: true,
      // dist/ holds only what the image compiles: sources the build context has (not test/, bench/).
      filter: (p) => {
        const inside = relative(from, p);
        return inside === '' || inside.startsWith('.') || dockerignoreAllows(ignore, inside.split('/')[0] as string);
      },
    });
  }
  return app;
}

test.after.always(async () => {
  if (pruned) await rm((await pruned).base, { recursive: true, force: true });
});

test('the pruned copy has the production dependencies and none of the development ones; the checkout keeps its own', async (t) => {
  const app = await prepareRuntime('Dockerfile.agent');
  for (const dev of DEV_ONLY) t.false(existsSync(join(app, 'node_modules', dev)), `${dev} was pruned`);
  const pkg = JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as { dependencies: Record<string, string> };
  for (const dep of Object.keys(pkg.dependencies)) t.true(existsSync(join(app, 'node_modules', dep, 'package.json')), `${dep} kept`);
  t.true(existsSync(join(app, 'node_modules/better-sqlite3/build/Release/better_sqlite3.node')), 'the compiled native module');
  for (const dev of DEV_ONLY) t.true(existsSync(join(REPO_ROOT, 'node_modules', dev)), `the checkout still has ${dev}`);
  t.deepEqual((await readdir(join(app, 'dist'))).filter((d) => !d.startsWith('.')).sort(), ['agent', 'bin', 'collector', 'proto']);
  // Nothing above the copy could lend it a module: resolution walks up from app/.
  for (let dir = dirname(app); dir !== dirname(dir); dir = dirname(dir)) t.false(existsSync(join(dir, 'node_modules')), `${dir}/node_modules`);
});

test('`nodeward scan` runs from the agent image\'s files', async (t) => {
  const app = await prepareRuntime('Dockerfile.agent');
  const fx = await prepareFixture('insecure-worker');
  t.teardown(fx.cleanup);
  const { stdout } = await run(process.execPath, [join(app, 'bin/nodeward'), 'scan', '--host-root', fx.root, '--proc-root', fx.procRoot, '--node', 'pruned-1', '--format', 'json'], {
    cwd: app, env: { PATH: process.env.PATH ?? '', NODE_ENV: 'production' }, maxBuffer: 16 << 20,
  });
  const report = JSON.parse(stdout) as { node: string; results: Array<{ id: string; status: string }>; totals: { fail: number } };
  t.is(report.node, 'pruned-1');
  t.true(report.results.length >= 5);
  t.true(report.totals.fail > 0, 'the insecure fixture fails checks');
});

test('the collector runs from the collector image\'s files until /readyz answers', async (t) => {
  const app = await prepareRuntime('Dockerfile.collector');
  const dir = join(dirname(app), 'collector-run');
  await mkdir(dir);
  const env = { PATH: process.env.PATH ?? '', NODE_ENV: 'production' };
  const bin = join(app, 'bin/nodeward');
  await run(process.execPath, [bin, 'pki', 'init', join(dir, 'pki'), '--node', 'pruned-1', '--host', 'localhost'], { cwd: app, env });
  await writeFile(join(dir, 'token'), 'pruned-runtime-admin-token-0123456789\n', { mode: 0o600 });
  await writeFile(join(dir, 'collector.yaml'), JSON.stringify({
    dataDir: join(dir, 'data'),
    grpc: { listen: '127.0.0.1:0', caFile: 'pki/ca.crt', certFile: 'pki/collector.crt', keyFile: 'pki/collector.key' },
    api: { listen: '127.0.0.1:0', tokens: [{ name: 'admin', role: 'admin', file: 'token' }] },
  }));
  await mkdir(join(dir, 'data'));
  const child = spawn(process.execPath, [bin, 'collector', '--config', join(dir, 'collector.yaml')], { cwd: app, env, stdio: ['ignore', 'pipe', 'pipe'] });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  t.teardown(() => {
    if (child.exitCode === null) child.kill('SIGKILL');
  });
  let output = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => (output += d));
  child.stderr.setEncoding('utf8').on('data', (d: string) => (output += d));
  const port = await eventually('the API port in the log', () => {
    if (child.exitCode !== null) throw new Error(`the collector exited: ${output.slice(-2000)}`);
    const line = output.split('\n').find((l) => l.includes('"API listening"'));
    return line ? (JSON.parse(line) as { port: number }).port : undefined;
  });
  const ca = readFileSync(join(dir, 'pki/ca.crt'));
  const ready = await eventually('/readyz', async () => {
    const r = await httpsJson(`https://localhost:${port}/readyz`, { ca });
    return r.status === 200 ? r : undefined;
  });
  t.is(ready.status, 200);
  const nodes = await httpsJson(`https://localhost:${port}/api/v1/nodes`, { ca, token: 'pruned-runtime-admin-token-0123456789' });
  t.is(nodes.status, 200, 'the database and the API work from the pruned copy');
  child.kill('SIGTERM');
  t.is(await exited, 0, 'stops cleanly on SIGTERM');
});

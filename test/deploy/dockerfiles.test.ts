// The two Dockerfiles, read as data: multi-stage, pinned Node.js 22 LTS bases, the native
// module built for the runtime's libc, no toolchain or dev dependency in the runtime stage,
// a non-root collector, and a build context that holds only what the build needs.
import test from 'ava';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { ancestry, dockerignoreAllows, parseDockerfile, runCommands, stage, type Dockerfile, type Stage } from './dockerfile.js';
import { buildKustomization, findWorkload, kubectlTest, REPO_ROOT } from './manifests.js';

const read = (name: string): Dockerfile => parseDockerfile(readFileSync(`${REPO_ROOT}${name}`, 'utf8'));
const FILES = ['Dockerfile.agent', 'Dockerfile.collector'] as const;
const final = (df: Dockerfile): Stage => df.stages.at(-1)!;

// Packages and tools that compile code; none belongs in an image that only runs it.
function typeScriptSources(path: string): string[] {
  if (!statSync(path).isDirectory()) return /\.(c|m)?ts$/.test(path) && !path.endsWith('.d.ts') ? [path] : [];
  return readdirSync(path).flatMap((e) => typeScriptSources(join(path, e)));
}

const TOOLCHAIN = /\b(build-essential|gcc|g\+\+|clang|make|cmake|python3?|node-gyp|git|curl|wget)\b/;

test('the parser joins continuations, substitutes global ARGs into FROM and names stages', (t) => {
  const df = parseDockerfile([
    '# syntax=docker/dockerfile:1', 'ARG V=1.2.3', 'FROM img:${V}-x AS one', 'RUN a \\', '  && b', '# comment', 'FROM one AS two',
    'COPY --from=one --chown=1:1 /a /b', 'FROM scratch', 'ENTRYPOINT ["x", "y"]',
  ].join('\n'));
  t.deepEqual(df.stages.map((s) => [s.name, s.from]), [['one', 'img:1.2.3-x'], ['two', 'one'], [undefined, 'scratch']]);
  t.deepEqual(runCommands(df, stage(df, 'two')), ['a    && b']);
  t.deepEqual(df.stages[1]?.instructions[0]?.flags, { from: 'one', chown: '1:1' });
  t.deepEqual(df.stages[2]?.instructions[0]?.exec, ['x', 'y']);
  t.deepEqual(ancestry(df, stage(df, 'two')).map((s) => s.name), ['one']);
});

for (const file of FILES) {
  test(`${file}: multi-stage, on pinned Node.js 22 LTS images of one Debian release`, (t) => {
    const df = read(file);
    t.true(df.stages.length >= 3, 'build, prod-deps and runtime stages');
    const stageNames = new Set(df.stages.map((s) => s.name).filter(Boolean));
    const images = df.stages.filter((s) => !stageNames.has(s.from)).map((s) => s.from);
    t.true(images.length >= 2);
    for (const image of images) {
      const m = /^node:(\d+)\.(\d+)\.(\d+)-([a-z]+)(-slim)?$/.exec(image);
      t.truthy(m, `${image} is pinned to a full version (never latest or a floating major)`);
      t.is(Number(m?.[1]), 22, `${image} is Node.js 22 LTS`);
    }
    const runtime = final(df).from;
    t.regex(runtime, /-slim$/, 'the runtime is a slim image');
    // The native module is compiled where it will run: same Node.js (ABI) and Debian (glibc).
    const builder = stage(df, 'build').from;
    t.is(builder.replace(/-slim$/, ''), runtime.replace(/-slim$/, ''));
    t.true(runCommands(df, stage(df, 'build')).some((r) => /npm rebuild better-sqlite3 --build-from-source/.test(r)));
    t.true(runCommands(df, stage(df, 'build')).some((r) => /\btsc\b/.test(r)), 'TypeScript is compiled in the build stage');
  });

  test(`${file}: the runtime stage has built output and production dependencies only, no toolchain`, (t) => {
    const df = read(file);
    const runtime = final(df);
    const names = new Set(df.stages.map((s) => s.name));
    t.false(names.has(runtime.from), 'the runtime starts from a clean image, not from the build stage');
    for (const run of runCommands(df, runtime)) {
      const installs = [...run.matchAll(/apt-get install[^&;]*/g)].map((m) => m[0]).join(' ');
      t.notRegex(installs, TOOLCHAIN, `no build tools installed: ${run}`);
      t.notRegex(run, /\bnpm (ci|install|i|rebuild)\b/, 'no npm install at run time');
    }
    const copies = runtime.instructions.filter((i) => i.keyword === 'COPY');
    t.true(copies.length > 0);
    for (const c of copies) t.truthy(c.flags['from'], `runtime copies only from earlier stages: ${c.args}`);
    const modules = copies.find((c) => c.words[1]?.includes('node_modules'));
    t.truthy(modules, 'node_modules is copied');
    const from = stage(df, modules?.flags['from'] ?? '');
    t.true(runCommands(df, from).some((r) => /npm (prune|ci)\b.*--omit=dev/.test(r)), `node_modules comes from a stage that dropped the dev dependencies (${from.name})`);
    // What the runtime stage copies out of the build stage is built output and run-time
    // assets, never TypeScript sources.
    const workdir = stage(df, 'build').instructions.filter((i) => i.keyword === 'WORKDIR').at(-1)?.words[0] ?? '/';
    for (const c of copies.filter((x) => x.flags['from'] === 'build')) {
      const inRepo = join(REPO_ROOT, relative(workdir, c.words[0] ?? ''));
      t.true(existsSync(inRepo), `${c.words[0]} exists in a built checkout`);
      t.deepEqual(typeScriptSources(inRepo), [], `${c.words[0]} holds no TypeScript source`);
    }
    t.true(copies.some((c) => c.words[0]?.endsWith('/proto/nodeward')), 'the .proto contract, which proto/load.ts reads at run time');
    const entry = runtime.instructions.find((i) => i.keyword === 'ENTRYPOINT');
    // Exec form: node is PID 1 and gets SIGTERM; Node.js options (the agent's V8 options) may
    // come between node and the script.
    const exec = entry?.exec ?? [];
    t.is(exec[0], 'node', 'exec form: node is PID 1 and gets SIGTERM');
    t.true(exec.slice(1, exec.indexOf('/app/bin/nodeward')).every((a) => a.startsWith('--')), `only Node.js options before the script: ${exec.join(' ')}`);
    t.true(exec.includes('/app/bin/nodeward'));
  });

  test(`${file}: every source the build copies is in the build context; secrets and state are not`, (t) => {
    const df = read(file);
    const patterns = readFileSync(`${REPO_ROOT}.dockerignore`, 'utf8').split('\n');
    for (const s of df.stages) {
      for (const c of s.instructions.filter((i) => i.keyword === 'COPY' && !i.flags['from'])) {
        for (const src of c.words.slice(0, -1)) t.true(dockerignoreAllows(patterns, src), `${src} is sent to the builder`);
      }
    }
    for (const excluded of ['data/pki/ca.key', 'data/admin.token', 'node_modules/x', 'dist/bin/cli.js', '.git/config', 'test/deploy/x.ts', 'manifests/kustomization.yaml', 'native/build/Release/nodeward_proc.node']) {
      t.false(dockerignoreAllows(patterns, excluded), `${excluded} stays out of the context`);
    }
  });
}

test('the agent image builds the exec sources and fails without any of them; the collector image does without', (t) => {
  const agent = read('Dockerfile.agent');
  const build = runCommands(agent, stage(agent, 'build'));
  for (const file of ['nodeward_proc.node', 'nodeward_bpf.node', 'nodeward_exec.bpf.o']) {
    t.true(build.some((r) => /npm run build:native/.test(r) && r.includes(`test -f native/build/Release/${file}`)), `the build fails without ${file}`);
    t.true(final(agent).instructions.some((i) => i.keyword === 'COPY' && i.words[0] === `/src/native/build/Release/${file}`), `the runtime has ${file}`);
  }
  // The eBPF program needs its compiler and libbpf's headers where it is built, and the
  // loader's shared libraries where it runs. It is compiled against our own kernel types
  // (native/bpf/nodeward_core.h): nothing of the builder's kernel is read, so no bpftool, and
  // it is built for the image's architecture (TARGETARCH, which buildx sets), not the builder's.
  t.true(build.some((r) => /apt-get install[^&]*\bclang\b/.test(r) && /\blibbpf-dev\b/.test(r)));
  t.false(build.some((r) => /\bbpftool\b|vmlinux/i.test(r)), 'no vmlinux.h is generated from the builder\'s kernel');
  t.true(stage(agent, 'build').instructions.some((i) => i.keyword === 'ARG' && i.words[0] === 'TARGETARCH'), 'the build stage declares TARGETARCH');
  t.true(build.some((r) => /NODEWARD_BPF_ARCH="?\$\{?TARGETARCH\}?"? npm run build:native/.test(r)), 'the program is built for TARGETARCH');
  t.true(runCommands(agent, final(agent)).some((r) => /apt-get install[^&]*\blibbpf1\b/.test(r) && /\blibelf1\b/.test(r)));
  const collector = read('Dockerfile.collector');
  t.false(final(collector).instructions.some((i) => i.args.includes('native')));
});

test('the agent image has procps (ps-list runs `ps`) and runs as root; the collector image runs as an unprivileged user', (t) => {
  const agent = read('Dockerfile.agent');
  t.true(runCommands(agent, final(agent)).some((r) => /apt-get install[^&]*\bprocps\b/.test(r)));
  const agentUser = final(agent).instructions.filter((i) => i.keyword === 'USER').at(-1)?.words[0];
  t.is(agentUser, '0:0', 'root, explicitly (its capabilities are dropped in the DaemonSet)');
  const collector = read('Dockerfile.collector');
  const user = final(collector).instructions.filter((i) => i.keyword === 'USER').at(-1)?.words[0] ?? '';
  const [uid, gid] = user.split(':').map(Number);
  t.true(Number.isInteger(uid) && (uid ?? 0) > 0, `numeric non-root uid (runAsNonRoot can check it): ${user}`);
  t.true(Number.isInteger(gid) && (gid ?? 0) > 0, `numeric non-root gid: ${user}`);
  t.false(runCommands(collector, final(collector)).some((r) => /procps/.test(r)), 'the collector needs no ps');
});

test('the toolchain check recognises build tools', (t) => {
  t.regex('apt-get install -y g++ make python3', TOOLCHAIN);
  t.regex('apt-get install -y build-essential', TOOLCHAIN);
  t.notRegex('apt-get install -y --no-install-recommends procps', TOOLCHAIN);
});

kubectlTest("the collector image's user is the StatefulSet's runAsUser, and the image tags are the manifests'", async (t) => {
  const objects = await buildKustomization();
  const sts = findWorkload(objects, 'StatefulSet', 'nodeward-collector');
  const user = final(read('Dockerfile.collector')).instructions.filter((i) => i.keyword === 'USER').at(-1)?.words[0];
  t.is(user, `${sts.pod.securityContext?.runAsUser}:${sts.pod.securityContext?.runAsGroup}`);
  for (const file of FILES) {
    const header = readFileSync(`${REPO_ROOT}${file}`, 'utf8');
    const tag = /docker build -f \S+ -t (\S+) \./.exec(header)?.[1];
    const w = file === 'Dockerfile.agent' ? findWorkload(objects, 'DaemonSet', 'nodeward-agent') : sts;
    t.is(tag, w.pod.containers[0]?.image, `${file} builds the image the manifests run`);
  }
});

// The release: scripts/render-install.ts renders one install.yaml with every image pinned by
// digest (run here as the release runs it, a real process over the real kubectl kustomize,
// with stand-in digests), and .github/workflows/release.yml builds, pushes and then only
// calls that script. The rendered objects must pass every check the manifests pass today.
import test from 'ava';
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { checkInstall, parseImageReference, RenderError, type ImageRole, type PinnedImage } from '../../scripts/install-yaml.js';
import {
  allContainers, buildKustomization, clone, findWorkload, KUBECTL, kubectlTest, parseYamlStream, REPO_ROOT, workloads, type KubeObject,
} from './manifests.js';
import { createFieldChecker, validateWithModel } from './kube-schema.js';
import { baselineViolations, restrictedViolations, type Violation } from './pod-security.js';
import { readLedger } from './ledger.js';
import { diffPodAgainstLedger, diffRbacAgainstLedger, podPrivileges } from './privileges.js';

const SCRIPT = `${REPO_ROOT}dist/scripts/render-install.js`;
const digest = (seed: string): string => `sha256:${createHash('sha256').update(seed).digest('hex')}`;
const AGENT = `ghcr.io/example-owner/nodeward-agent@${digest('agent stand-in')}`;
const COLLECTOR = `ghcr.io/example-owner/nodeward-collector@${digest('collector stand-in')}`;

interface Run {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

function runScript(args: string[]): Promise<Run> {
  return new Promise((resolve) => {
    execFile(process.execPath, [SCRIPT, ...args], { timeout: 90_000 }, (err, stdout, stderr) => {
      const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : -1) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}

function tempDir(t: { teardown(fn: () => void): void }): string {
  const dir = mkdtempSync(join(tmpdir(), 'nodeward-release-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

const show = (vs: readonly Violation[]): string[] => vs.map((v) => `${v.control}: ${v.detail}`).sort();

/** The built manifests' objects with their images replaced as the release pins them. */
function pinnedAsReleased(objects: readonly KubeObject[]): KubeObject[] {
  const byName: Record<string, string> = { 'nodeward-agent': AGENT, 'nodeward-collector': COLLECTOR };
  const copy = clone(objects) as KubeObject[];
  for (const w of workloads(copy)) {
    for (const c of allContainers(w.pod)) (c as { image?: string }).image = byName[(c.image ?? '').replace(/:[^/]*$/, '')] ?? `unexpected ${c.image}`;
  }
  return copy;
}

kubectlTest('the release script renders one install.yaml that is the manifests with every image pinned by digest', async (t) => {
  const dir = tempDir(t);
  const out = join(dir, 'install.yaml');
  const run = await runScript(['--agent', AGENT, '--collector', COLLECTOR, '--out', out, '--kubectl', KUBECTL]);
  t.is(run.code, 0, run.stderr);
  const text = readFileSync(out, 'utf8');
  const objects = parseYamlStream(text);
  t.regex(run.stdout, new RegExp(`\\(${objects.length} objects\\)`));

  // Every image is one of the two given references; nothing tagged or bare is left.
  const images = workloads(objects).flatMap((w) => allContainers(w.pod).map((c) => `${w.object.kind}/${w.object.metadata.name}=${c.image}`)).sort();
  t.deepEqual(images, [`DaemonSet/nodeward-agent=${AGENT}`, `StatefulSet/nodeward-collector=${COLLECTOR}`]);
  const { version } = JSON.parse(readFileSync(`${REPO_ROOT}package.json`, 'utf8')) as { version: string };
  t.false(text.includes(`:${version}`), `no :${version} tag left`);
  t.false(/image:\s*["']?nodeward-(agent|collector)\b/.test(text), 'no bare image name left');
  t.deepEqual(checkInstall(text, { agent: parseImageReference(AGENT, 'agent'), collector: parseImageReference(COLLECTOR, 'collector') }).problems, []);

  // Exactly the objects the manifests build today, images aside.
  const built = await buildKustomization();
  t.deepEqual(objects, pinnedAsReleased(built));

  // So each validates as the manifests do (test/deploy/schema.test.ts) ...
  const fields = createFieldChecker(objects);
  for (const o of objects) {
    const invalid = await validateWithModel(o);
    t.deepEqual([...(invalid ? [invalid] : []), ...fields.unknownFields(o)], [], `${o.kind} ${o.metadata.name}`);
  }
  // ... and meets the same policy (policy.test.ts, privileges.test.ts).
  t.deepEqual(show(restrictedViolations(findWorkload(objects, 'StatefulSet', 'nodeward-collector').pod)), []);
  const agent = findWorkload(objects, 'DaemonSet', 'nodeward-agent');
  t.deepEqual(show(baselineViolations(agent.pod)), show(baselineViolations(findWorkload(built, 'DaemonSet', 'nodeward-agent').pod)));
  t.deepEqual(diffPodAgainstLedger(podPrivileges(agent), readLedger()), []);
  t.deepEqual(diffRbacAgainstLedger(objects, readLedger()), []);

  // docs/install.md upgrades collectors first with `-l 'app.kubernetes.io/component!=agent'`:
  // that selector must leave out the agent DaemonSet and nothing else.
  const agentOnly = objects.filter((o) => o.metadata.labels?.['app.kubernetes.io/component'] === 'agent').map((o) => `${o.kind}/${o.metadata.name}`);
  t.deepEqual(agentOnly, ['DaemonSet/nodeward-agent']);
});

kubectlTest('the release script refuses a reference without a digest, and writes nothing', async (t) => {
  const dir = tempDir(t);
  const out = join(dir, 'install.yaml');
  for (const [agent, collector, code] of [
    ['ghcr.io/example-owner/nodeward-agent:0.2.0', COLLECTOR, 'NO_DIGEST'],
    [AGENT, 'ghcr.io/example-owner/nodeward-collector', 'NO_DIGEST'],
    [AGENT, 'nodeward-collector@' + digest('x'), 'NO_REGISTRY'],
    [COLLECTOR, AGENT, 'WRONG_IMAGE'],
  ] as const) {
    const run = await runScript(['--agent', agent, '--collector', collector, '--out', out, '--kubectl', KUBECTL]);
    t.is(run.code, 2, `${agent} ${collector}`);
    t.true(run.stderr.includes(code), run.stderr);
    t.false(existsSync(out), 'nothing written');
  }
  const noDigest = await runScript(['--agent', 'ghcr.io/example-owner/nodeward-agent:0.2.0', '--collector', COLLECTOR, '--out', out]);
  t.regex(noDigest.stderr, /--agent ghcr\.io\/example-owner\/nodeward-agent:0\.2\.0 has no digest/);
  // A usage error, and a failed build, are refused too.
  t.is((await runScript(['--agent', AGENT, '--out', out])).code, 2);
  const broken = await runScript(['--agent', AGENT, '--collector', COLLECTOR, '--out', out, '--kubectl', KUBECTL, '--manifests', join(dir, 'none')]);
  t.is(broken.code, 1);
  t.regex(broken.stderr, /KUSTOMIZE/);
  t.false(existsSync(out));
});

test('image references: a digest, a registry host and the right image are required', (t) => {
  const d = digest('x');
  const ok = parseImageReference(`ghcr.io/acme/nodeward-agent:0.2.0@${d}`, 'agent');
  t.deepEqual(ok, { name: 'ghcr.io/acme/nodeward-agent', digest: d, pinned: `ghcr.io/acme/nodeward-agent@${d}` });
  t.is(parseImageReference(`registry.local:5000/nodeward-collector@${d}`, 'collector').pinned, `registry.local:5000/nodeward-collector@${d}`);
  t.is(parseImageReference(`localhost/x/nodeward-collector@${d}`, 'collector').name, 'localhost/x/nodeward-collector');
  const refused = (ref: string, role: ImageRole): string => {
    const err = t.throws(() => parseImageReference(ref, role), { instanceOf: RenderError });
    return (err as RenderError).code;
  };
  t.is(refused('ghcr.io/acme/nodeward-agent', 'agent'), 'NO_DIGEST');
  t.is(refused('ghcr.io/acme/nodeward-agent:0.2.0', 'agent'), 'NO_DIGEST');
  t.is(refused(`ghcr.io/acme/nodeward-agent@${d.slice(0, -1)}`, 'agent'), 'BAD_DIGEST');
  t.is(refused(`ghcr.io/acme/nodeward-agent@${d.toUpperCase()}`, 'agent'), 'BAD_DIGEST');
  t.is(refused(`ghcr.io/acme/nodeward-agent@sha512:${'a'.repeat(128)}`, 'agent'), 'BAD_DIGEST');
  t.is(refused(`nodeward-agent@${d}`, 'agent'), 'NO_REGISTRY');
  t.is(refused(`acme/nodeward-agent@${d}`, 'agent'), 'NO_REGISTRY');
  t.is(refused(`ghcr.io/acme/nodeward-collector@${d}`, 'agent'), 'WRONG_IMAGE');
  t.is(refused(`docker.io/nodeward/agent@${d}`, 'agent'), 'WRONG_IMAGE');
  t.is(refused(`ghcr.io/Acme/nodeward-agent@${d}`, 'agent'), 'BAD_REFERENCE');
  t.is(refused(` ghcr.io/acme/nodeward-agent@${d}`, 'agent'), 'BAD_REFERENCE');
});

test("the rendered output's own check finds what must not be published", (t) => {
  const images: Record<ImageRole, PinnedImage> = {
    agent: parseImageReference(AGENT, 'agent'),
    collector: parseImageReference(COLLECTOR, 'collector'),
  };
  const pod = (name: string, image: string, extra = ''): string =>
    `apiVersion: v1\nkind: Pod\nmetadata:\n  name: ${name}${extra}\nspec:\n  containers:\n    - name: c\n      image: ${image}\n`;
  const good = `${pod('a', AGENT)}---\n${pod('c', COLLECTOR)}`;
  t.deepEqual(checkInstall(good, images), { problems: [], objects: 2 });
  const problems = (text: string): string[] => checkInstall(text, images).problems;
  t.deepEqual(problems(`${good}---\n${pod('x', 'nodeward-agent:0.2.0')}`), [
    'Pod x .spec.containers[0].image: nodeward-agent:0.2.0 is not pinned by digest',
    'a tagged, unpinned reference is left: nodeward-agent:0.2.0',
  ]);
  t.deepEqual(problems(`${good}---\n${pod('x', 'nodeward-collector')}`), ['Pod x .spec.containers[0].image: nodeward-collector is not pinned by digest']);
  t.deepEqual(problems(`${good}---\n${pod('x', `ghcr.io/other/nodeward-agent@${digest('other')}`)}`), [
    `Pod x .spec.containers[0].image: ghcr.io/other/nodeward-agent@${digest('other')} is not one of the given images`,
  ]);
  t.deepEqual(problems(pod('a', AGENT)), [`the collector image ${COLLECTOR} is used by no container`]);
  t.deepEqual(problems(`${good}---\nkind: [unclosed\n`).map((p) => p.split(':')[0]), ['document 3']);
  t.deepEqual(problems(`${good}---\n- a list\n`), ['document 3: not a Kubernetes object (apiVersion, kind and metadata.name)']);
  t.deepEqual(problems(`${good}---\n${pod('x', AGENT, '\n  annotations:\n    image: "ghcr.io/acme/nodeward-collector:v0.2.0"')}`), [
    'Pod x .metadata.annotations.image: ghcr.io/acme/nodeward-collector:v0.2.0 is not pinned by digest',
    'a tagged, unpinned reference is left: ghcr.io/acme/nodeward-collector:v0.2.0',
  ]);
  // A Service address is no image reference.
  t.deepEqual(problems(`${good}---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: m\ndata:\n  a: "address: nodeward-collector.nodeward-collector.svc:7443 nodeward-collector:7443"\n`), []);
  t.deepEqual(problems(''), ['no objects', `the agent image ${AGENT} is used by no container`, `the collector image ${COLLECTOR} is used by no container`]);
});

interface Step {
  readonly id?: string;
  readonly name?: string;
  readonly uses?: string;
  readonly run?: string;
  readonly with?: Record<string, unknown>;
  readonly env?: Record<string, string>;
}

test('the release workflow builds and pushes both images for amd64 and arm64 with an SBOM, then only calls the render script', (t) => {
  const workflow = parseYaml(readFileSync(`${REPO_ROOT}.github/workflows/release.yml`, 'utf8')) as {
    on: { push?: { tags?: string[] } };
    jobs: Record<string, { permissions?: Record<string, string>; steps: Step[] }>;
  };
  t.true((workflow.on.push?.tags ?? []).some((p) => p.startsWith('v')), 'runs on a version tag push');
  const jobs = Object.values(workflow.jobs);
  t.is(jobs.length, 1);
  const job = jobs[0]!;
  t.is(job.permissions?.packages, 'write');
  t.is(job.permissions?.contents, 'write');
  const steps = job.steps;
  const index = (pred: (s: Step) => boolean): number => steps.findIndex(pred);

  // The registry is the repository owner's namespace on ghcr.io.
  const names = steps.find((s) => s.id === 'names');
  t.is(names?.env?.OWNER, '${{ github.repository_owner }}');
  t.true(names?.run?.includes('owner="${OWNER,,}"'), 'lowercased, as registry paths must be');
  for (const image of ['agent', 'collector']) t.true(names?.run?.includes(`echo "${image}=ghcr.io/$owner/nodeward-${image}"`), image);
  t.true(steps.some((s) => s.uses?.startsWith('docker/login-action@') && s.with?.registry === 'ghcr.io'));

  const builds = steps.filter((s) => s.uses?.startsWith('docker/build-push-action@'));
  t.deepEqual(builds.map((b) => b.id), ['agent', 'collector']);
  for (const b of builds) {
    t.is(b.with?.file, `Dockerfile.${b.id}`);
    t.deepEqual(String(b.with?.platforms).split(',').map((p) => p.trim()).sort(), ['linux/amd64', 'linux/arm64']);
    t.is(b.with?.push, true);
    t.is(b.with?.sbom, true, 'an SBOM attestation');
    t.regex(String(b.with?.provenance), /^(true|mode=max)$/, 'a provenance attestation');
    t.is(b.with?.tags, `\${{ steps.names.outputs.${b.id} }}:\${{ steps.names.outputs.version }}`);
  }
  t.true(index((s) => s.uses?.startsWith('docker/setup-qemu-action@') === true) < index((s) => s.id === 'agent'), 'QEMU before the arm64 build');

  // install.yaml comes from the script alone, given the digests the pushes reported.
  const render = steps.filter((s) => s.run?.includes('node dist/scripts/render-install.js') && s.run.includes('--out install.yaml'));
  t.is(render.length, 1);
  t.is(render[0]?.env?.AGENT, '${{ steps.names.outputs.agent }}@${{ steps.agent.outputs.digest }}');
  t.is(render[0]?.env?.COLLECTOR, '${{ steps.names.outputs.collector }}@${{ steps.collector.outputs.digest }}');
  t.true(index((s) => s === render[0]) > index((s) => s.id === 'collector'), 'rendered after both pushes');
  for (const s of steps) {
    t.false(/kustomize|\bsed\b|\byq\b|envsubst/.test(s.run ?? ''), `${s.name}: only the script makes install.yaml`);
  }
  const attach = steps.at(-1);
  t.regex(attach?.run ?? '', /gh release (upload|create) "\$TAG" install\.yaml/);
  // The stand-in render runs before anything is pushed.
  t.true(index((s) => s.run?.includes('render-install.js') === true) < index((s) => s.id === 'agent'));
});

kubectlTest("docs/install.md's registry overlay builds, with both images pointed at the registry and pinned", async (t) => {
  const doc = readFileSync(`${REPO_ROOT}docs/install.md`, 'utf8');
  const block = [...doc.matchAll(/```yaml\n([\s\S]*?)```/g)].map((m) => m[1]!).find((b) => b.includes('kind: Kustomization'));
  t.truthy(block, 'the overlay example');
  const overlay = parseYaml(block!) as { resources: string[]; images: Array<{ name: string; newName: string; digest: string }> };
  t.deepEqual(overlay.resources, ['../nodeward/manifests'], 'a checkout next to the overlay');
  t.deepEqual(overlay.images.map((i) => i.name).sort(), ['nodeward-agent', 'nodeward-collector']);
  // Build it where its base is where it says: DIR/my-nodeward next to DIR/nodeward -> manifests/.
  const dir = tempDir(t);
  mkdirSync(join(dir, 'my-nodeward'));
  symlinkSync(REPO_ROOT, join(dir, 'nodeward'));
  const digests: Record<string, string> = { 'nodeward-agent': AGENT.split('@')[1]!, 'nodeward-collector': COLLECTOR.split('@')[1]! };
  writeFileSync(join(dir, 'my-nodeward', 'kustomization.yaml'), block!.replace(/digest: sha256:<the (agent|collector) image's digest>/g, (_m, role: string) => `digest: ${digests[`nodeward-${role}`]}`));
  const built = await new Promise<string>((resolve, reject) => {
    execFile(KUBECTL, ['kustomize', join(dir, 'my-nodeward')], { maxBuffer: 16 * 1024 * 1024 }, (err, stdout, stderr) => (err ? reject(new Error(stderr)) : resolve(stdout)));
  });
  const images = Object.fromEntries(overlay.images.map((i) => [i.name, parseImageReference(`${i.newName}@${digests[i.name]}`, i.name === 'nodeward-agent' ? 'agent' : 'collector')]));
  t.deepEqual(checkInstall(built, { agent: images['nodeward-agent']!, collector: images['nodeward-collector']! }).problems, []);
  t.true(built.includes('image: registry.example.com/security/nodeward-agent@sha256:'));
});

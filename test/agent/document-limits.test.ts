// The host-document parsers (issue 12): whatever a host file holds, they never throw, and a
// document over the limits is refused by the pre-scan, before any parser sees it. Properties
// run through test/helpers/property.ts (fixed seed, set run counts, replay line on failure).
import test from 'ava';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { stringify } from 'yaml';
import { HOST_YAML_LIMITS, OCI_JSON_LIMITS, prescanDocument } from '../../agent/facts/document-limits.js';
import { MAX_ALIAS_EXPANSION, parseConfigText, parseHostYaml, readConfigDoc } from '../../agent/facts/config-file.js';
import { parseAuditPolicy, parseQuietly, readAuditPolicy, readComponentConfig, readEncryptionConfig, summariseEncryptionConfig } from '../../agent/facts/control-plane-docs.js';
import { createHostFs } from '../../agent/facts/host-fs.js';
import { collectK3s } from '../../agent/facts/k3s.js';
import { K3S_LAYOUT } from '../../agent/facts/layouts.js';
import { parseStaticPod, readStaticPods } from '../../agent/facts/static-pods.js';
import { lookupContainer, readBundleConfig } from '../../agent/processes/oci.js';
import { checkProperty, fc } from '../helpers/property.js';

type Parse = (text: string) => { ok: boolean; code?: string };

/** Every entry point a host YAML/JSON document can take, each wrapped to a common shape. */
const PARSERS: ReadonlyArray<[string, Parse]> = [
  ['parseHostYaml', (s) => parseHostYaml(s, { quiet: false })],
  ['parseConfigText(KubeletConfiguration)', (s) => parseConfigText(s, 'KubeletConfiguration')],
  ['parseQuietly', (s) => parseQuietly(s)],
  ['parseQuietly + encryption and audit readers', (s) => {
    const p = parseQuietly(s);
    if (p.ok) {
      summariseEncryptionConfig('/e.yaml', p.data);
      parseAuditPolicy('/a.yaml', p.data);
    }
    return p;
  }],
  ['parseStaticPod', (s) => {
    const p = parseStaticPod('/m.yaml', s);
    return p.error === null ? { ok: true } : { ok: false, code: p.error.code };
  }],
  ['readBundleConfig', (s) => {
    const r = readBundleConfig(s);
    return 'refused' in r ? { ok: false, code: 'ELIMIT' } : { ok: true };
  }],
];

/** Runs every parser; a throw fails the property with the parser's name. */
function allParsers(text: string): Array<{ name: string; ok: boolean; code?: string }> {
  return PARSERS.map(([name, parse]) => {
    try {
      return { name, ...parse(text) };
    } catch (err) {
      throw new Error(`${name} threw ${(err as Error).name}: ${(err as Error).message}`);
    }
  });
}

const wellFormed = (r: { ok: boolean; code?: string }): boolean => r.ok || r.code === 'EPARSE' || r.code === 'ELIMIT';

/** Nesting of a parsed value: 0 for a scalar, 1 + the deepest child for a collection. */
function depthOf(v: unknown): number {
  if (typeof v !== 'object' || v === null) return 0;
  const children = Array.isArray(v) ? v : Object.values(v);
  return 1 + children.reduce<number>((m, c) => Math.max(m, depthOf(c)), 0);
}

// ---- arbitrary input

test('arbitrary text never makes a host-document parser throw; every answer is data or a coded refusal', async (t) => {
  await checkProperty(t, fc.property(fc.string({ unit: 'binary', maxLength: 400 }), (text) => allParsers(text).every(wellFormed)), 400);
});

test('arbitrary bytes (decoded as the readers decode them) never make a parser throw', async (t) => {
  await checkProperty(t, fc.property(fc.uint8Array({ maxLength: 400 }), (bytes) => allParsers(Buffer.from(bytes).toString('utf8')).every(wellFormed)), 400);
});

/** Fragments that mean something to YAML, so the soup reaches the lexer's and composer's corners. */
const YAML_PIECES = ['[', ']', '{', '}', ',', '- ', '? ', ': ', ':', '\n', '  ', '\t', '&a ', '&b ', '*a', '*b', "'", '"', '\\', '# c', '|', '>-', '!!str ', '!x ', 'a', 'kind', '1', '---\n', '...\n', 'null', '~', '%YAML 1.2\n', '\r\n'];
const yamlSoup = fc.array(fc.constantFrom(...YAML_PIECES), { maxLength: 120 }).map((p) => p.join(''));

test('YAML token soup never makes a parser throw', async (t) => {
  await checkProperty(t, fc.property(yamlSoup, (text) => allParsers(text).every(wellFormed)), 600);
});

test('the pre-scan never counts less nesting than the parser builds (documents without aliases)', async (t) => {
  const noAlias = fc.array(fc.constantFrom(...YAML_PIECES.filter((p) => !p.startsWith('*'))), { maxLength: 120 }).map((p) => p.join(''));
  await checkProperty(t, fc.property(noAlias, (text) => {
    const pre = prescanDocument(text, HOST_YAML_LIMITS);
    const parsed = parseHostYaml(text, { quiet: true });
    if (!parsed.ok) return true;
    return pre.ok && pre.stats.depth >= depthOf(parsed.data);
  }), 600);
});

// ---- documents within the limits

const doc = fc.dictionary(fc.string({ maxLength: 8 }), fc.jsonValue({ maxDepth: 6 }), { maxKeys: 6 });

test('real-shaped documents within the limits pass the pre-scan, which sees at least their depth; JSON exactly', async (t) => {
  await checkProperty(t, fc.property(doc, (value) => {
    const json = JSON.stringify(value);
    const yaml = stringify(value);
    const asYaml = prescanDocument(yaml, HOST_YAML_LIMITS);
    const jsonAsYaml = prescanDocument(json, HOST_YAML_LIMITS);
    const asJson = prescanDocument(json, OCI_JSON_LIMITS);
    return asYaml.ok && jsonAsYaml.ok && asJson.ok &&
      asYaml.stats.depth >= depthOf(value) && jsonAsYaml.stats.depth >= depthOf(value) && asJson.stats.depth === depthOf(value) &&
      parseHostYaml(yaml, { quiet: true }).ok;
  }), 300);
});

test('an alias without its anchor (which threw from the old parsers) is a parse error of the file', (t) => {
  for (const [, parse] of PARSERS.slice(0, 4)) t.like(parse('a: *b\n'), { ok: false, code: 'EPARSE' });
  t.like(parseHostYaml('a: *b\n', { quiet: true }), { message: 'not valid YAML or JSON (an alias names no anchor before it)' });
});

test('a real kubelet config is far inside the limits, and counted exactly', (t) => {
  const kubelet = 'apiVersion: kubelet.config.k8s.io/v1beta1\nkind: KubeletConfiguration\nauthentication:\n  anonymous:\n    enabled: false\n  x509:\n    clientCAFile: /etc/kubernetes/pki/ca.crt\n';
  const pre = prescanDocument(kubelet, HOST_YAML_LIMITS);
  t.true(pre.ok);
  if (pre.ok) t.deepEqual(pre.stats, { bytes: kubelet.length, depth: 4, aliases: 0, elements: 18 });
});

// ---- documents over the limits

/** Shapes of nesting, each `depth` levels deep, small enough to stay under the byte limit. */
const NESTINGS: ReadonlyArray<[string, (depth: number) => string]> = [
  ['flow sequences', (d) => `${'['.repeat(d)}${']'.repeat(d)}`],
  ['unclosed flow sequences', (d) => '['.repeat(d)],
  ['flow mappings', (d) => `${'{a: '.repeat(d)}1${'}'.repeat(d)}`],
  ['JSON objects', (d) => `${'{"a":'.repeat(d)}1${'}'.repeat(d)}`],
  ['mixed flow', (d) => `${'[{'.repeat(Math.ceil(d / 2))}${'}]'.repeat(Math.ceil(d / 2))}`],
  ['compact block sequences', (d) => `${'- '.repeat(d)}x\n`],
  ['block mappings', (d) => Array.from({ length: d }, (_, i) => `${' '.repeat(i)}a:`).join('\n') + ' 1\n'],
  ['block sequences of mappings', (d) => Array.from({ length: d }, (_, i) => `${' '.repeat(2 * i)}- a:`).join('\n') + ' 1\n'],
  ['explicit keys', (d) => `${'? '.repeat(d)}x\n`],
];

test('documents nested deeper than the limit are refused before parsing, whatever the shape; shallower ones are not', async (t) => {
  const deep = fc.tuple(fc.constantFrom(...NESTINGS), fc.integer({ min: HOST_YAML_LIMITS.maxDepth + 1, max: 400 }));
  await checkProperty(t, fc.property(deep, ([[, shape], depth]) => {
    const text = shape(depth);
    const pre = prescanDocument(text, HOST_YAML_LIMITS);
    const parsed = parseHostYaml(text, { quiet: true });
    return !pre.ok && pre.limit === 'depth' && /refused before parsing$/.test(pre.message) &&
      !parsed.ok && parsed.code === 'ELIMIT' && parsed.message === pre.message;
  }), 200);
  const shallow = fc.tuple(fc.constantFrom(...NESTINGS), fc.integer({ min: 1, max: 30 }));
  await checkProperty(t, fc.property(shallow, ([[, shape], depth]) => prescanDocument(shape(depth), HOST_YAML_LIMITS).ok), 200);
});

test('the exact 10 KB file that crashed the agent, and deep JSON for the OCI reader, are refused by depth', (t) => {
  const crash = `${'['.repeat(5000)}${']'.repeat(5000)}`;
  t.is(crash.length, 10_000);
  t.like(prescanDocument(crash, HOST_YAML_LIMITS), { ok: false, limit: 'depth', message: 'nested more than 64 levels deep (at line 1): refused before parsing' });
  t.like(readBundleConfig(`{"annotations":${'['.repeat(100)}${']'.repeat(100)}}`), { refused: 'nested more than 64 levels deep (at line 1): refused before parsing' });
  // Brackets inside strings and plain scalars are text, not nesting.
  t.true(prescanDocument(`a: "${'['.repeat(5000)}"\nb: x${'['.repeat(5000)}\n`, HOST_YAML_LIMITS).ok);
  t.true(prescanDocument(`{"a":"${'['.repeat(5000)}\\"${'{'.repeat(100)}"}`, OCI_JSON_LIMITS).ok);
});

test('documents over the byte limit are refused before anything else', async (t) => {
  const big = fc.tuple(fc.integer({ min: 1, max: 4096 }), fc.constantFrom('a', '[', 'é', '\n'));
  await checkProperty(t, fc.property(big, ([extra, ch]) => {
    const text = ch.repeat(Math.ceil((HOST_YAML_LIMITS.maxBytes + extra) / Buffer.byteLength(ch)));
    const pre = prescanDocument(text, HOST_YAML_LIMITS);
    return !pre.ok && pre.limit === 'bytes' && !parseHostYaml(text, { quiet: true }).ok;
  }), 20);
});

test('too many elements are refused before parsing (a flat mapping would cost quadratic duplicate-key checks)', (t) => {
  const flat = Array.from({ length: 5000 }, (_, i) => `k${i}: ${i}`).join('\n');
  t.like(prescanDocument(flat, HOST_YAML_LIMITS), { ok: false, limit: 'elements' });
  t.like(parseHostYaml(flat, { quiet: true }), { ok: false, code: 'ELIMIT' });
});

// ---- aliases

/** A billion-laughs document: `levels` anchors, each holding `fanout` aliases of the one before. */
function laughs(levels: number, fanout: number): string {
  const lines = ['l0: &l0 [x, x, x, x, x, x, x, x, x, x]'];
  for (let i = 1; i <= levels; i++) lines.push(`l${i}: &l${i} [${Array(fanout).fill(`*l${i - 1}`).join(', ')}]`);
  return `${lines.join('\n')}\n`;
}

test('more aliases than the limit are refused before parsing', async (t) => {
  const many = fc.tuple(fc.integer({ min: 2, max: 12 }), fc.integer({ min: 2, max: 12 })).filter(([l, f]) => l * f > HOST_YAML_LIMITS.maxAliases);
  await checkProperty(t, fc.property(many, ([levels, fanout]) => {
    const pre = prescanDocument(laughs(levels, fanout), HOST_YAML_LIMITS);
    return !pre.ok && pre.limit === 'aliases' && parseHostYaml(laughs(levels, fanout), { quiet: true }).ok === false;
  }), 100);
});

test('aliases under the count that would still expand too far are refused, never thrown', async (t) => {
  const few = fc.tuple(fc.integer({ min: 1, max: 8 }), fc.integer({ min: 1, max: 8 })).filter(([l, f]) => l * f <= HOST_YAML_LIMITS.maxAliases);
  await checkProperty(t, fc.property(few, ([levels, fanout]) => {
    const text = laughs(levels, fanout);
    if (!prescanDocument(text, HOST_YAML_LIMITS).ok) return false;
    const parsed = parseHostYaml(text, { quiet: true });
    // Within the expansion guard: data; past it: one refusal of this file.
    return parsed.ok || (parsed.code === 'ELIMIT' && parsed.message === `aliases expand past the limit of ${MAX_ALIAS_EXPANSION}: refused`);
  }), 100);
  // The 50-alias bomb of the issue: 10^6 strings from six lines.
  t.like(parseHostYaml(laughs(5, 10), { quiet: true }), { ok: false, code: 'ELIMIT' });
});

// ---- every reader: a refused file is that file's error, and the others are still read

test('each host-document reader turns a refusal into that file\'s ELIMIT error; the good file beside it is still read', async (t) => {
  const root = await mkdtemp(join(tmpdir(), 'nodeward-limits-'));
  t.teardown(() => rm(root, { recursive: true, force: true }));
  const put = async (path: string, text: string): Promise<void> => {
    await mkdir(join(root, dirname(path)), { recursive: true });
    await writeFile(join(root, path), text);
  };
  const deep = `${'['.repeat(5000)}${']'.repeat(5000)}`;
  const cid = 'a'.repeat(64);
  await put('/etc/k/kubelet.yaml', deep);
  await put('/etc/k/manifests/bad.yaml', deep);
  await put('/etc/k/manifests/good.yaml', 'kind: Pod\nspec:\n  containers:\n  - command: [kube-scheduler, --profiling=false]\n');
  await put('/etc/k/audit.yaml', laughs(5, 10));
  await put('/etc/k/encryption.yaml', deep);
  await put('/etc/k/etcd.conf', deep);
  await put('/etc/rancher/k3s/config.yaml', deep);
  await put('/etc/rancher/k3s/config.yaml.d/10-ok.yaml', 'kube-apiserver-arg: [profiling=false]\n');
  await put(`/run/containerd/io.containerd.runtime.v2.task/k8s.io/${cid}/config.json`, `{"annotations":${deep}}`);
  const hostFs = createHostFs(root);
  // Each names the limit it passed: that is what document-refusals.ts counts.
  const limited = (e: { code: string; message: string; limit?: string } | null | undefined): boolean =>
    e?.code === 'ELIMIT' && /refused/.test(e.message) && (e.limit === 'depth' || e.limit === 'alias-expansion');

  t.true(limited((await readConfigDoc(hostFs, '/etc/k/kubelet.yaml', 'KubeletConfiguration')).error));
  const pods = await readStaticPods(hostFs, ['/etc/k/manifests']);
  t.true(limited(pods.pods.find((p) => p.path.endsWith('bad.yaml'))?.error));
  t.like(pods.pods.find((p) => p.path.endsWith('good.yaml')), { component: 'kube-scheduler', error: null });
  t.true(limited((await readAuditPolicy(hostFs, '/etc/k/audit.yaml')).error));
  t.true(limited((await readEncryptionConfig(hostFs, '/etc/k/encryption.yaml')).error));
  t.true(limited((await readComponentConfig(hostFs, '/etc/k/etcd.conf', null, [['name']])).error));
  const k3s = await collectK3s(hostFs, 1, ['server'], false, '/etc/rancher/k3s/config.yaml', K3S_LAYOUT.embeddedControlPlane!, 'k3s server');
  t.true(limited(k3s.facts.configFiles.find((f) => f.path === '/etc/rancher/k3s/config.yaml')?.error));
  t.deepEqual(k3s.componentArgs['kube-apiserver'].map((a) => `${a.name}=${a.value}`), ['profiling=false'], 'the drop-in after it is still applied');
  const oci = await lookupContainer(hostFs, cid, 'containerd');
  t.false(oci.ok);
  if (!oci.ok) t.regex(oci.reason, /config\.json: nested more than 64 levels deep \(at line 1\): refused before parsing/);
});

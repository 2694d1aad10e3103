// Every relative link in README.md and docs/ resolves to a file, and to a heading where it
// names an anchor.
import test from 'ava';
import { readFileSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { brokenLinks, documentationFiles, markdownLinks } from '../../scripts/docs/links.js';
import { headingAnchors, slug } from '../../scripts/docs/markdown.js';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));

test('every relative link in README.md and docs/ resolves, anchors included', (t) => {
  const files = documentationFiles(ROOT);
  t.true(files.includes('README.md') && files.includes('docs/install.md') && files.includes('docs/checks.md'));
  t.true(files.reduce((n, f) => n + markdownLinks(readFileSync(join(ROOT, f), 'utf8')).length, 0) > 100, 'the docs link to each other');
  t.deepEqual(brokenLinks(ROOT, files), []);
});

test('the link check finds a missing file, a missing anchor and an anchor in the same file', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'nodeward-links-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  await mkdir(join(dir, 'docs'));
  await writeFile(join(dir, 'README.md'), [
    '# Title', '', '## Quick start', '',
    'See [a](docs/a.md), [a heading](docs/a.md#the-part), [gone](docs/gone.md), [bad](docs/a.md#nope).',
    'Also [here](#quick-start) and [not here](#elsewhere), and [out](https://example.com/x.md#y).',
    '`[not a link](docs/none.md)`', '```', '[in a block](docs/none.md)', '```',
    '![image](docs/missing.png)',
  ].join('\n'));
  await writeFile(join(dir, 'docs', 'a.md'), '# A\n\n## The part\n\nBack to [the README](../README.md#title).\n');
  t.deepEqual(brokenLinks(dir, documentationFiles(dir)), [
    'README.md:5: docs/gone.md: no file docs/gone.md',
    'README.md:5: docs/a.md#nope: docs/a.md has no heading #nope',
    'README.md:6: #elsewhere: README.md has no heading #elsewhere',
    'README.md:11: docs/missing.png: no file docs/missing.png',
  ]);
});

test('anchors are made as GitHub makes them', (t) => {
  t.is(slug('`POST /api/v1/baselines/allow`'), 'post-apiv1baselinesallow');
  t.is(slug("Exec events: eBPF, else the kernel's process connector"), 'exec-events-ebpf-else-the-kernels-process-connector');
  t.is(slug('cis-1.2.10'), 'cis-1210');
  t.is(slug('Your own CA, or none in the cluster: `pki init`'), 'your-own-ca-or-none-in-the-cluster-pki-init');
  t.deepEqual(headingAnchors('# A\n## B\n```\n# not a heading\n```\n## B\n'), ['a', 'b', 'b-1']);
});

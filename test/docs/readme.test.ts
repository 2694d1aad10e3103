// The README a newcomer reads: short, its quick start exactly `npm ci`, `npm start`, `npm test`,
// a real screenshot; and no doc tells a user to run a `nodeward` that is not on their PATH or
// to read a design document they do not have.
import test from 'ava';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { documentationFiles } from '../../scripts/docs/links.js';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const read = (file: string): string => readFileSync(`${ROOT}${file}`, 'utf8');
const README = read('README.md');

/** The shell blocks of a Markdown text, with their line numbers. */
function shellBlocks(markdown: string): { start: number; lines: string[] }[] {
  const out: { start: number; lines: string[] }[] = [];
  let current: { start: number; lines: string[] } | null = null;
  markdown.split('\n').forEach((line, i) => {
    if (current === null && /^```(sh|bash|shell|console)\s*$/.test(line)) current = { start: i + 1, lines: [] };
    else if (current !== null && /^```\s*$/.test(line)) {
      out.push(current);
      current = null;
    } else if (current !== null) current.lines.push(line);
  });
  return out;
}

/** A command line without its comment. */
const command = (line: string): string => line.replace(/(^|\s)#.*$/, '').trim();

test("the README's quick start is exactly npm ci, npm start, npm test", (t) => {
  const start = README.indexOf('\n## Quick start\n');
  t.true(start > 0, 'the README has a Quick start section');
  const [first] = shellBlocks(README.slice(start));
  t.deepEqual(first?.lines.map(command).filter((l) => l !== ''), ['npm ci', 'npm start', 'npm test']);
});

test('the README reads in five minutes: under 1,000 words of prose', (t) => {
  const prose = README.replace(/```[\s\S]*?```/g, '').replace(/\]\([^)]*\)/g, ']');
  const words = prose.split(/\s+/).filter((w) => /[A-Za-z0-9]/.test(w)).length;
  t.true(words < 1000, `the README has ${words} words`);
  t.true(words > 200, 'it still says what nodeward is');
});

test('the README shows a dashboard screenshot, a real PNG', (t) => {
  const m = /!\[[^\]]+\]\((docs\/images\/[^)]+\.png)\)/.exec(README);
  t.truthy(m, 'the README embeds an image from docs/images/');
  const png = readFileSync(`${ROOT}${m![1]}`);
  t.deepEqual([...png.subarray(0, 8)], [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a], 'it is a PNG');
  const width = png.readUInt32BE(16);
  const height = png.readUInt32BE(20);
  t.true(width >= 800 && height >= 400, `a screenshot of a page, not an icon: ${width}x${height}`);
});

const SUBCOMMANDS = ['scan', 'agent', 'collector', 'query', 'findings', 'audit', 'webhooks', 'baseline', 'node', 'pki', 'dev'];
const BARE = new RegExp(`^(?:\\$\\s*)?nodeward\\s+(?:${SUBCOMMANDS.join('|')})\\b`);
const BARE_INLINE = new RegExp(`\`nodeward\\s+(?:${SUBCOMMANDS.join('|')})\\b`);

test('examples run ./bin/nodeward or npx nodeward, never a bare nodeward that is not on PATH', (t) => {
  const bare: string[] = [];
  for (const file of documentationFiles(ROOT)) {
    const text = read(file);
    for (const block of shellBlocks(text)) {
      block.lines.forEach((line, i) => {
        if (BARE.test(line.trim())) bare.push(`${file}:${block.start + i + 1}: ${line.trim()}`);
      });
    }
    text.split('\n').forEach((line, i) => {
      if (BARE_INLINE.test(line)) bare.push(`${file}:${i + 1}: ${line.trim()}`);
    });
  }
  t.deepEqual(bare, []);
  t.true(BARE.test('nodeward query nodes') && BARE_INLINE.test('run `nodeward scan`'), 'the check would see one');
});

test('no doc refers to a design document users do not have', (t) => {
  const mentions = documentationFiles(ROOT).flatMap((file) =>
    read(file).split('\n').flatMap((line, i) => (/\bdesign\b|reference\/cis-/i.test(line) ? [`${file}:${i + 1}`] : [])));
  t.deepEqual(mentions, []);
});

// Relative links in Markdown, and whether each resolves: to a file or directory, and to a
// heading of the target (or of the same file) when it names an anchor. Links with a scheme
// (https:, mailto:) are not followed. Used by test/docs/links.test.ts.
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { headingAnchors } from './markdown.js';

export interface Link {
  readonly target: string;
  readonly line: number;
}

/** Inline links and images, reference definitions and <img src>, outside code. */
export function markdownLinks(markdown: string): Link[] {
  const out: Link[] = [];
  let fence: string | null = null;
  markdown.split('\n').forEach((raw, i) => {
    const f = /^\s*(```+|~~~+)/.exec(raw);
    if (f) {
      const mark = (f[1] as string).slice(0, 3);
      if (fence === null) fence = mark;
      else if (mark === fence) fence = null;
      return;
    }
    if (fence !== null) return;
    const line = raw.replace(/(`+)[^`]*?\1/g, '');
    for (const m of line.matchAll(/!?\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+"[^"]*")?\s*\)/g)) out.push({ target: m[1] as string, line: i + 1 });
    const def = /^\s{0,3}\[[^\]]+\]:\s*<?(\S+?)>?(?:\s+"[^"]*")?\s*$/.exec(line);
    if (def) out.push({ target: def[1] as string, line: i + 1 });
    for (const m of line.matchAll(/<img\s[^>]*src="([^"]+)"/g)) out.push({ target: m[1] as string, line: i + 1 });
  });
  return out;
}

const anchorCache = new Map<string, Set<string>>();
function anchorsOf(file: string): Set<string> {
  let a = anchorCache.get(file);
  if (!a) {
    a = new Set(headingAnchors(readFileSync(file, 'utf8')));
    anchorCache.set(file, a);
  }
  return a;
}

/** Every relative link of `files` (paths under `root`) that does not resolve, as `file:line: why`. */
export function brokenLinks(root: string, files: readonly string[]): string[] {
  anchorCache.clear();
  const problems: string[] = [];
  for (const file of files) {
    const abs = resolve(root, file);
    for (const { target, line } of markdownLinks(readFileSync(abs, 'utf8'))) {
      if (/^[a-z][a-z0-9+.-]*:/i.test(target)) continue;
      const hash = target.indexOf('#');
      const pathPart = decodeURI(hash >= 0 ? target.slice(0, hash) : target);
      const anchor = hash >= 0 ? decodeURIComponent(target.slice(hash + 1)) : '';
      const where = `${relative(root, abs)}:${line}`;
      const dest = pathPart === '' ? abs : resolve(dirname(abs), pathPart);
      if (!dest.startsWith(resolve(root))) {
        problems.push(`${where}: ${target} leaves the repository`);
        continue;
      }
      if (!existsSync(dest)) {
        problems.push(`${where}: ${target}: no file ${relative(root, dest)}`);
        continue;
      }
      if (anchor === '') continue;
      if (statSync(dest).isDirectory() || !dest.endsWith('.md')) {
        problems.push(`${where}: ${target}: an anchor into ${relative(root, dest)}, which has no headings`);
        continue;
      }
      if (!anchorsOf(dest).has(anchor)) problems.push(`${where}: ${target}: ${relative(root, dest)} has no heading #${anchor}`);
    }
  }
  return problems;
}

/** README.md and every Markdown file under docs/, relative to the repository root, sorted. */
export function documentationFiles(root: string): string[] {
  const docs = readdirSync(join(root, 'docs'), { recursive: true, encoding: 'utf8' }).filter((f) => f.endsWith('.md')).map((f) => `docs/${f}`);
  return ['README.md', ...docs.sort()];
}

// The source tree's import graph, read from the files themselves: every import, export-from
// and dynamic import of every TypeScript source under the given directories, type-only ones
// included (a cycle through types is still a cycle for a reader). Relative specifiers become
// repository paths (x.js -> x.ts); packages stay by name. Used by the layering tests
// (test/collector/import-graph.test.ts) and the cycle check (test/import-cycles.test.ts).
import { readdir, readFile } from 'node:fs/promises';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = fileURLToPath(new URL('../../../', import.meta.url));

export interface Source {
  /** Repository path, e.g. collector/store/db.ts. */
  readonly path: string;
  readonly text: string;
  /** Repository paths of the files it imports; package names for packages. */
  readonly imports: string[];
}

const SPECIFIERS = [
  /\b(?:import|export)\s+(?:type\s+)?[^'";]*?\bfrom\s*['"]([^'"]+)['"]/g,
  /\bimport\s*['"]([^'"]+)['"]/g,
  /\bimport\(\s*['"]([^'"]+)['"]\s*\)/g,
];

/** The imports of one source text at repository path `path`. */
export function importsOf(path: string, text: string): string[] {
  const abs = join(ROOT, path);
  const imports = new Set<string>();
  for (const re of SPECIFIERS) {
    for (const m of text.matchAll(re)) {
      const spec = m[1]!;
      imports.add(spec.startsWith('.') ? relative(ROOT, resolve(dirname(abs), spec)).replace(/\.js$/, '.ts') : spec);
    }
  }
  return [...imports];
}

export async function sources(dir: string): Promise<Source[]> {
  const out: Source[] = [];
  for (const e of await readdir(join(ROOT, dir), { withFileTypes: true, recursive: true })) {
    if (!e.isFile() || !e.name.endsWith('.ts') || e.name.endsWith('.d.ts')) continue;
    const abs = join(e.parentPath, e.name);
    const path = relative(ROOT, abs);
    const text = await readFile(abs, 'utf8');
    out.push({ path, text, imports: importsOf(path, text) });
  }
  return out;
}

/** Every source `from` reaches through its imports (type-only ones and re-exports included), itself too. */
export function reach(byPath: ReadonlyMap<string, Source>, from: string): Set<string> {
  const seen = new Set<string>();
  const todo = [from];
  for (let p = todo.pop(); p !== undefined; p = todo.pop()) {
    if (seen.has(p) || !byPath.has(p)) continue;
    seen.add(p);
    todo.push(...byPath.get(p)!.imports);
  }
  return seen;
}

/**
 * The import cycles among `files`: each strongly connected component of more than one file
 * (or a file importing itself), its paths sorted; Tarjan's algorithm, iterative.
 */
export function importCycles(files: readonly Pick<Source, 'path' | 'imports'>[]): string[][] {
  const byPath = new Map(files.map((f) => [f.path, f]));
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const onStack = new Set<string>();
  const stack: string[] = [];
  const out: string[][] = [];
  let next = 0;
  for (const root of byPath.keys()) {
    if (index.has(root)) continue;
    const work: Array<{ node: string; edges: string[]; i: number }> = [];
    const enter = (node: string): void => {
      index.set(node, next);
      low.set(node, next++);
      stack.push(node);
      onStack.add(node);
      work.push({ node, edges: byPath.get(node)!.imports.filter((i) => byPath.has(i)), i: 0 });
    };
    enter(root);
    while (work.length > 0) {
      const top = work[work.length - 1]!;
      if (top.i < top.edges.length) {
        const to = top.edges[top.i++]!;
        if (!index.has(to)) enter(to);
        else if (onStack.has(to)) low.set(top.node, Math.min(low.get(top.node)!, index.get(to)!));
        continue;
      }
      work.pop();
      const parent = work[work.length - 1];
      if (parent) low.set(parent.node, Math.min(low.get(parent.node)!, low.get(top.node)!));
      if (low.get(top.node) !== index.get(top.node)) continue;
      const component: string[] = [];
      for (let n = stack.pop(); n !== undefined; n = stack.pop()) {
        onStack.delete(n);
        component.push(n);
        if (n === top.node) break;
      }
      if (component.length > 1 || byPath.get(top.node)!.imports.includes(top.node)) out.push(component.sort());
    }
  }
  return out;
}

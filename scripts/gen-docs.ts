// Writes the generated references under docs/ (`npm run gen:docs`, which builds first):
// configuration.md from the config schemas, checks.md from the check catalog, api.md from the
// collector's OpenAPI document, interpreters.md from the process judge's tables.
// test/docs/generated.test.ts fails when a committed file differs from what this writes.
// `--check` writes nothing and exits 1 naming the files that are out of date.
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { generatedDocs } from './docs/generated.js';

const DOCS = fileURLToPath(new URL('../../docs/', import.meta.url));

async function main(argv: readonly string[]): Promise<number> {
  const check = argv.includes('--check');
  const stale: string[] = [];
  for (const [name, text] of Object.entries(await generatedDocs())) {
    const path = `${DOCS}${name}`;
    let current = '';
    try {
      current = readFileSync(path, 'utf8');
    } catch {
      // a new reference: written below
    }
    if (current === text) continue;
    stale.push(`docs/${name}`);
    if (!check) writeFileSync(path, text);
  }
  if (check && stale.length > 0) {
    process.stderr.write(`out of date: ${stale.join(', ')}; run npm run gen:docs\n`);
    return 1;
  }
  process.stdout.write(stale.length === 0 ? 'docs/ references are up to date\n' : `wrote ${stale.join(', ')}\n`);
  return 0;
}

process.exitCode = await main(process.argv.slice(2));

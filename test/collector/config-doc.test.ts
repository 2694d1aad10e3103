// Every collector setting is in the README's configuration table, with its environment
// variable and default, so a new setting cannot ship undocumented.
import test from 'ava';
import { readFileSync } from 'node:fs';
import { CollectorConfigSchema } from '../../collector/config.js';
import { envSettings } from '../../proto/support/config-loader.js';

const README = readFileSync(new URL('../../../README.md', import.meta.url), 'utf8');

test('the README documents every collector setting with its environment variable and default', (t) => {
  const section = README.slice(README.indexOf('### Collector (`nodeward collector`)'));
  t.true(section.length > 0);
  const settings = envSettings(CollectorConfigSchema, 'NODEWARD');
  t.true(settings.length >= 20);
  for (const s of settings) {
    const row = section.split('\n').find((l) => l.startsWith(`| \`${s.path}\` |`));
    t.truthy(row, `no README row for ${s.path}`);
    t.true(row!.includes(`\`${s.env}\``), `${s.path}: the row names ${s.env}`);
    if (typeof s.default === 'number' || typeof s.default === 'boolean') t.true(row!.includes(`\`${String(s.default)}\``), `${s.path}: the row gives the default ${String(s.default)}`);
  }
});

// Freezes the current agent's wire messages as binary protobuf fixtures (see
// test/helpers/wire-fixtures.ts): `npm run build && node dist/scripts/freeze-wire.js`.
// Writes test/fixtures/wire/<agent version>-<UTC date>/; an existing set is never rewritten.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { WIRE_FIXTURES_DIR, writeWireFixtures } from '../test/helpers/wire-fixtures.js';

const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
const now = Date.now();
const dir = join(WIRE_FIXTURES_DIR, `${pkg.version}-${new Date(now).toISOString().slice(0, 10)}`);
const manifest = await writeWireFixtures(dir, pkg.version, now);
process.stdout.write(`${dir}: ${manifest.messages.map((m) => m.file).join(', ')}\n`);

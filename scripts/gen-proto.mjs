// Regenerates proto/gen/ (TypeScript types) from proto/nodeward/v1/*.proto.
// The load options here must match proto/load.ts; test/proto/generated.test.ts checks
// that the committed output is current.
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync, writeFileSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const outDir = process.argv[2] ?? join(root, 'proto', 'gen');
rmSync(outDir, { recursive: true, force: true });
execFileSync(
  join(root, 'node_modules', '.bin', 'proto-loader-gen-types'),
  ['--longs=Number', '--enums=String', '--defaults', '--oneofs', '--grpcLib=@grpc/grpc-js',
    '-I', join(root, 'proto'), '-O', outDir, 'nodeward/v1/agent.proto'],
  { stdio: 'inherit' },
);

// The generator writes extension-less relative imports; NodeNext resolution wants ".js".
function walk(dir) {
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) walk(p);
    else if (p.endsWith('.ts')) {
      const text = readFileSync(p, 'utf8').split(root).join('').replace(/from '(\.{1,2}\/[^']+)'/g, (_m, spec) =>
        spec.endsWith('.js') ? `from '${spec}'` : `from '${spec}.js'`);
      writeFileSync(p, text);
    }
  }
}
walk(outDir);

// Renders the release's single install.yaml (scripts/install-yaml.ts), what
// .github/workflows/release.yml attaches to a release once the images are pushed:
//
//   npm run build && node dist/scripts/render-install.js \
//     --agent ghcr.io/OWNER/nodeward-agent@sha256:<digest> \
//     --collector ghcr.io/OWNER/nodeward-collector@sha256:<digest> --out install.yaml
//
// Offline: kubectl's built-in kustomize builds manifests/ (--kubectl names another kubectl).
// Exit codes: 0 written; 2 a usage error or a reference refused (no digest, no registry, the
// wrong image); 1 the build or the output's own check failed. Nothing is written unless the
// output passes its check.
import { readFileSync } from 'node:fs';
import { rename, writeFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { parseImageReference, renderInstall, RenderError } from './install-yaml.js';

const REPO_ROOT = new URL('../../', import.meta.url);
const USAGE = 'usage: render-install --agent REGISTRY/OWNER/nodeward-agent@sha256:<hex> --collector REGISTRY/OWNER/nodeward-collector@sha256:<hex> --out FILE [--manifests DIR] [--kubectl PATH]';

async function main(argv: string[]): Promise<number> {
  let values: { agent?: string; collector?: string; out?: string; manifests?: string; kubectl?: string };
  try {
    ({ values } = parseArgs({
      args: argv,
      options: { agent: { type: 'string' }, collector: { type: 'string' }, out: { type: 'string' }, manifests: { type: 'string' }, kubectl: { type: 'string' } },
      strict: true,
      allowPositionals: false,
    }));
  } catch (err) {
    process.stderr.write(`render-install: ${(err as Error).message}\n${USAGE}\n`);
    return 2;
  }
  const missing = (['agent', 'collector', 'out'] as const).filter((k) => !values[k]);
  if (missing.length > 0) {
    process.stderr.write(`render-install: missing ${missing.map((k) => `--${k}`).join(', ')}\n${USAGE}\n`);
    return 2;
  }
  const { version } = JSON.parse(readFileSync(new URL('package.json', REPO_ROOT), 'utf8')) as { version: string };
  try {
    // Both references are judged before anything is built, and both refusals are reported.
    const refused: string[] = [];
    const parse = (role: 'agent' | 'collector'): ReturnType<typeof parseImageReference> | undefined => {
      try {
        return parseImageReference(values[role] ?? '', role);
      } catch (err) {
        if (!(err instanceof RenderError)) throw err;
        refused.push(`${err.code}: ${err.message}`);
        return undefined;
      }
    };
    const agent = parse('agent');
    const collector = parse('collector');
    if (!agent || !collector) {
      process.stderr.write(`render-install: refused:\n  ${refused.join('\n  ')}\n`);
      return 2;
    }
    const out = values.out!;
    const { text, objects } = await renderInstall({
      manifestsDir: values.manifests ?? fileURLToPath(new URL('manifests', REPO_ROOT)),
      kubectl: values.kubectl ?? 'kubectl',
      images: { agent, collector },
      header: [
        `nodeward ${version}: every object of manifests/, images pinned by digest.`,
        'Rendered by scripts/render-install.ts; apply with `kubectl apply -f install.yaml` (docs/install.md).',
        `agent:     ${agent.pinned}`,
        `collector: ${collector.pinned}`,
      ],
    });
    const tmp = `${out}.tmp-${process.pid}`;
    await writeFile(tmp, text, { mode: 0o644 });
    await rename(tmp, out);
    process.stdout.write(`render-install: wrote ${out} (${objects} objects)\n  agent     ${agent.pinned}\n  collector ${collector.pinned}\n`);
    return 0;
  } catch (err) {
    const e = err as Error & { code?: string };
    process.stderr.write(`render-install: ${e instanceof RenderError ? `${e.code}: ` : ''}${e.message}\n`);
    return 1;
  }
}

process.exitCode = await main(process.argv.slice(2));

// The generated references, by file name under docs/: one list for the generator
// (scripts/gen-docs.ts) and the drift test (test/docs/generated.test.ts).
import { apiMarkdown, collectorOpenApi } from './api.js';
import { checksMarkdown } from './checks.js';
import { configurationMarkdown } from './configuration.js';
import { interpretersDoc } from './interpreters.js';
import { metricsMarkdown } from './metrics.js';

export const GENERATED_DOCS = ['configuration.md', 'checks.md', 'api.md', 'interpreters.md', 'metrics.md'] as const;
export type GeneratedDoc = (typeof GENERATED_DOCS)[number];

/** What each generated reference holds now. Deterministic: no time, no host, no random. */
export async function generatedDocs(): Promise<Record<GeneratedDoc, string>> {
  return {
    'configuration.md': configurationMarkdown(),
    'checks.md': checksMarkdown(),
    'api.md': apiMarkdown(await collectorOpenApi()),
    'interpreters.md': interpretersDoc(),
    'metrics.md': metricsMarkdown(),
  };
}

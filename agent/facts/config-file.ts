// Reads a YAML or JSON configuration document from the host (YAML 1.2 is a superset of JSON,
// so one parser serves both).
import { parseDocument } from 'yaml';
import type { HostFs } from './host-fs.js';
import type { ConfigDoc, JsonObject } from './host-facts.js';

export type ParsedConfig = { readonly ok: true; readonly data: JsonObject } | { readonly ok: false; readonly message: string };

const isMapping = (v: unknown): v is JsonObject => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Parses one document that must be a mapping; `kind`, when given, must match. */
export function parseConfigText(text: string, kind?: string): ParsedConfig {
  const doc = parseDocument(text, { uniqueKeys: true });
  const problem = doc.errors[0];
  if (problem !== undefined) return { ok: false, message: `not valid YAML or JSON: ${problem.message.split('\n')[0]}` };
  const data: unknown = doc.toJS({ maxAliasCount: 100 });
  if (!isMapping(data)) return { ok: false, message: 'the document is not a mapping' };
  if (kind !== undefined && data['kind'] !== undefined && data['kind'] !== kind) {
    return { ok: false, message: `kind is ${JSON.stringify(data['kind'])}, expected ${kind}` };
  }
  return { ok: true, data };
}

export async function readConfigDoc(hostFs: HostFs, path: string, kind?: string): Promise<ConfigDoc> {
  const raw = await hostFs.readFile(path);
  if (!raw.ok) return { path, data: null, error: raw.error };
  const parsed = parseConfigText(raw.value.toString('utf8'), kind);
  if (!parsed.ok) return { path, data: null, error: { code: 'EPARSE', path, message: `${path}: ${parsed.message}` } };
  return { path, data: parsed.data, error: null };
}

// Documents the control-plane components name, read through the rooted host reader and
// reduced to what the checks judge. The encryption configuration holds key material: it is
// reduced to its structure (resources, provider types, key counts) right here, and a parse
// error about it never quotes the file.
import { parseError as documentError, parseHostYaml, readHostYaml, type ParsedConfig } from './config-file.js';
import type { HostFs } from './host-fs.js';
import type { ConfigDoc, FactError, JsonObject, JsonValue } from './host-facts.js';
import type {
  AuditGroupResources,
  AuditPolicyFacts,
  AuditRuleFact,
  AuthenticationConfigFacts,
  AuthorizationConfigFacts,
  EncryptionConfigFacts,
  EncryptionProviderFact,
  EncryptionResourceFact,
} from './control-plane-types.js';

const isMapping = (v: JsonValue | undefined): v is JsonObject => typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * YAML or JSON to a mapping, through the one host-document parser (pre-scan and limits
 * included). The message of a failure names the problem and its line only, never a snippet
 * of the text (which could be a key).
 */
export function parseQuietly(text: string): ParsedConfig {
  return parseHostYaml(text, { quiet: true });
}

const parseError = (path: string, message: string): FactError => ({ code: 'EPARSE', path, message: `${path}: ${message}` });

async function readMapping(hostFs: HostFs, path: string, kinds: readonly string[]): Promise<{ data: JsonObject } | { error: FactError }> {
  const raw = await readHostYaml(hostFs, path);
  if (!raw.ok) return { error: raw.error };
  const parsed = parseQuietly(raw.text);
  if (!parsed.ok) return { error: documentError(path, parsed) };
  const kind = parsed.data['kind'];
  if (!kinds.includes(typeof kind === 'string' ? kind : '')) {
    return { error: parseError(path, `kind is ${JSON.stringify(kind ?? null)}, expected ${kinds.join(' or ')}`) };
  }
  return { data: parsed.data };
}

const stringList = (v: JsonValue | undefined): string[] | null =>
  v === undefined || v === null ? [] : Array.isArray(v) && v.every((e) => typeof e === 'string') ? (v as string[]) : null;

const PROVIDER_TYPES = new Set(['identity', 'aescbc', 'aesgcm', 'secretbox', 'kms']);

/**
 * The bytes a key's secret decodes to, decoded as the API server does (Go's standard base64:
 * padded, line breaks ignored); null when it does not decode. Only the length leaves here.
 */
function keyLength(key: JsonValue): number | null {
  const secret = isMapping(key) ? key['secret'] : undefined;
  if (typeof secret !== 'string') return null;
  const s = secret.replace(/[\r\n]/g, '');
  if (s.length % 4 !== 0 || !/^[A-Za-z0-9+/]*={0,2}$/.test(s)) return null;
  return (s.length / 4) * 3 - (s.endsWith('==') ? 2 : s.endsWith('=') ? 1 : 0);
}

/** An EncryptionConfiguration reduced to structure. Pure; `data` never leaves this function. */
export function summariseEncryptionConfig(path: string, data: JsonObject): EncryptionConfigFacts {
  const fail = (message: string): EncryptionConfigFacts => ({ path, error: parseError(path, message), resources: [] });
  const entries = data['resources'];
  if (!Array.isArray(entries)) return fail('resources is not a list');
  const resources: EncryptionResourceFact[] = [];
  for (const [i, entry] of entries.entries()) {
    if (!isMapping(entry)) return fail(`resources[${i}] is not a mapping`);
    const names = stringList(entry['resources']);
    if (names === null) return fail(`resources[${i}].resources is not a list of strings`);
    const list = entry['providers'];
    if (!Array.isArray(list)) return fail(`resources[${i}].providers is not a list`);
    const providers: EncryptionProviderFact[] = [];
    for (const [j, p] of list.entries()) {
      const types = isMapping(p) ? Object.keys(p) : [];
      const type = types[0];
      if (types.length !== 1 || type === undefined || !PROVIDER_TYPES.has(type)) {
        return fail(`resources[${i}].providers[${j}] must name exactly one of ${[...PROVIDER_TYPES].join(', ')}`);
      }
      const body = (p as JsonObject)[type];
      const cfg = isMapping(body) ? body : {};
      const keys = cfg['keys'];
      providers.push({
        type,
        name: type === 'kms' && typeof cfg['name'] === 'string' ? cfg['name'] : '',
        apiVersion: type === 'kms' ? (typeof cfg['apiVersion'] === 'string' ? cfg['apiVersion'] : 'v1') : '',
        keyLengths: Array.isArray(keys) ? keys.map(keyLength) : [],
      });
    }
    resources.push({ resources: names, providers });
  }
  return { path, error: null, resources };
}

export async function readEncryptionConfig(hostFs: HostFs, path: string): Promise<EncryptionConfigFacts> {
  const r = await readMapping(hostFs, path, ['EncryptionConfiguration', 'EncryptionConfig']);
  return 'error' in r ? { path, error: r.error, resources: [] } : summariseEncryptionConfig(path, r.data);
}

const AUDIT_LEVELS = new Set(['None', 'Metadata', 'Request', 'RequestResponse']);

/** An audit Policy's rules, validated. Pure. */
export function parseAuditPolicy(path: string, data: JsonObject): AuditPolicyFacts {
  const fail = (message: string): AuditPolicyFacts => ({ path, error: parseError(path, message), rules: [] });
  const list = data['rules'] ?? [];
  if (!Array.isArray(list)) return fail('rules is not a list');
  const rules: AuditRuleFact[] = [];
  for (const [i, r] of list.entries()) {
    if (!isMapping(r)) return fail(`rules[${i}] is not a mapping`);
    const level = r['level'];
    if (typeof level !== 'string' || !AUDIT_LEVELS.has(level)) return fail(`rules[${i}].level is ${JSON.stringify(level ?? null)}, not one of ${[...AUDIT_LEVELS].join(', ')}`);
    const lists: Record<string, string[]> = {};
    for (const key of ['users', 'userGroups', 'verbs', 'namespaces', 'nonResourceURLs']) {
      const v = stringList(r[key]);
      if (v === null) return fail(`rules[${i}].${key} is not a list of strings`);
      lists[key] = v;
    }
    const groups: AuditGroupResources[] = [];
    const rawGroups = r['resources'] ?? [];
    if (!Array.isArray(rawGroups)) return fail(`rules[${i}].resources is not a list`);
    for (const [j, g] of rawGroups.entries()) {
      if (!isMapping(g)) return fail(`rules[${i}].resources[${j}] is not a mapping`);
      const group = g['group'] ?? '';
      const res = stringList(g['resources']);
      const names = stringList(g['resourceNames']);
      if (typeof group !== 'string' || res === null || names === null) return fail(`rules[${i}].resources[${j}] is malformed`);
      groups.push({ group, resources: res, resourceNames: names });
    }
    rules.push({
      level,
      users: lists['users'] ?? [],
      userGroups: lists['userGroups'] ?? [],
      verbs: lists['verbs'] ?? [],
      namespaces: lists['namespaces'] ?? [],
      resources: groups,
      nonResourceURLs: lists['nonResourceURLs'] ?? [],
    });
  }
  return { path, error: null, rules };
}

export async function readAuditPolicy(hostFs: HostFs, path: string): Promise<AuditPolicyFacts> {
  const r = await readMapping(hostFs, path, ['Policy']);
  return 'error' in r ? { path, error: r.error, rules: [] } : parseAuditPolicy(path, r.data);
}

export async function readAuthorizationConfig(hostFs: HostFs, path: string): Promise<AuthorizationConfigFacts> {
  const r = await readMapping(hostFs, path, ['AuthorizationConfiguration']);
  if ('error' in r) return { path, error: r.error, authorizers: [] };
  const list = r.data['authorizers'];
  if (!Array.isArray(list)) return { path, error: parseError(path, 'authorizers is not a list'), authorizers: [] };
  const authorizers: { type: string; name: string }[] = [];
  for (const [i, a] of list.entries()) {
    if (!isMapping(a) || typeof a['type'] !== 'string') return { path, error: parseError(path, `authorizers[${i}].type is missing`), authorizers: [] };
    authorizers.push({ type: a['type'], name: typeof a['name'] === 'string' ? a['name'] : '' });
  }
  return { path, error: null, authorizers };
}

export async function readAuthenticationConfig(hostFs: HostFs, path: string): Promise<AuthenticationConfigFacts> {
  const r = await readMapping(hostFs, path, ['AuthenticationConfiguration']);
  if ('error' in r) return { path, error: r.error, anonymous: null };
  const anon = r.data['anonymous'];
  if (anon === undefined || anon === null) return { path, error: null, anonymous: null };
  if (!isMapping(anon) || typeof anon['enabled'] !== 'boolean') return { path, error: parseError(path, 'anonymous.enabled is not a boolean'), anonymous: null };
  const conditions = Array.isArray(anon['conditions'])
    ? anon['conditions'].map((c) => (isMapping(c) && typeof c['path'] === 'string' ? c['path'] : '?'))
    : [];
  return { path, error: null, anonymous: { enabled: anon['enabled'], conditions } };
}

/** Only these paths of a document are kept (a component config may hold other things). */
export function pickPaths(data: JsonObject, paths: readonly (readonly string[])[]): JsonObject {
  const out: Record<string, JsonValue> = {};
  for (const path of paths) {
    let src: JsonValue | undefined = data;
    for (const key of path) src = isMapping(src) && Object.hasOwn(src, key) ? src[key] : undefined;
    if (src === undefined) continue;
    let dst: Record<string, JsonValue> = out;
    for (const key of path.slice(0, -1)) {
      const next = dst[key];
      if (!isMapping(next)) dst[key] = {};
      dst = dst[key] as Record<string, JsonValue>;
    }
    dst[path[path.length - 1] as string] = src;
  }
  return out;
}

/** A component's own configuration file, reduced to `keep`. */
export async function readComponentConfig(hostFs: HostFs, path: string, kinds: readonly string[] | null, keep: readonly (readonly string[])[]): Promise<ConfigDoc> {
  const raw = await readHostYaml(hostFs, path);
  if (!raw.ok) return { path, data: null, error: raw.error };
  const parsed = parseQuietly(raw.text);
  if (!parsed.ok) return { path, data: null, error: documentError(path, parsed) };
  const kind = parsed.data['kind'];
  if (kinds !== null && !kinds.includes(typeof kind === 'string' ? kind : '')) {
    return { path, data: null, error: parseError(path, `kind is ${JSON.stringify(kind ?? null)}, expected ${kinds.join(' or ')}`) };
  }
  return { path, data: pickPaths(parsed.data, keep), error: null };
}

/** What is kept of etcd's --config-file: the settings the checks judge, nothing else. */
export const ETCD_CONFIG_KEEP: readonly (readonly string[])[] = [
  ['name'],
  ['data-dir'],
  ['advertise-client-urls'],
  ['initial-advertise-peer-urls'],
  ...['client-transport-security', 'peer-transport-security'].flatMap((section) =>
    ['cert-file', 'key-file', 'client-cert-auth', 'trusted-ca-file', 'auto-tls'].map((k) => [section, k])),
];

/** What is kept of kube-scheduler's --config (KubeSchedulerConfiguration). */
export const SCHEDULER_CONFIG_KEEP: readonly (readonly string[])[] = [['apiVersion'], ['kind'], ['enableProfiling'], ['clientConnection', 'kubeconfig']];

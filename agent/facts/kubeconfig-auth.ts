// How the kubelet's kubeconfig (the file its --kubeconfig names) authenticates to the API
// server: a client certificate, a bearer token, an exec credential plugin... A kubelet without
// a client certificate has none to rotate (CIS 4.2.10 asks whether it rotates its client
// certificate), so the checks need to know which; they need nothing else from the file.
//
// The file is untrusted and holds credentials. It is read within the host document limits
// (config-file.ts, document-limits.ts) and parsed quietly (a parse error names its code and
// line, never a snippet), and is not remembered by text (the parsed-document memo would keep
// it). What leaves this file is the kinds of credential the user holds: no value, and no
// string of the document (a name in an error could be anything, a token included).
//
// The user is found as client-go finds it for an explicit kubeconfig path with no overrides
// (the kubelet's case): current-context names a context, the context names a user. Names are
// unique in each list (client-go refuses a file that repeats one).
import { parseHostYaml, readHostYaml } from './config-file.js';
import type { HostFs } from './host-fs.js';
import type { FactError, JsonObject, JsonValue, KubeconfigAuth, KubeconfigAuthKind } from './host-facts.js';

const isMapping = (v: JsonValue | undefined): v is JsonObject => typeof v === 'object' && v !== null && !Array.isArray(v);

/** The string fields of a user that, set and not empty, mean a kind of credential; in KubeconfigAuthKind's order. */
const STRING_CREDENTIALS: readonly (readonly [string, KubeconfigAuthKind])[] = [
  ['client-certificate', 'client-certificate'],
  ['client-certificate-data', 'client-certificate'],
  ['token', 'token'],
  ['tokenFile', 'token-file'],
  ['username', 'basic'],
  ['password', 'basic'],
];
/** The mapping fields that mean a credential plugin. */
const PLUGIN_CREDENTIALS: readonly (readonly [string, KubeconfigAuthKind])[] = [
  ['exec', 'exec'],
  ['auth-provider', 'auth-provider'],
];
const KIND_ORDER: readonly KubeconfigAuthKind[] = ['client-certificate', 'token', 'token-file', 'exec', 'auth-provider', 'basic'];

type Found<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly problem: string };

/** The entry of a named list (`contexts`, `users`) whose name is `name`, and its `field` mapping. */
function named(doc: JsonObject, list: 'contexts' | 'users', field: 'context' | 'user', name: string, what: string): Found<JsonObject> {
  const entries = doc[list];
  if (entries === undefined || entries === null) return { ok: false, problem: `it has no ${list}, so ${what} names nothing` };
  if (!Array.isArray(entries)) return { ok: false, problem: `${list} is not a list` };
  let hit: JsonObject | undefined;
  for (const e of entries as readonly JsonValue[]) {
    if (!isMapping(e)) return { ok: false, problem: `an entry of ${list} is not a mapping` };
    if (e['name'] !== name) continue;
    if (hit !== undefined) return { ok: false, problem: `two entries of ${list} have the name ${what} names (client-go refuses such a file)` };
    hit = e;
  }
  if (hit === undefined) return { ok: false, problem: `no entry of ${list} has the name ${what} names` };
  const value = hit[field];
  if (value === undefined || value === null) return { ok: true, value: {} };
  if (!isMapping(value)) return { ok: false, problem: `the ${field} of the entry of ${list} ${what} names is not a mapping` };
  return { ok: true, value };
}

/** The kinds of credential one kubeconfig user holds, in KubeconfigAuthKind's order. */
function kindsOf(user: JsonObject): Found<readonly KubeconfigAuthKind[]> {
  const kinds = new Set<KubeconfigAuthKind>();
  for (const [key, kind] of STRING_CREDENTIALS) {
    const v = user[key];
    if (v === undefined || v === null) continue;
    if (typeof v !== 'string') return { ok: false, problem: `the user's ${key} is not a string` };
    if (v !== '') kinds.add(kind);
  }
  for (const [key, kind] of PLUGIN_CREDENTIALS) {
    const v = user[key];
    if (v === undefined || v === null) continue;
    if (!isMapping(v)) return { ok: false, problem: `the user's ${key} is not a mapping` };
    kinds.add(kind);
  }
  return { ok: true, value: KIND_ORDER.filter((k) => kinds.has(k)) };
}

/** How a kubeconfig document authenticates. Pure; never throws; keeps no value of the document. */
export function kubeconfigAuthOfDoc(doc: JsonObject): Found<readonly KubeconfigAuthKind[]> {
  const kind = doc['kind'];
  if (kind !== undefined && kind !== null && kind !== 'Config') return { ok: false, problem: 'its kind is not Config' };
  const current = doc['current-context'];
  if (typeof current !== 'string' || current === '') return { ok: false, problem: 'it names no current-context' };
  const context = named(doc, 'contexts', 'context', current, 'current-context');
  if (!context.ok) return context;
  const userName = context.value['user'];
  if (typeof userName !== 'string' || userName === '') return { ok: false, problem: 'the current context names no user' };
  const user = named(doc, 'users', 'user', userName, 'the current context');
  if (!user.ok) return user;
  return kindsOf(user.value);
}

/** How the kubeconfig text at `path` authenticates. Pure; never throws. */
export function kubeconfigAuthOfText(path: string, text: string): KubeconfigAuth {
  const parsed = parseHostYaml(text, { quiet: true });
  if (!parsed.ok) {
    const error: FactError = { code: parsed.code, path, message: `${path}: ${parsed.message}`, ...(parsed.limit === undefined ? {} : { limit: parsed.limit }) };
    return { path, kinds: null, error };
  }
  const found = kubeconfigAuthOfDoc(parsed.data);
  if (found.ok) return { path, kinds: found.value, error: null };
  return { path, kinds: null, error: { code: 'EPARSE', path, message: `${path} is not a kubeconfig the kubelet can use: ${found.problem}` } };
}

/** Reads the kubeconfig at host path `path` (bounded, through the rooted reader) and tells how it authenticates. */
export async function collectKubeconfigAuth(hostFs: HostFs, path: string): Promise<KubeconfigAuth> {
  const raw = await readHostYaml(hostFs, path);
  if (!raw.ok) return { path, kinds: null, error: raw.error };
  return kubeconfigAuthOfText(path, raw.text);
}

// Typed configuration: a YAML file plus environment overrides, validated once against a
// TypeBox schema (defaults live in the schema). Both the agent and the collector use it;
// nothing outside their config modules reads process.env.
import { readFileSync } from 'node:fs';
import { Kind, Type, type TObject, type TSchema, type Static } from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';
import { parse as parseYaml } from 'yaml';

/** The log level setting; `description` says what a program adds at some level. */
export const logLevel = (description = 'Log level. Logs go to stdout: one JSON line per entry with the level as a name (`"level":"warn"`), or one human line per entry when stdout is a terminal') => Type.Union(
  [Type.Literal('fatal'), Type.Literal('error'), Type.Literal('warn'), Type.Literal('info'), Type.Literal('debug'), Type.Literal('trace'), Type.Literal('silent')],
  { default: 'info', description },
);
export const LogLevel = logLevel();

export class ConfigError extends Error {
  readonly code = 'CONFIG_INVALID';
  constructor(readonly problems: readonly string[]) {
    super(`invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
  }
}

export interface ConfigSources {
  /** YAML (or JSON) file; absent means defaults and environment only. */
  readonly file?: string | undefined;
  /** Usually process.env, passed in by the caller's config module. */
  readonly env?: Readonly<Record<string, string | undefined>>;
  /** Values set by command-line flags; they win over the file and the environment. */
  readonly overrides?: Readonly<Record<string, unknown>>;
}

export interface EnvSetting {
  readonly path: string;
  readonly env: string;
  readonly type: string;
  readonly default: unknown;
  readonly description: string;
  /** The setting's own schema (bounds, literals, list items), for the configuration reference. */
  readonly schema: TSchema;
}

/** Every leaf setting of a schema with its environment variable, for docs and parsing. */
export function envSettings(schema: TObject, prefix: string): EnvSetting[] {
  const out: EnvSetting[] = [];
  const walk = (s: TSchema, path: string[]): void => {
    if (s[Kind] === 'Object' && s.properties) {
      for (const [k, v] of Object.entries(s.properties as Record<string, TSchema>)) walk(v, [...path, k]);
      return;
    }
    out.push({
      path: path.join('.'),
      env: `${prefix}_${path.map(toSnake).join('_')}`,
      type: leafType(s),
      default: s.default,
      description: typeof s.description === 'string' ? s.description : '',
      schema: s,
    });
  };
  walk(schema, []);
  return out;
}

function toSnake(k: string): string {
  return k.replace(/([a-z0-9])([A-Z])/g, '$1_$2').toUpperCase();
}

function leafType(s: TSchema): string {
  if (s[Kind] === 'Union' && Array.isArray(s.anyOf)) return (s.anyOf as TSchema[]).map(leafType).join('|');
  if (s[Kind] === 'Literal') return JSON.stringify(s.const);
  if (s[Kind] === 'Array') return `${leafType(s.items as TSchema)}[]`;
  return String(s.type ?? s[Kind]).toLowerCase();
}

function setPath(target: Record<string, unknown>, path: string, value: unknown): void {
  const keys = path.split('.');
  let node = target;
  for (const k of keys.slice(0, -1)) {
    const next = node[k];
    if (typeof next !== 'object' || next === null || Array.isArray(next)) node[k] = {};
    node = node[k] as Record<string, unknown>;
  }
  node[keys[keys.length - 1] as string] = value;
}

function parseEnvValue(raw: string, type: string): unknown {
  if (type === 'integer' || type === 'number') return raw.trim() === '' ? raw : Number(raw);
  if (type === 'boolean') return raw === 'true' || raw === '1' ? true : raw === 'false' || raw === '0' ? false : raw;
  if (type.endsWith('[]')) {
    const trimmed = raw.trim();
    if (trimmed.startsWith('[')) {
      try {
        return JSON.parse(trimmed);
      } catch {
        return raw;
      }
    }
    return trimmed === '' ? [] : trimmed.split(',').map((x) => x.trim());
  }
  return raw;
}

/**
 * Reads, merges (defaults < file < environment < overrides) and validates. Throws one
 * ConfigError listing every problem, so an operator fixes them all in one go.
 */
export function loadConfig<T extends TObject>(schema: T, envPrefix: string, sources: ConfigSources): Static<T> {
  const problems: string[] = [];
  let doc: Record<string, unknown> = {};
  if (sources.file) {
    try {
      const parsed: unknown = parseYaml(readFileSync(sources.file, 'utf8'));
      if (parsed === null || parsed === undefined) doc = {};
      else if (typeof parsed === 'object' && !Array.isArray(parsed)) doc = parsed as Record<string, unknown>;
      else problems.push(`${sources.file}: the top level must be a mapping`);
    } catch (err) {
      problems.push(`${sources.file}: ${(err as Error).message.split('\n')[0]}`);
    }
  }
  const settings = envSettings(schema, envPrefix);
  for (const s of settings) {
    const raw = sources.env?.[s.env];
    if (raw !== undefined) setPath(doc, s.path, parseEnvValue(raw, s.type));
  }
  for (const [path, value] of Object.entries(sources.overrides ?? {})) {
    if (value !== undefined) setPath(doc, path, value);
  }
  const withDefaults = Value.Default(schema, doc);
  for (const e of Value.Errors(schema, withDefaults)) {
    const path = e.path.replace(/^\//, '').replace(/\//g, '.') || '(top level)';
    const known = settings.find((s) => s.path === path);
    problems.push(`${path}: ${e.message}${known ? ` (env ${known.env})` : ''}`);
  }
  if (problems.length > 0) throw new ConfigError([...new Set(problems)]);
  return Object.freeze(withDefaults) as Static<T>;
}

// The typed forms of a setting's value, as the components read them: text from a command line
// or an environment variable (Go's ParseBool, plain decimal integers, Go durations) and values
// from a configuration document (a YAML boolean, integer, string or list). Pure; the one
// settings resolver (component-settings.ts) takes every value it judges through here.
import type { JsonObject, JsonValue } from './host-facts.js';
import { formatGoDuration, parseGoDuration } from './go-duration.js';

/** `duration`: a Go duration (`4h`, `5m30s`, `0`), compared in its canonical form (`4h0m0s`, `0s`). */
export type SettingType = 'bool' | 'int' | 'string' | 'list' | 'duration';

export type Typed = { readonly ok: true; readonly value: string } | { readonly ok: false; readonly problem: string };

const TRUE_WORDS = new Set(['1', 't', 'T', 'TRUE', 'true', 'True']);
const FALSE_WORDS = new Set(['0', 'f', 'F', 'FALSE', 'false', 'False']);

/** Go's strconv.ParseBool, which both pflag and Go's flag package use. */
export function parseGoBool(raw: string): boolean | null {
  if (TRUE_WORDS.has(raw)) return true;
  if (FALSE_WORDS.has(raw)) return false;
  return null;
}

function typedDuration(raw: string): Typed {
  const d = parseGoDuration(raw);
  return d.ok ? { ok: true, value: formatGoDuration(d.ns) } : { ok: false, problem: d.problem };
}

/** The entries of a comma-separated list flag, trimmed, empty ones left out, joined again. */
export const listText = (raw: string): string => raw.split(',').map((e) => e.trim()).filter((e) => e !== '').join(',');

/** A value given as text, in the form the component would accept; a list is kept as given. */
export function typedText(type: SettingType, raw: string): Typed {
  if (type === 'bool') {
    const b = parseGoBool(raw);
    return b === null ? { ok: false, problem: `${JSON.stringify(raw)} is not a boolean` } : { ok: true, value: String(b) };
  }
  if (type === 'int') {
    // Go would also read 0x.. and leading-zero octal in some places; refuse rather than misjudge.
    return /^-?(0|[1-9][0-9]*)$/.test(raw) ? { ok: true, value: String(Number(raw)) } : { ok: false, problem: `${JSON.stringify(raw)} is not a plain decimal integer` };
  }
  if (type === 'duration') return typedDuration(raw);
  return { ok: true, value: raw };
}

/**
 * A value from a configuration document. `lists`: whether the document's format also takes a
 * list as one comma-separated string (etcd's --config-file does; the KubeletConfiguration only
 * takes a YAML list).
 */
export function typedJson(type: SettingType, v: JsonValue, lists: 'array' | 'array-or-text'): Typed {
  switch (type) {
    case 'bool':
      return typeof v === 'boolean' ? { ok: true, value: String(v) } : { ok: false, problem: `${JSON.stringify(v)} is not a boolean` };
    case 'int':
      return typeof v === 'number' && Number.isInteger(v) ? { ok: true, value: String(v) } : { ok: false, problem: `${JSON.stringify(v)} is not an integer` };
    case 'string':
      return typeof v === 'string' ? { ok: true, value: v } : { ok: false, problem: `${JSON.stringify(v)} is not a string` };
    case 'duration':
      return typeof v === 'string' ? typedDuration(v) : { ok: false, problem: `${JSON.stringify(v)} is not a duration string` };
    case 'list':
      if (lists === 'array-or-text' && typeof v === 'string') return { ok: true, value: v };
      return Array.isArray(v) && v.every((e) => typeof e === 'string') ? { ok: true, value: v.join(',') } : { ok: false, problem: `${JSON.stringify(v)} is not a list of strings` };
  }
}

const isMapping = (v: JsonValue | undefined): v is JsonObject => typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * The value at `path` in a document: undefined when the document does not set it (a null
 * counts as not set: decoding and the kubelet's drop-in merge both leave the value alone), or
 * a problem when a parent is not a mapping.
 */
export function lookupPath(data: JsonValue, path: readonly string[]): { value: JsonValue | undefined } | { problem: string } {
  let cur: JsonValue | undefined = data;
  for (const [i, key] of path.entries()) {
    if (cur === null || cur === undefined) return { value: undefined };
    if (!isMapping(cur)) return { problem: `${path.slice(0, i).join('.')} is not a mapping` };
    cur = Object.hasOwn(cur, key) ? cur[key] : undefined;
  }
  return { value: cur === null ? undefined : cur };
}

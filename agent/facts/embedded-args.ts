// The flags of a component that runs inside another process (Layout's Embedding): the flags
// the distribution passes itself, then an args file (microk8s's args/kubelet, one flag a line,
// ${SNAP_DATA} expanded), then the values of a pass-through option (k3s's kubelet-arg) from the
// distribution's configuration files and from the embedding process's command line. Later wins,
// as for a command line. Each flag keeps the file it came from ('' for the command line and the
// distribution's own). A boolean option of the embedding process can turn the component off
// (k3s's disable-agent). Only those values are kept from the configuration files: they also
// hold the cluster token.
import { parseFlags } from './cli-flags.js';
import { parseError, readHostYaml } from './config-file.js';
import { parseHostYaml } from './config-file.js';
import type { FactError, JsonValue } from './host-facts.js';
import type { HostFs } from './host-fs.js';
import type { Embedding, Layout } from './layouts.js';

const MAX_ARGS_FILE_BYTES = 256 * 1024;
const MAX_ARGS = 512;
const MAX_CONFIG_DROPINS = 64;

export interface EmbeddedArgs {
  /** The component's own arguments, `--name=value` each. */
  readonly args: readonly string[];
  /** For each argument, the file it came from ('' for the distribution's own and the command line). */
  readonly sources: readonly string[];
  readonly errors: readonly FactError[];
  readonly filesRead: readonly string[];
  /** The option that turns the component off, and where it was set (`disable-agent in /etc/...`); null when it runs. */
  readonly disabledBy: string | null;
}

/** Go's strconv.ParseBool truths, as the distributions' flag parsers read them. */
const TRUE = new Set(['1', 't', 'T', 'true', 'TRUE', 'True']);

/** Lines of an args file as arguments: `--flag=value` or `--flag value`; blank lines and `#` comments skipped. Pure. */
export function argsFileArgs(text: string, variables: { readonly [name: string]: string }): string[] {
  const out: string[] = [];
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    const expanded = line.replace(/\$\{([A-Za-z_][A-Za-z0-9_]*)\}|\$([A-Za-z_][A-Za-z0-9_]*)/g, (m, a?: string, b?: string) => {
      const name = a ?? b ?? '';
      return Object.hasOwn(variables, name) ? (variables[name] as string) : m;
    });
    const eq = expanded.indexOf('=');
    const space = expanded.search(/\s/);
    if (expanded.startsWith('-') && space > 0 && (eq < 0 || space < eq)) {
      out.push(expanded.slice(0, space), unquote(expanded.slice(space).trim()));
    } else if (eq > 0) {
      out.push(`${expanded.slice(0, eq)}=${unquote(expanded.slice(eq + 1))}`);
    } else {
      out.push(expanded);
    }
    if (out.length >= MAX_ARGS) break;
  }
  return out;
}

const unquote = (v: string): string => v.replace(/^(["'])(.*)\1$/, '$2');

/** `name=value` (k3s's kubelet-arg form) as `--name=value`. */
const passThrough = (v: string): string => `--${v.replace(/^-+/, '')}`;

function strings(v: JsonValue | undefined): string[] {
  if (typeof v === 'string') return [v];
  return Array.isArray(v) ? v.filter((e): e is string => typeof e === 'string') : [];
}

/** The value of `--name=v` / `--name v` in a process's arguments (the last one); `booleans` never take the next token. */
function optionValue(args: readonly string[], name: string, booleans: ReadonlySet<string> = new Set()): string | undefined {
  const flags = parseFlags(args, booleans).flags.filter((f) => f.name === name);
  return flags[flags.length - 1]?.value;
}

export async function embeddedArgs(hostFs: HostFs, layout: Layout, embedding: Embedding, processArgs: readonly string[]): Promise<EmbeddedArgs> {
  const args: string[] = [];
  const sources: string[] = [];
  const errors: FactError[] = [];
  const filesRead: string[] = [];
  const add = (values: readonly string[], source: string): void => {
    for (const v of values) {
      if (args.length >= MAX_ARGS) return;
      args.push(v);
      sources.push(source);
    }
  };
  add(embedding.implicitArgs, '');

  if (embedding.argsFileOption !== null || embedding.argsFile !== null) {
    const named = embedding.argsFileOption === null ? undefined : optionValue(processArgs, embedding.argsFileOption);
    const file = named !== undefined && named.startsWith('/') ? named : embedding.argsFile;
    if (file !== null) {
      filesRead.push(file);
      const r = await hostFs.readFile(file, { maxBytes: MAX_ARGS_FILE_BYTES });
      if (r.ok) add(argsFileArgs(r.value.toString('utf8'), layout.argsFileVariables), file);
      else errors.push(r.error);
    }
  }

  const option = embedding.argOption;
  // An option set to true in a configuration file, then the command line (which wins).
  const disabled = new Map<string, string>();
  const booleans = new Set(embedding.disableOptions);
  if (option !== null || booleans.size > 0) {
    if (layout.serverConfig !== null) {
      // `-c FILE` is the short form of --config.
      const short = processArgs.indexOf('-c');
      const configFlag = optionValue(processArgs, 'config', booleans) ?? (short >= 0 ? processArgs[short + 1] : undefined);
      const main = configFlag !== undefined && configFlag.startsWith('/') ? configFlag : layout.serverConfig.file;
      const files = [main];
      const dropinDir = `${main}.d`;
      const listing = await hostFs.readdir(dropinDir);
      if (listing.ok) {
        files.push(...listing.value.filter((n) => n.endsWith('.yaml') || n.endsWith('.yml')).sort().slice(0, MAX_CONFIG_DROPINS).map((n) => `${dropinDir}/${n}`));
      } else if (listing.error.code !== 'ENOENT') {
        errors.push(listing.error);
      }
      filesRead.push(...files, dropinDir);
      // A later file replaces the option's values; `option+` appends to them.
      let fromConfig: { value: string; file: string }[] = [];
      for (const path of files) {
        const raw = await readHostYaml(hostFs, path);
        if (!raw.ok) {
          if (!(raw.error.code === 'ENOENT' && path === main)) errors.push(raw.error);
          continue;
        }
        const parsed = parseHostYaml(raw.text, { quiet: true });
        if (!parsed.ok) {
          errors.push(parseError(path, parsed));
          continue;
        }
        if (option !== null && Object.hasOwn(parsed.data, option)) fromConfig = strings(parsed.data[option]).map((value) => ({ value, file: path }));
        if (option !== null && Object.hasOwn(parsed.data, `${option}+`)) fromConfig.push(...strings(parsed.data[`${option}+`]).map((value) => ({ value, file: path })));
        for (const b of booleans) {
          if (!Object.hasOwn(parsed.data, b)) continue;
          if (TRUE.has(String(parsed.data[b]))) disabled.set(b, `${b} in ${path}`);
          else disabled.delete(b);
        }
      }
      for (const v of fromConfig) add([passThrough(v.value)], v.file);
    }
    if (option !== null) add(parseFlags(processArgs, booleans).flags.filter((f) => f.name === option).map((f) => passThrough(f.value)), '');
    for (const b of booleans) {
      const v = optionValue(processArgs, b, booleans);
      if (v === undefined) continue;
      if (TRUE.has(v)) disabled.set(b, `--${b} on the command line`);
      else disabled.delete(b);
    }
  }
  const [first] = disabled.values();
  return { args, sources, errors, filesRead, disabledBy: first ?? null };
}

// A small Dockerfile reader for the tests: instructions (continuations joined, comments and
// parser directives dropped), global ARG defaults substituted into FROM, stages by name.
export interface Instruction {
  readonly keyword: string;
  /** The arguments as written (after variable substitution in FROM). */
  readonly args: string;
  /** Flags such as --from=build, --chown=... */
  readonly flags: Readonly<Record<string, string>>;
  /** For JSON (exec) form, the array; otherwise undefined. */
  readonly exec?: readonly string[];
  /** Positional words after the flags (shell form split on whitespace). */
  readonly words: readonly string[];
}

export interface Stage {
  readonly index: number;
  readonly name: string | undefined;
  /** The image or earlier stage it starts from, variables substituted. */
  readonly from: string;
  readonly instructions: readonly Instruction[];
}

export interface Dockerfile {
  readonly args: Readonly<Record<string, string>>;
  readonly stages: readonly Stage[];
}

function logicalLines(text: string): string[] {
  const out: string[] = [];
  let current = '';
  for (const raw of text.split('\n')) {
    const line = raw.replace(/\r$/, '');
    if (/^\s*#/.test(line)) continue; // comments (and directives) never continue a line
    if (/\\\s*$/.test(line)) {
      current += `${line.replace(/\\\s*$/, '')} `;
      continue;
    }
    current += line;
    if (current.trim()) out.push(current.trim());
    current = '';
  }
  if (current.trim()) out.push(current.trim());
  return out;
}

function substitute(s: string, vars: Readonly<Record<string, string>>): string {
  return s.replace(/\$\{([A-Za-z_][A-Za-z0-9_]*)\}|\$([A-Za-z_][A-Za-z0-9_]*)/g, (m, a: string | undefined, b: string | undefined) => vars[(a ?? b) as string] ?? m);
}

function parseInstruction(line: string): Instruction {
  const m = /^(\S+)\s*(.*)$/.exec(line);
  const keyword = (m?.[1] ?? '').toUpperCase();
  let rest = (m?.[2] ?? '').trim();
  const flags: Record<string, string> = {};
  for (;;) {
    const f = /^--([a-z-]+)(?:=(\S*))?\s*/.exec(rest);
    if (!f) break;
    flags[f[1] as string] = f[2] ?? 'true';
    rest = rest.slice(f[0].length);
  }
  let exec: string[] | undefined;
  if (rest.startsWith('[')) {
    try {
      const parsed = JSON.parse(rest) as unknown;
      if (Array.isArray(parsed) && parsed.every((x) => typeof x === 'string')) exec = parsed as string[];
    } catch {
      // shell form that happens to start with [
    }
  }
  return { keyword, args: rest, flags, words: exec ?? rest.split(/\s+/).filter(Boolean), ...(exec ? { exec } : {}) };
}

export function parseDockerfile(text: string): Dockerfile {
  const args: Record<string, string> = {};
  const stages: Stage[] = [];
  let current: { name: string | undefined; from: string; instructions: Instruction[] } | undefined;
  for (const line of logicalLines(text)) {
    const ins = parseInstruction(line);
    if (ins.keyword === 'FROM') {
      const [image = '', as, name] = ins.words;
      current = { name: as?.toUpperCase() === 'AS' ? name : undefined, from: substitute(image, args), instructions: [] };
      stages.push({ index: stages.length, ...current, instructions: current.instructions });
      continue;
    }
    if (!current) {
      if (ins.keyword === 'ARG') {
        const [k = '', v = ''] = ins.args.split('=');
        args[k.trim()] = v.trim();
      }
      continue;
    }
    current.instructions.push(ins);
  }
  return { args, stages };
}

export function stage(df: Dockerfile, name: string): Stage {
  const s = df.stages.find((x) => x.name === name);
  if (!s) throw new Error(`no stage ${name}`);
  return s;
}

/** The stages a stage is built on, through FROM <stage>, nearest first. */
export function ancestry(df: Dockerfile, s: Stage): Stage[] {
  const out: Stage[] = [];
  let cur: Stage | undefined = s;
  while (cur) {
    const parent: Stage | undefined = df.stages.find((x) => x.name !== undefined && x.name === cur?.from && x.index < (cur?.index ?? 0));
    if (parent) out.push(parent);
    cur = parent;
  }
  return out;
}

/** Every RUN command of a stage, including those it inherits through FROM <stage>. */
export function runCommands(df: Dockerfile, s: Stage): string[] {
  return [...ancestry(df, s).reverse(), s].flatMap((x) => x.instructions.filter((i) => i.keyword === 'RUN').map((i) => i.args));
}

/** .dockerignore: whether a context path is sent (last matching pattern wins; a parent's match counts). */
export function dockerignoreAllows(patterns: readonly string[], path: string): boolean {
  const rules = patterns.map((p) => p.trim()).filter((p) => p && !p.startsWith('#')).map((p) => {
    const negate = p.startsWith('!');
    const body = (negate ? p.slice(1) : p).replace(/^\/+/, '').replace(/\/+$/, '');
    const re = new RegExp(`^${body.split('/').map((seg) => (seg === '**' ? '.*' : seg.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '[^/]*').replace(/\?/g, '[^/]'))).join('/')}$`);
    return { negate, re };
  });
  const parts = path.replace(/^\/+/, '').split('/');
  let allowed = true;
  for (const r of rules) {
    const matches = parts.some((_, i) => r.re.test(parts.slice(0, i + 1).join('/')));
    if (matches) allowed = r.negate;
  }
  return allowed;
}

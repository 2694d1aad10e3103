// Small Markdown helpers shared by the generated references (scripts/gen-docs.ts) and the
// link check (test/docs/links.test.ts): table cells, inline code, and GitHub's heading anchors.

/**
 * Plain text from the code (a description, a remediation) made safe for Markdown: outside its
 * code spans, `<` and `>` are entities (`<dir>` is not an HTML tag) and `*` is escaped (a
 * glob is not emphasis).
 */
export function text(plain: string): string {
  return plain.split(/(`+[^`]*`+)/).map((part, i) => (i % 2 === 1 ? part : part.replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/\*/g, '\\*'))).join('');
}

/** Markdown as one table cell: no line breaks, pipes escaped. */
export function cell(markdown: string): string {
  return markdown.replace(/\s*\n\s*/g, ' ').replace(/\|/g, '\\|').trim();
}

/** Inline code that survives backticks inside the text. */
export function code(s: string): string {
  // An empty code span does not render; say what it is.
  if (s === '') return '(empty)';
  const longest = Math.max(0, ...(s.match(/`+/g) ?? []).map((m) => m.length));
  const fence = '`'.repeat(longest + 1);
  const pad = s.startsWith('`') || s.endsWith('`') ? ' ' : '';
  return `${fence}${pad}${s}${pad}${fence}`;
}

/** A Markdown table; every cell goes through cell(). */
export function table(head: readonly string[], rows: readonly (readonly string[])[]): string {
  const line = (cells: readonly string[]): string => `| ${cells.map(cell).join(' | ')} |`;
  return [line(head), `|${head.map(() => '---').join('|')}|`, ...rows.map(line)].join('\n');
}

/**
 * The anchor GitHub gives a heading: lower case, Markdown punctuation and other symbols
 * dropped, spaces to hyphens. Repeats get -1, -2, ... (headingAnchors does that).
 */
export function slug(heading: string): string {
  return heading
    .replace(/`([^`]*)`/g, '$1')
    .replace(/\[([^\]]*)\]\([^)]*\)/g, '$1')
    .replace(/<[^>]+>/g, '')
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{N}\s_-]/gu, '')
    .replace(/\s/g, '-');
}

/** Every anchor a Markdown document's headings give, in order, with GitHub's numbering of repeats. */
export function headingAnchors(markdown: string): string[] {
  const out: string[] = [];
  const seen = new Map<string, number>();
  let fence: string | null = null;
  for (const line of markdown.split('\n')) {
    const f = /^\s*(```+|~~~+)/.exec(line);
    if (f) {
      const mark = (f[1] as string).slice(0, 3);
      if (fence === null) fence = mark;
      else if (mark === fence) fence = null;
      continue;
    }
    if (fence !== null) continue;
    const h = /^#{1,6}\s+(.*?)\s*#*\s*$/.exec(line);
    if (!h) continue;
    const base = slug(h[1] as string);
    const n = seen.get(base) ?? 0;
    seen.set(base, n + 1);
    out.push(n === 0 ? base : `${base}-${n}`);
  }
  return out;
}

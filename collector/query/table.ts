// Plain-text tables for the terminal. Every cell is made safe to print: strings from nodes
// may hold control characters (an escape sequence in a command line must not drive the
// operator's terminal), and long cells are cut to a width.

/** Control characters (C0, DEL, C1) shown as \xNN instead of being sent to the terminal. */
export function printable(s: string): string {
  return s.replace(/[\u0000-\u001f\u007f-\u009f]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`);
}

export interface Column<T> {
  readonly title: string;
  readonly value: (row: T) => string | number | boolean | null | undefined;
  /** Longest the column may be; longer cells end in an ellipsis. */
  readonly max?: number;
  readonly align?: 'left' | 'right';
}

function cell(v: string | number | boolean | null | undefined, max: number): string {
  const s = v === null || v === undefined || v === '' ? '-' : printable(String(v));
  const chars = [...s];
  return chars.length > max ? `${chars.slice(0, Math.max(1, max - 1)).join('')}…` : s;
}

export function renderTable<T>(rows: readonly T[], columns: ReadonlyArray<Column<T>>): string {
  const cells = rows.map((r) => columns.map((c) => cell(c.value(r), c.max ?? 80)));
  const widths = columns.map((c, i) => Math.max([...c.title].length, ...cells.map((r) => [...(r[i] ?? '')].length)));
  const line = (values: readonly string[]): string => values.map((v, i) => {
    const pad = ' '.repeat(Math.max(0, (widths[i] ?? 0) - [...v].length));
    return columns[i]?.align === 'right' ? pad + v : i === values.length - 1 ? v : v + pad;
  }).join('  ').trimEnd();
  return [line(columns.map((c) => c.title.toUpperCase())), ...cells.map(line)].join('\n') + '\n';
}

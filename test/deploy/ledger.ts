// Reads docs/privileges.md, the agent's privileges ledger, into data: its markdown tables by
// section, and the privileges they grant (the first code span of a cell names the thing).
import { readFileSync } from 'node:fs';
import { REPO_ROOT } from './manifests.js';

export const LEDGER_PATH = `${REPO_ROOT}docs/privileges.md`;

export type Row = Readonly<Record<string, string>>;

/** Tables per `## ` section; a section with several tables has their rows concatenated. */
export function parseTables(markdown: string): Map<string, Row[]> {
  const sections = new Map<string, Row[]>();
  let section = '';
  let header: string[] | undefined;
  let expectRule = false;
  for (const raw of markdown.split('\n')) {
    const line = raw.trim();
    const heading = /^##\s+(.+)$/.exec(line);
    if (heading) {
      section = (heading[1] as string).trim();
      header = undefined;
      continue;
    }
    if (!line.startsWith('|')) {
      header = undefined;
      continue;
    }
    const cells = splitRow(line);
    if (!header) {
      header = cells.map((c) => c.toLowerCase());
      expectRule = true;
      continue;
    }
    if (expectRule) {
      expectRule = false;
      if (cells.every((c) => /^:?-+:?$/.test(c))) continue;
    }
    const row: Record<string, string> = {};
    header.forEach((h, i) => {
      row[h] = cells[i] ?? '';
    });
    const rows = sections.get(section) ?? [];
    rows.push(row);
    sections.set(section, rows);
  }
  return sections;
}

function splitRow(line: string): string[] {
  // Split on pipes outside code spans; `\|` stays a literal pipe.
  const cells: string[] = [];
  let cell = '';
  let inCode = false;
  const body = line.replace(/^\|/, '').replace(/\|$/, '');
  for (let i = 0; i < body.length; i++) {
    const ch = body[i] as string;
    if (ch === '`') inCode = !inCode;
    if (ch === '\\' && body[i + 1] === '|') {
      cell += '|';
      i++;
      continue;
    }
    if (ch === '|' && !inCode) {
      cells.push(cell.trim());
      cell = '';
      continue;
    }
    cell += ch;
  }
  cells.push(cell.trim());
  return cells;
}

export function codeSpans(cell: string): string[] {
  return [...cell.matchAll(/`([^`]+)`/g)].map((m) => m[1] as string);
}

/** The column whose header starts with `prefix` ("path (inside the host root)" for "path"). */
function column(row: Row, prefix: string): string {
  const key = Object.keys(row).find((k) => k.startsWith(prefix));
  if (key === undefined) throw new Error(`ledger table has no "${prefix}" column: ${Object.keys(row).join(', ')}`);
  return row[key] ?? '';
}

function table(tables: Map<string, Row[]>, name: string): Row[] {
  const rows = tables.get(name);
  if (!rows) throw new Error(`docs/privileges.md has no table under "## ${name}"`);
  return rows;
}

export interface HostPathGrant {
  readonly path: string;
  readonly writable: boolean;
  readonly row: Row;
}

export interface ApiGrant {
  /** namespace/name */
  readonly serviceAccount: string;
  /** '' for the core group. */
  readonly apiGroup: string;
  readonly resource: string;
  /** '' for cluster scope. */
  readonly namespace: string;
  readonly verbs: readonly string[];
  /** The objects the grant is limited to (RBAC resourceNames); empty for every object. */
  readonly resourceNames: readonly string[];
}

export interface Ledger {
  /** Capability names as Kubernetes spells them (without CAP_). */
  readonly capabilities: ReadonlySet<string>;
  /** Pod fields: hostPID, hostNetwork, hostIPC. */
  readonly hostNamespaces: ReadonlySet<string>;
  /** Rows of "Host paths" whose path is absolute. */
  readonly hostPaths: readonly HostPathGrant[];
  /** Ports the agent listens on ("inbound" rows of "Network"). */
  readonly inboundPorts: ReadonlySet<number>;
  readonly apiAccess: readonly ApiGrant[];
}

export function parseLedger(markdown: string): Ledger {
  const tables = parseTables(markdown);
  const capabilities = new Set<string>();
  for (const row of table(tables, 'Capabilities')) {
    for (const span of codeSpans(column(row, 'capability'))) {
      if (/^CAP_[A-Z_]+$/.test(span)) capabilities.add(span.slice('CAP_'.length));
    }
  }
  const hostNamespaces = new Set<string>();
  for (const row of table(tables, 'Host namespaces')) {
    for (const span of codeSpans(column(row, 'namespace'))) {
      const m = /^(host(?:PID|Network|IPC)):\s*true$/.exec(span);
      if (m) hostNamespaces.add(m[1] as string);
    }
  }
  const hostPaths: HostPathGrant[] = [];
  for (const row of table(tables, 'Host paths')) {
    const [path] = codeSpans(column(row, 'path'));
    if (!path?.startsWith('/')) continue;
    hostPaths.push({ path, writable: /\bwrite\b|read-write/.test(column(row, 'access')), row });
  }
  const inboundPorts = new Set<number>();
  for (const row of tables.get('Network') ?? []) {
    if (!/inbound/i.test(column(row, 'direction'))) continue;
    for (const m of column(row, 'port').matchAll(/\b(\d{2,5})\b/g)) inboundPorts.add(Number(m[1]));
  }
  const apiAccess: ApiGrant[] = [];
  for (const row of tables.get('Kubernetes API access') ?? []) {
    const [serviceAccount] = codeSpans(column(row, 'service account'));
    // The resource, then the names it is limited to, if any: `secrets` (`a`, `b` only).
    const [resource, ...resourceNames] = codeSpans(column(row, 'resource'));
    if (!serviceAccount || !resource) throw new Error(`ledger API row without service account or resource: ${JSON.stringify(row)}`);
    apiAccess.push({
      serviceAccount,
      apiGroup: codeSpans(column(row, 'api group'))[0] ?? '',
      resource,
      namespace: codeSpans(column(row, 'namespace'))[0] ?? '',
      verbs: codeSpans(column(row, 'verbs')),
      resourceNames,
    });
  }
  return { capabilities, hostNamespaces, hostPaths, inboundPorts, apiAccess };
}

export function readLedger(): Ledger {
  return parseLedger(readFileSync(LEDGER_PATH, 'utf8'));
}

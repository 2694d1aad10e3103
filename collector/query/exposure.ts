// `nodeward query nodes --exposure`: what listens on each node, as GET /api/v1/nodes/{name}
// gives it: one row per listening socket with the process holding it and its workload. The
// rows are the API's, flattened with the node's name; a node whose scans carried no listeners
// says so on stderr.
import { getOk, type Connection } from './client.js';
import type { Column } from './table.js';

export interface ExposureRow {
  readonly node: string;
  readonly protocol: string;
  readonly address: string;
  readonly port: number;
  readonly addressClass: string;
  readonly pid: number;
  readonly exe: string;
  readonly workload: string;
}

interface NodeDetailLike {
  name: string;
  exposure: null | { listeners: Array<Omit<ExposureRow, 'node' | 'workload'> & { namespace: string; pod: string; container: string; workload: string; baseline: string }>; unowned: number; walkCut: string };
}

export const EXPOSURE_COLUMNS: ReadonlyArray<Column<ExposureRow>> = [
  { title: 'Node', value: (r) => r.node, max: 40 },
  { title: 'Proto', value: (r) => r.protocol },
  { title: 'Address', value: (r) => r.address, max: 40 },
  { title: 'Port', value: (r) => r.port, align: 'right' },
  { title: 'Class', value: (r) => r.addressClass },
  { title: 'PID', value: (r) => (r.pid === 0 ? '' : r.pid), align: 'right' },
  { title: 'Executable', value: (r) => r.exe, max: 60 },
  { title: 'Workload', value: (r) => r.workload, max: 70 },
];

/** The listeners of the nodes named, in their order; `missing` names the nodes without any reported. */
export async function exposureRows(conn: Connection, nodes: readonly string[]): Promise<{ rows: ExposureRow[]; missing: string[] }> {
  const rows: ExposureRow[] = [];
  const missing: string[] = [];
  for (const name of nodes) {
    const n = await getOk<NodeDetailLike>(conn, `/api/v1/nodes/${encodeURIComponent(name)}`);
    if (n.exposure === null) {
      missing.push(name);
      continue;
    }
    for (const l of n.exposure.listeners) {
      const workload = l.pod ? `${l.namespace}/${l.workload || l.pod}/${l.container}` : l.baseline;
      rows.push({ node: n.name, protocol: l.protocol, address: l.address, port: l.port, addressClass: l.addressClass, pid: l.pid, exe: l.exe, workload });
    }
  }
  return { rows, missing };
}

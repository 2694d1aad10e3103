// Which distribution a node runs, from what the node itself shows: paths that exist, the
// processes running, /etc/os-release, and the node's labels when the caller has them. Never
// from a cloud's metadata endpoint. The agent setting `distribution` overrides it. When a node
// shows signs of more than one layout, the strongest evidence wins (a running process, then a
// node label, then a path), then the registry's order (layouts.ts); the facts say so, and the
// setting settles it. `detectDistribution` is pure; `collectDistribution` gathers the evidence.
import type { DistributionCandidate, DistributionFacts } from './distribution-types.js';
import type { HostFs } from './host-fs.js';
import type { DistributionName, Layout } from './layouts.js';
import { DEFAULT_LAYOUT, DISTRIBUTION_NAMES, LAYOUTS, layoutByName } from './layouts.js';
import type { ProcessScan } from './proc.js';
import { matchesShape, shapeText } from './process-shape.js';

export interface NodeEvidence {
  /** Paths among signPaths() that exist. */
  readonly paths: readonly string[];
  /** Processes seen (those that match a layout's process shapes are enough). */
  readonly processes: readonly { readonly pid: number; readonly argv: readonly string[] }[];
  readonly os: { readonly id: string; readonly versionId: string } | null;
  /** The node's labels, when the caller knows them (the collector does); null when not given. */
  readonly nodeLabels: { readonly [key: string]: string } | null;
}

/** Labels looked at at most, processes and paths likewise: evidence is small and bounded. */
export const MAX_LABELS = 256;
export const MAX_EVIDENCE_PROCESSES = 256;
const MAX_OS_RELEASE_BYTES = 64 * 1024;
const OS_RELEASE = ['/etc/os-release', '/usr/lib/os-release'];

/** Every path some layout's detection asks about. */
export function signPaths(layouts: readonly Layout[] = LAYOUTS): string[] {
  return [...new Set(layouts.flatMap((l) => l.detect.paths))];
}

/** `auto`, or a distribution's name. */
export type DistributionSetting = 'auto' | DistributionName;

export const isDistributionName = (s: string): s is DistributionName => (DISTRIBUTION_NAMES as readonly string[]).includes(s);

const STRENGTH = { process: 3, label: 2, path: 1 } as const;

interface Scored extends DistributionCandidate {
  readonly strength: number;
  readonly order: number;
}

function osMatches(layout: Layout, os: NodeEvidence['os']): boolean {
  if (layout.detect.os.length === 0 || os === null) return true;
  return layout.detect.os.some((o) => o.id === os.id && (o.version === undefined || os.versionId.split('.')[0] === o.version));
}

function candidateOf(layout: Layout, order: number, ev: NodeEvidence, labels: readonly [string, string][]): Scored | null {
  const evidence: string[] = [];
  let strength = 0;
  for (const shape of layout.detect.processes) {
    const proc = ev.processes.find((p) => Array.isArray(p.argv) && matchesShape(p.argv, shape));
    if (proc !== undefined) {
      evidence.push(`a \`${shapeText(shape)}\` process runs (pid ${proc.pid})`);
      strength = Math.max(strength, STRENGTH.process);
    }
  }
  for (const sign of layout.detect.labels) {
    const hit = labels.find(([k, v]) => k === sign.key && (sign.value === undefined || v === sign.value));
    if (hit !== undefined) {
      evidence.push(`the node is labelled ${hit[0]}=${hit[1]}`);
      strength = Math.max(strength, STRENGTH.label);
    }
  }
  for (const p of layout.detect.paths) {
    if (ev.paths.includes(p)) {
      evidence.push(`${p} exists`);
      strength = Math.max(strength, STRENGTH.path);
    }
  }
  if (evidence.length === 0 || !osMatches(layout, ev.os)) return null;
  if (layout.detect.os.length > 0 && ev.os !== null) evidence.push(`/etc/os-release says ${ev.os.id} ${ev.os.versionId}`.trimEnd());
  return { name: layout.name, evidence, strength, order };
}

const plain = ({ name, evidence }: Scored): DistributionCandidate => ({ name, evidence });

/** The layout for a node: the setting when it names one, else the node's strongest signs. Never throws. */
export function detectDistribution(ev: NodeEvidence, setting: string = 'auto'): DistributionFacts {
  const labels = Object.entries(ev.nodeLabels ?? {}).slice(0, MAX_LABELS).filter((e): e is [string, string] => typeof e[1] === 'string');
  const bounded: NodeEvidence = { ...ev, processes: ev.processes.slice(0, MAX_EVIDENCE_PROCESSES) };
  const scored = LAYOUTS.map((l, i) => candidateOf(l, i, bounded, labels)).filter((c): c is Scored => c !== null);
  // A layout whose signs others share (kubeadm's manifests directory) only counts when nothing else does.
  const specific = scored.filter((c) => layoutByName(c.name).detect.shared !== true || scored.length === 1);
  specific.sort((a, b) => b.strength - a.strength || a.order - b.order);
  const candidates = specific.map(plain);

  if (setting !== 'auto') {
    if (isDistributionName(setting)) {
      const layout = layoutByName(setting);
      const detected = candidates.length === 0 ? 'no layout' : candidates.map((c) => c.name).join(', ');
      return {
        name: layout.name, benchmark: layout.benchmark, source: 'config', evidence: [`the agent setting distribution is ${setting}`],
        reason: `${layout.name}, as the agent setting distribution says (the node's signs point to ${detected})`,
        candidates, os: ev.os,
      };
    }
  }
  const unknown = setting !== 'auto' ? `the agent setting distribution names no known layout (${JSON.stringify(setting.slice(0, 64))}): detected instead; ` : '';
  const [best, ...others] = specific;
  if (best === undefined) {
    return {
      name: DEFAULT_LAYOUT.name, benchmark: DEFAULT_LAYOUT.benchmark, source: 'default', evidence: [],
      reason: `${unknown}no distribution's signs on this node: the kubeadm layout, the one CIS Kubernetes is written against`,
      candidates, os: ev.os,
    };
  }
  const layout = layoutByName(best.name);
  const why = best.evidence.join('; ');
  const ambiguity = others.length === 0
    ? ''
    : `; the node also shows signs of ${others.map((o) => `${o.name} (${o.evidence.join('; ')})`).join(', ')}: ${best.name} wins by precedence (the strongest evidence: a process, then a label, then a path; then the order of the layouts). Set the agent setting distribution to settle it`;
  return {
    name: layout.name, benchmark: layout.benchmark, source: 'detected', evidence: best.evidence,
    reason: `${unknown}${layout.name}: ${why}${ambiguity}`, candidates, os: ev.os,
  };
}

/** /etc/os-release's ID and VERSION_ID (quotes removed); null without an ID. Pure, never throws. */
export function parseOsRelease(text: string): { id: string; versionId: string } | null {
  const values = new Map<string, string>();
  for (const line of text.split('\n').slice(0, 512)) {
    const m = /^\s*([A-Z_][A-Z0-9_]*)=(.*)$/.exec(line);
    if (m === null) continue;
    const raw = (m[2] as string).trim();
    values.set(m[1] as string, raw.replace(/^(["'])(.*)\1$/, '$2').slice(0, 128));
  }
  const id = values.get('ID');
  return id === undefined || id === '' ? null : { id, versionId: values.get('VERSION_ID') ?? '' };
}

async function readOsRelease(hostFs: HostFs): Promise<NodeEvidence['os']> {
  for (const p of OS_RELEASE) {
    const r = await hostFs.readFile(p, { maxBytes: MAX_OS_RELEASE_BYTES });
    if (r.ok) return parseOsRelease(r.value.toString('utf8'));
  }
  return null;
}

export interface DistributionInput {
  readonly hostFs: HostFs;
  /** The distribution processes of the scan's process table (process-table.ts). */
  readonly processes: ProcessScan;
  /** The agent setting `distribution`: `auto` or a name. */
  readonly setting?: string;
  readonly nodeLabels?: { readonly [key: string]: string } | null;
}

export async function collectDistribution(input: DistributionInput): Promise<{ facts: DistributionFacts; paths: string[] }> {
  const { hostFs } = input;
  // The signs are stat'ed side by side: their waits on the disk overlap.
  const paths = signPaths();
  const [seen, os] = await Promise.all([Promise.all(paths.map((p) => hostFs.lstat(p))), readOsRelease(hostFs)]);
  const present = paths.filter((_, i) => seen[i]?.ok === true);
  const facts = detectDistribution({
    paths: present,
    processes: input.processes.matches.map((m) => ({ pid: m.pid, argv: m.argv })),
    os,
    nodeLabels: input.nodeLabels ?? null,
  }, input.setting ?? 'auto');
  return { facts, paths: [...signPaths(), ...OS_RELEASE] };
}

/** Whether an argv is a process some layout names (for the process table's one walk). */
export function isDistributionProcess(argv: readonly string[]): boolean {
  return LAYOUTS.some((l) => [...l.detect.processes, ...(l.kubelet.embeddedIn?.processes ?? []), ...(l.kubeProxy.embeddedIn?.processes ?? [])]
    .some((s) => matchesShape(argv, s)));
}

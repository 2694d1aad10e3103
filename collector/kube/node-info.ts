// A Node object from the Kubernetes API reduced to what the collector judges agent coverage
// by (pure): its name, labels and taints (placement.ts decides from them whether the agent
// DaemonSet runs there), whether it is Ready, and what it says of itself (kubelet version,
// OS image, kernel, architecture) for the node inventory of a node no agent has reported.
// Its ExternalIPs go to the node's agent, which judges what its sockets are bound to by them.
// Everything is bounded; a node past the bounds is unreadable, counted, never guessed at.
import { isIP } from 'node:net';
import { escapeNul } from '../../proto/support/escape.js';

export interface Taint {
  readonly key: string;
  readonly value: string;
  /** NoSchedule, PreferNoSchedule or NoExecute. */
  readonly effect: string;
}

export interface NodeInfo {
  readonly name: string;
  readonly uid: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly taints: readonly Taint[];
  /** The Ready condition is True. */
  readonly ready: boolean;
  /** status.nodeInfo, as the kubelet reports it (empty when absent). */
  readonly kubeletVersion: string;
  readonly osImage: string;
  readonly kernel: string;
  readonly arch: string;
  /** status.addresses of type ExternalIP (valid addresses only, at most MAX_EXTERNAL_IPS): sent to the node's agent. */
  readonly externalIps: readonly string[];
}

export const MAX_EXTERNAL_IPS = 16;

export type NodeRead =
  | { readonly kind: 'node'; readonly info: NodeInfo }
  | { readonly kind: 'invalid'; readonly reason: string };

/** Far beyond a real node (tens of labels, a few taints); a node past them is refused, not cut. */
export const NODE_LIMITS = { maxLabels: 1024, maxTaints: 256 } as const;

const MAX_NAME = 253;
/** A label key: an optional DNS prefix (253) and a name (63). */
const MAX_LABEL_KEY = 317;
const MAX_LABEL_VALUE = 63;
/** Taint values may be longer than label values (up to 63 by validation; allow slack). */
const MAX_TAINT_VALUE = 253;
const MAX_INFO = 256;

type Obj = Record<string, unknown>;
const obj = (v: unknown): Obj | undefined => (typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Obj) : undefined);
const bounded = (v: unknown, max: number): string | undefined => (typeof v === 'string' && v.length <= max ? v : undefined);
/**
 * What a node says of itself: free text, cut to MAX_INFO, each NUL written as `\x00` (no
 * PostgreSQL text holds one, and one node's text must not fail the write of every node's row).
 */
const info = (v: unknown): string => (typeof v === 'string' ? escapeNul(v.slice(0, MAX_INFO)) : '');

export function readNode(raw: unknown): NodeRead {
  const node = obj(raw);
  const meta = obj(node?.metadata);
  const name = bounded(meta?.name, MAX_NAME);
  const uid = bounded(meta?.uid, MAX_NAME);
  if (!node || !name || !uid) return { kind: 'invalid', reason: 'a node without metadata.name or uid' };

  const labels: Record<string, string> = {};
  const rawLabels = meta?.labels;
  if (rawLabels !== undefined && rawLabels !== null) {
    const l = obj(rawLabels);
    if (!l) return { kind: 'invalid', reason: `node ${name}: metadata.labels is not a map` };
    const entries = Object.entries(l);
    if (entries.length > NODE_LIMITS.maxLabels) return { kind: 'invalid', reason: `node ${name}: more than ${NODE_LIMITS.maxLabels} labels` };
    for (const [k, v] of entries) {
      const value = bounded(v, MAX_LABEL_VALUE);
      if (k === '' || k.length > MAX_LABEL_KEY || value === undefined) return { kind: 'invalid', reason: `node ${name}: a label that is not a label` };
      labels[k] = value;
    }
  }

  const taints: Taint[] = [];
  const spec = obj(node.spec) ?? {};
  const rawTaints = spec.taints;
  if (rawTaints !== undefined && rawTaints !== null) {
    if (!Array.isArray(rawTaints)) return { kind: 'invalid', reason: `node ${name}: spec.taints is not a list` };
    if (rawTaints.length > NODE_LIMITS.maxTaints) return { kind: 'invalid', reason: `node ${name}: more than ${NODE_LIMITS.maxTaints} taints` };
    for (const t of rawTaints) {
      const taint = obj(t);
      const key = bounded(taint?.key, MAX_LABEL_KEY);
      const value = taint?.value === undefined ? '' : bounded(taint.value, MAX_TAINT_VALUE);
      const effect = bounded(taint?.effect, 32);
      if (!key || value === undefined || !effect) return { kind: 'invalid', reason: `node ${name}: a taint without a key or an effect` };
      taints.push({ key, value, effect });
    }
  }
  // The legacy field the API server still turns into the unschedulable taint for the scheduler.
  if (spec.unschedulable === true && !taints.some((t) => t.key === UNSCHEDULABLE_TAINT)) taints.push({ key: UNSCHEDULABLE_TAINT, value: '', effect: 'NoSchedule' });

  const status = obj(node.status) ?? {};
  const conditions = Array.isArray(status.conditions) ? status.conditions : [];
  const ready = conditions.some((c) => obj(c)?.type === 'Ready' && obj(c)?.status === 'True');
  const ni = obj(status.nodeInfo) ?? {};
  const addresses = Array.isArray(status.addresses) ? status.addresses : [];
  const externalIps: string[] = [];
  for (const a of addresses) {
    const address = bounded(obj(a)?.address, 64);
    if (obj(a)?.type === 'ExternalIP' && address !== undefined && isIP(address) !== 0 && !externalIps.includes(address) && externalIps.length < MAX_EXTERNAL_IPS) externalIps.push(address);
  }
  return {
    kind: 'node',
    info: { name, uid, labels, taints, ready, kubeletVersion: info(ni.kubeletVersion), osImage: info(ni.osImage), kernel: info(ni.kernelVersion), arch: info(ni.architecture), externalIps },
  };
}

export const UNSCHEDULABLE_TAINT = 'node.kubernetes.io/unschedulable';

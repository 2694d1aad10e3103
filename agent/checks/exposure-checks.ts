// What the node's listening sockets expose, judged from the exposure facts (agent/exposure/):
// which address each control-plane port, the kubelet's ports and etcd's client port are bound
// to. Wording is "bound to", never "reachable": a firewall or security group may still stand
// in front, and NodePort or hostPort traffic (DNAT rules, no socket) is not seen at all. Pure.
//
// A socket is exposed when its address class is public, when it is bound to one of the Node
// object's ExternalIPs, or when it is bound to every address on a node that has one (cloud
// public addresses are NAT'd to the node and are not on its interfaces).
import type { Result } from '../../proto/domain.js';
import type { ComponentFacts, HostFacts } from '../facts/index.js';
import type { ExposureFacts, Listener } from '../facts/exposure-types.js';
import { coveringListen, judgedListener, listenItem } from '../exposure/listen-baseline.js';
import { listenSubject } from '../../proto/listen-item.js';
import { KUBELET_PORT, KUBELET_READ_ONLY_PORT } from './kubelet-exposure.js';
import { resolveKubeletSetting } from '../facts/component-settings.js';
import { failingStatus, makeResult } from './result.js';
import type { CheckMeta, CustomCheck, KubeletSetting } from './spec.js';

export const ETCD_CLIENT_PORT = 2379;
export const ETCD_PEER_PORT = 2380;

/** `10.0.0.5:2379`, `[::]:2379`. */
export const hostPort = (address: string, port: number): string => `${address.includes(':') ? `[${address}]` : address}:${port}`;

function ownerText(l: Listener): string {
  if (l.owner === null) return 'no process found holding it';
  const where = l.owner.pod ? `pod ${l.owner.namespace}/${l.owner.pod}${l.owner.container ? `, container ${l.owner.container}` : ''}` : 'the host';
  return `pid ${l.owner.pid} ${l.owner.exe || l.owner.comm} in ${where}`;
}

/** Why a listener counts as exposed, or null. */
export function exposedBecause(l: Listener, exposure: ExposureFacts): string | null {
  const external = exposure.nodeAddresses.filter((a) => a.source === 'node');
  if (external.some((a) => a.address === l.address)) return `bound to ${hostPort(l.address, l.port)}, the Node's ExternalIP`;
  if (l.wildcard && external.length > 0) return `bound to every address (${hostPort(l.address, l.port)}), which includes the Node's ExternalIP ${external.map((a) => a.address).join(', ')}`;
  if (l.class === 'public') return l.wildcard ? `bound to every address (${hostPort(l.address, l.port)}), and the node has a public address` : `bound to the public address ${hostPort(l.address, l.port)}`;
  return null;
}

const describe = (ls: readonly Listener[]): string => ls.map((l) => `${hostPort(l.address, l.port)} (${l.class}; ${ownerText(l)})`).join(', ');

/** A component's `--secure-port` (the last one given wins), else its default. */
function securePort(c: ComponentFacts | null | undefined, fallback: number): number {
  const args = c?.args ?? [];
  for (let i = args.length - 1; i >= 0; i--) {
    const a = args[i];
    if (a?.name === 'secure-port' && /^[0-9]{1,5}$/.test(a.value)) return Number(a.value);
  }
  return fallback;
}

function kubeletPort(facts: HostFacts, setting: KubeletSetting): number {
  if (facts.kubelet !== null) {
    const r = resolveKubeletSetting(facts.kubelet, setting);
    if (r.ok && r.setting.value !== null && /^[0-9]{1,5}$/.test(r.setting.value)) return Number(r.setting.value);
  }
  return Number(setting.flagDefault);
}

export interface PortTarget {
  readonly component: string;
  readonly port: number;
}

/** The control-plane ports judged on this node: defaults, or the components' own settings. */
export function controlPlaneTargets(facts: HostFacts): PortTarget[] {
  const cp = facts.controlPlane?.components;
  const targets: PortTarget[] = [
    { component: 'etcd-client', port: ETCD_CLIENT_PORT },
    { component: 'etcd-peer', port: ETCD_PEER_PORT },
    { component: 'kube-apiserver', port: securePort(cp?.['kube-apiserver'], 6443) },
    { component: 'kube-controller-manager', port: securePort(cp?.['kube-controller-manager'], 10257) },
    { component: 'kube-scheduler', port: securePort(cp?.['kube-scheduler'], 10259) },
  ];
  const ro = kubeletPort(facts, KUBELET_READ_ONLY_PORT);
  if (ro !== 0) targets.push({ component: 'kubelet-read-only', port: ro });
  return targets;
}

function notCollected(meta: CheckMeta, subject: string, facts: HostFacts): Result | null {
  const e = facts.exposure;
  if (e === undefined) return makeResult(meta, { subject, status: 'skip', reason: 'the node\'s listening sockets were not collected (agent setting exposure.enabled)' });
  const unread = e.tables.filter((t) => t.error !== '' && (t.table === 'tcp' || t.table === 'tcp6'));
  if (unread.length === 2 && unread.every((t) => t.error === 'ENOENT')) {
    return makeResult(meta, { subject, status: 'skip', reason: `pid ${e.namespacePid} of the proc root has no socket tables (net/tcp, net/tcp6): not a live procfs` });
  }
  if (unread.length === 2) return makeResult(meta, { subject, status: 'error', reason: `the TCP socket tables of pid ${e.namespacePid}'s network namespace could not be read: ${unread.map((t) => `${t.table}: ${t.error}`).join('; ')}` });
  return null;
}

/** One result per port: fail when bound to a public address or the Node's ExternalIP. */
function judgePorts(meta: CheckMeta, facts: HostFacts, targets: readonly PortTarget[], expose: (l: Listener, e: ExposureFacts) => string | null): Result[] {
  const out: Result[] = [];
  for (const t of targets) {
    const subject = `exposure/${t.component}:${t.port}`;
    const missing = notCollected(meta, subject, facts);
    if (missing) {
      out.push(missing);
      continue;
    }
    const e = facts.exposure as ExposureFacts;
    const on = e.listeners.filter((l) => l.protocol === 'tcp' && l.port === t.port);
    const expected = 'bound to loopback or private addresses only';
    if (on.length === 0) {
      out.push(makeResult(meta, { subject, status: 'skip', expected, reason: `nothing listens on TCP port ${t.port} in the host's network namespace` }));
      continue;
    }
    const exposed = on.flatMap((l) => {
      const why = expose(l, e);
      return why === null ? [] : [`${why} (${ownerText(l)})`];
    });
    const actual = on.map((l) => `${hostPort(l.address, l.port)} ${l.class}`).join(', ');
    if (exposed.length > 0) out.push(makeResult(meta, { subject, status: failingStatus(meta), actual, expected, source: 'process', reason: `${t.component}'s port is ${exposed.join('; ')}` }));
    else out.push(makeResult(meta, { subject, status: 'pass', actual, expected, source: 'process', reason: `TCP port ${t.port} is bound only to ${describe(on)}` }));
  }
  return out;
}

export function controlPlanePortsCheck(meta: CheckMeta): CustomCheck {
  return {
    ...meta,
    kind: 'custom',
    reads: "The host network namespace's listening TCP sockets (/proc/1/net/tcp, tcp6) on etcd's client and peer ports (2379, 2380), the API server's, controller manager's and scheduler's --secure-port (6443, 10257, 10259 by default) and the kubelet's read-only port, each with the process holding it, against the node's addresses and the Node object's ExternalIP.",
    evaluate: (facts) => judgePorts(meta, facts, controlPlaneTargets(facts), exposedBecause),
  };
}

export function kubeletApiCheck(meta: CheckMeta): CustomCheck {
  return {
    ...meta,
    kind: 'custom',
    reads: "The host network namespace's listening TCP sockets on the kubelet's port (10250 by default, else its port setting): bound to a public address fails.",
    evaluate(facts) {
      const port = kubeletPort(facts, KUBELET_PORT);
      return judgePorts(meta, facts, [{ component: 'kubelet', port }], (l) => (l.class === 'public' ? exposedBecause(l, facts.exposure as ExposureFacts) : null));
    },
  };
}

/**
 * etcd's client port on any address but loopback, while the live probe saw it serve a client
 * that had no certificate (or plain text): anyone on that network has the cluster's data.
 */
export function etcdClientAuthCheck(meta: CheckMeta): CustomCheck {
  return {
    ...meta,
    kind: 'custom',
    reads: "etcd's client port (2379) in the host network namespace's listening sockets, bound to anything but loopback, together with the live etcd probe (etcdProbe): a probe served without a client certificate fails.",
    evaluate(facts) {
      const subject = `exposure/etcd-client-auth:${ETCD_CLIENT_PORT}`;
      const missing = notCollected(meta, subject, facts);
      if (missing) return [missing];
      const e = facts.exposure as ExposureFacts;
      const expected = 'client certificates required on every non-loopback address';
      const open = e.listeners.filter((l) => l.protocol === 'tcp' && l.port === ETCD_CLIENT_PORT && l.class !== 'loopback');
      if (open.length === 0) return [makeResult(meta, { subject, status: 'pass', expected, reason: `nothing listens on TCP port ${ETCD_CLIENT_PORT} outside loopback` })];
      const probe = facts.etcdProbe;
      if (probe === undefined || probe.disabledReason !== '') {
        return [makeResult(meta, { subject, status: 'skip', expected, reason: `etcd's client port is ${describe(open)}, and the etcd probe did not run: ${probe?.disabledReason || 'no probe facts'}` })];
      }
      const served = probe.endpoints.filter((p) => p.tls?.outcome === 'served' || p.plain?.outcome === 'served');
      if (served.length > 0) {
        return [makeResult(meta, {
          subject, status: failingStatus(meta), expected, actual: 'served without a client certificate', source: 'process',
          reason: `etcd's client port is ${describe(open)}, and the probe was served without a client certificate at ${served.map((p) => p.url).join(', ')}`,
        })];
      }
      const required = probe.endpoints.filter((p) => p.tls?.outcome === 'cert-required' || p.tls?.outcome === 'tls-refused');
      if (required.length === 0) {
        return [makeResult(meta, { subject, status: 'error', expected, reason: `etcd's client port is ${describe(open)}, and the probe could not tell whether it requires client certificates${probe.error ? `: ${probe.error}` : ''}` })];
      }
      return [makeResult(meta, { subject, status: 'pass', expected, actual: 'client certificate required', source: 'process', reason: `etcd's client port is ${describe(open)}; the probe was refused without a client certificate at ${required.map((p) => p.url).join(', ')}` })];
    },
  };
}

/**
 * A process of a locked workload listening where it did not while its baseline learned
 * (agent/exposure/listen-baseline.ts). One result per judged listener of a key that has a
 * listen baseline: pass when learned, fail when not and the baseline is locked.
 */
export function newListenerCheck(meta: CheckMeta): CustomCheck {
  return {
    ...meta,
    kind: 'custom',
    reads: "The listening sockets of the host network namespace with their processes' baseline keys, against what each key's processes listened on while its process baseline was learning, here or on the nodes the collector's central baseline learned from, and the listens operators allowed (`<stateDir>/listens.json`). UDP sockets on ports 32768 and up are not judged. Needs the process monitor.",
    evaluate(facts) {
      const e = facts.exposure;
      if (e?.listenBaselines === undefined) {
        return [makeResult(meta, { subject: 'exposure/listen-baselines', status: 'skip', reason: 'no listen baselines: the process monitor does not run (processes.enabled), or exposure is off' })];
      }
      const out: Result[] = [];
      const seen = new Set<string>();
      for (const l of e.listeners) {
        if (!judgedListener(l)) continue;
        const key = (l.owner as NonNullable<Listener['owner']>).key;
        const view = e.listenBaselines[key];
        if (view === undefined) continue;
        const item = listenItem(l);
        const subject = listenSubject(key, item);
        if (seen.has(subject)) continue;
        seen.add(subject);
        const actual = `${item} (${ownerText(l)})`;
        const expected = view.learned.length === 0 ? 'no listening socket' : view.learned.join(', ');
        const covering = view.learned.includes(item) ? item : coveringListen(view.learned, l);
        if (covering !== undefined) {
          const how = covering === item ? `${item} is in ${key}'s listen set` : `${key}'s listen set holds ${covering}, which covers ${item} (${l.class})`;
          out.push(makeResult(meta, { subject, status: 'pass', actual, expected, source: 'process', reason: how }));
        } else if (view.state === 'locked') {
          out.push(makeResult(meta, {
            subject, status: failingStatus(meta), actual, expected, source: 'process',
            reason: `a process of ${key}, whose baseline is locked, is listening on ${item}, which it did not while learning and no operator allowed (${ownerText(l)})${view.overflow > 0 ? `; ${view.overflow} listens were not learned: the set was full` : ''}`,
          }));
        }
      }
      return out;
    },
  };
}

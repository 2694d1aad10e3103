// ScanReport.exposure as the collector accepts it (proto/nodeward/v1/agent.proto NodeExposure):
// every listener and node address checked against the wire's bounds, every address a real
// IPv4 or IPv6 address, every class one of the four, no NUL in a name or path (the walk's
// cut, free text, has its NULs escaped: proto/support/escape.ts). Pure: a value, or why the
// report is refused (validate.ts makes that INVALID_ARGUMENT).
import { isIP } from 'node:net';
import { escapeNul, NUL } from '../../proto/support/escape.js';
import type { NodeExposure__Output } from '../../proto/gen/nodeward/v1/NodeExposure.js';
import { EXPOSURE_CLASSES, type ExposureClass, type ExposureListener, type NodeExposure } from '../store/store.js';

export const EXPOSURE_LIMITS = { listeners: 4096, nodeAddresses: 1024, text: 1024 } as const;

class Refused extends Error {}

function str(field: string, v: unknown, max: number = EXPOSURE_LIMITS.text): string {
  if (v === undefined || v === null) return '';
  if (typeof v !== 'string') throw new Refused(`${field} is not a string`);
  if (v.length > max) throw new Refused(`${field} is longer than ${max} characters`);
  if (v.includes(NUL)) throw new Refused(`${field} holds the NUL character (U+0000) at ${v.indexOf(NUL)}: a name, path or identifier cannot`);
  return v;
}

/** Free text: each NUL written as `\x00`; the bound holds for what is stored. */
function prose(field: string, v: unknown, max: number): string {
  const s = v === undefined || v === null ? '' : v;
  if (typeof s !== 'string') throw new Refused(`${field} is not a string`);
  const out = escapeNul(s);
  if (out.length > max) throw new Refused(`${field} is longer than ${max} characters${out === s ? '' : ' once its NUL characters are escaped'}`);
  return out;
}

function uint(field: string, v: unknown, max = 0xffffffff): number {
  const n = v === undefined || v === null ? 0 : v;
  if (typeof n !== 'number' || !Number.isSafeInteger(n) || n < 0 || n > max) throw new Refused(`${field} must be an integer from 0 to ${max}`);
  return n;
}

function address(field: string, v: unknown): string {
  const a = str(field, v, 64);
  if (isIP(a) === 0) throw new Refused(`${field} ${JSON.stringify(a)} is not an IPv4 or IPv6 address`);
  return a;
}

function addressClass(field: string, v: unknown): ExposureClass {
  if (!(EXPOSURE_CLASSES as readonly unknown[]).includes(v)) throw new Refused(`${field} ${JSON.stringify(v)} is not loopback, link-local, private or public`);
  return v as ExposureClass;
}

export function exposureFromWire(e: NodeExposure__Output): NodeExposure | string {
  try {
    if (!Array.isArray(e.listeners ?? []) || !Array.isArray(e.nodeAddresses ?? [])) throw new Refused('scanReport.exposure.listeners and nodeAddresses must be lists');
    e = { ...e, listeners: e.listeners ?? [], nodeAddresses: e.nodeAddresses ?? [] };
    if (e.listeners.length > EXPOSURE_LIMITS.listeners) throw new Refused(`scanReport.exposure has ${e.listeners.length} listeners; at most ${EXPOSURE_LIMITS.listeners}`);
    if (e.nodeAddresses.length > EXPOSURE_LIMITS.nodeAddresses) throw new Refused(`scanReport.exposure has ${e.nodeAddresses.length} node addresses; at most ${EXPOSURE_LIMITS.nodeAddresses}`);
    const listeners = e.listeners.map((l, i): ExposureListener => {
      const f = `scanReport.exposure.listeners[${i}]`;
      if (typeof l !== 'object' || l === null) throw new Refused(`${f} is not a listener`);
      if (l.protocol !== 'tcp' && l.protocol !== 'udp') throw new Refused(`${f}.protocol ${JSON.stringify(l.protocol)} is not tcp or udp`);
      return {
        protocol: l.protocol, address: address(`${f}.address`, l.address), port: uint(`${f}.port`, l.port, 65535),
        addressClass: addressClass(`${f}.addressClass`, l.addressClass), wildcard: l.wildcard === true, pid: uint(`${f}.pid`, l.pid),
        exe: str(`${f}.exe`, l.exe), baseline: str(`${f}.baseline`, l.baseline), namespace: str(`${f}.namespace`, l.namespace),
        pod: str(`${f}.pod`, l.pod), container: str(`${f}.container`, l.container), workload: str(`${f}.workload`, l.workload), uid: uint(`${f}.uid`, l.uid),
      };
    });
    const nodeAddresses = e.nodeAddresses.map((a, i) => {
      const f = `scanReport.exposure.nodeAddresses[${i}]`;
      if (typeof a !== 'object' || a === null) throw new Refused(`${f} is not an address`);
      if (a.source !== 'interface' && a.source !== 'node') throw new Refused(`${f}.source ${JSON.stringify(a.source)} is not interface or node`);
      const source: 'interface' | 'node' = a.source;
      return { address: address(`${f}.address`, a.address), addressClass: addressClass(`${f}.addressClass`, a.addressClass), source };
    });
    return {
      listeners, nodeAddresses, listenersDropped: uint('scanReport.exposure.listenersDropped', e.listenersDropped),
      unowned: uint('scanReport.exposure.unowned', e.unowned), walkCut: prose('scanReport.exposure.walkCut', e.walkCut, 256),
      rowsRefused: uint('scanReport.exposure.rowsRefused', e.rowsRefused),
    };
  } catch (err) {
    if (err instanceof Refused) return err.message;
    throw err;
  }
}

export { isListenItem } from '../../proto/listen-item.js';

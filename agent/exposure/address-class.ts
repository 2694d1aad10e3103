// Address classes as data: which ranges are loopback, link-local, private or public. The
// defaults are the IANA special-purpose ranges that matter for exposure; an operator adds
// ranges of their own (agent config `exposure.ranges`: e.g. 100.64.0.0/10 as private on a
// network that uses it internally, or a test range as public), which are matched first. An
// address in no range is public. A socket bound to every address (`0.0.0.0`, `::`) takes the
// most exposed class among the node's own addresses. Pure.
import { isIP } from 'node:net';
import type { AddressClass } from '../facts/exposure-types.js';

export type { AddressClass } from '../facts/exposure-types.js';

export const ADDRESS_CLASSES: readonly AddressClass[] = ['loopback', 'link-local', 'private', 'public'];

/** How exposed a class is: the higher, the more. */
export const EXPOSURE_RANK: Readonly<Record<AddressClass, number>> = { loopback: 0, 'link-local': 1, private: 2, public: 3 };

export interface RangeSpec {
  readonly cidr: string;
  readonly class: AddressClass;
}

export const DEFAULT_RANGES: readonly RangeSpec[] = [
  { cidr: '127.0.0.0/8', class: 'loopback' },
  { cidr: '::1/128', class: 'loopback' },
  { cidr: '169.254.0.0/16', class: 'link-local' },
  { cidr: 'fe80::/10', class: 'link-local' },
  { cidr: '10.0.0.0/8', class: 'private' },
  { cidr: '172.16.0.0/12', class: 'private' },
  { cidr: '192.168.0.0/16', class: 'private' },
  { cidr: 'fc00::/7', class: 'private' },
];

interface Range {
  readonly bytes: readonly number[];
  readonly prefix: number;
  readonly class: AddressClass;
}

export interface AddressClasses {
  readonly ranges: readonly Range[];
}

/** The 4 or 16 bytes of an address in text form; null when it is not one. */
export function addressBytes(address: string): number[] | null {
  const kind = isIP(address);
  if (kind === 4) return address.split('.').map(Number);
  if (kind !== 6) return null;
  let text = address;
  let tail: number[] = [];
  const v4 = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (v4) {
    tail = (v4[1] as string).split('.').map(Number);
    text = `${text.slice(0, v4.index)}0:0`;
  }
  const [head, rest] = text.split('::') as [string, string | undefined];
  const h = head === '' ? [] : head.split(':');
  const r = rest === undefined || rest === '' ? [] : rest.split(':');
  const groups = rest === undefined ? h : [...h, ...Array<string>(8 - h.length - r.length).fill('0'), ...r];
  const bytes: number[] = [];
  for (const g of groups) {
    const v = Number.parseInt(g, 16);
    bytes.push((v >> 8) & 0xff, v & 0xff);
  }
  if (tail.length === 4) bytes.splice(12, 4, ...tail);
  return bytes.length === 16 ? bytes : null;
}

/** `10.0.0.0/8` -> a range; a reason when it is not a CIDR. */
export function parseCidr(spec: RangeSpec): Range | string {
  const [addr, prefixText, extra] = spec.cidr.split('/');
  if (addr === undefined || prefixText === undefined || extra !== undefined || !/^[0-9]{1,3}$/.test(prefixText)) return `${JSON.stringify(spec.cidr)} is not an address/prefix`;
  const bytes = addressBytes(addr);
  const prefix = Number(prefixText);
  if (bytes === null) return `${JSON.stringify(spec.cidr)}: ${JSON.stringify(addr)} is not an IPv4 or IPv6 address`;
  if (prefix > bytes.length * 8) return `${JSON.stringify(spec.cidr)}: a prefix longer than the address`;
  if (!ADDRESS_CLASSES.includes(spec.class)) return `${JSON.stringify(spec.cidr)}: unknown class ${JSON.stringify(spec.class)}`;
  return { bytes, prefix, class: spec.class };
}

/** The operator's ranges first, then the defaults; refusals say which entry and why. */
export function addressClasses(overrides: readonly RangeSpec[] = []): { classes: AddressClasses; errors: string[] } {
  const ranges: Range[] = [];
  const errors: string[] = [];
  for (const spec of [...overrides, ...DEFAULT_RANGES]) {
    const r = parseCidr(spec);
    if (typeof r === 'string') errors.push(r);
    else ranges.push(r);
  }
  return { classes: { ranges }, errors };
}

function inRange(bytes: readonly number[], r: Range): boolean {
  if (bytes.length !== r.bytes.length) return false;
  let bits = r.prefix;
  for (let i = 0; bits > 0; i++, bits -= 8) {
    const mask = bits >= 8 ? 0xff : (0xff << (8 - bits)) & 0xff;
    if (((bytes[i] as number) & mask) !== ((r.bytes[i] as number) & mask)) return false;
  }
  return true;
}

/** `0.0.0.0` or `::`: bound to every address of the namespace. */
export function isWildcard(address: string): boolean {
  return address === '0.0.0.0' || address === '::';
}

/** The class of one concrete address (IPv4-mapped IPv6 as its IPv4); null when it is not an address. */
export function classify(address: string, classes: AddressClasses): AddressClass | null {
  let bytes = addressBytes(address);
  if (bytes === null) return null;
  if (bytes.length === 16 && bytes.slice(0, 10).every((b) => b === 0) && bytes[10] === 0xff && bytes[11] === 0xff) bytes = bytes.slice(12);
  for (const r of classes.ranges) if (inRange(bytes, r)) return r.class;
  return 'public';
}

export function mostExposed(list: readonly AddressClass[]): AddressClass | null {
  let best: AddressClass | null = null;
  for (const c of list) if (best === null || EXPOSURE_RANK[c] > EXPOSURE_RANK[best]) best = c;
  return best;
}

/**
 * The class of a bound address: a wildcard takes the most exposed class among the node's
 * addresses of its family (`::` also takes IPv4 ones: a dual-stack socket accepts both). With
 * no node address known, a wildcard is public: nothing says it is not.
 */
export function classifyBound(address: string, nodeAddresses: readonly { address: string; class: AddressClass }[], classes: AddressClasses): AddressClass | null {
  if (!isWildcard(address)) return classify(address, classes);
  const own = address === '::' ? nodeAddresses : nodeAddresses.filter((a) => isIP(a.address) === 4);
  return mostExposed(own.map((a) => a.class)) ?? 'public';
}

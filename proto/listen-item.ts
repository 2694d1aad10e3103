// A listen of a baseline's listen set (docs/exposure.md): part of the wire contract
// (AgentBaseline.listens, BaselineUpdate.listens), so the agent and the collector read it
// with this one module. Two forms:
//
//   <tcp|udp>/<address>:<port>   what a process listened on, as bound: `tcp/0.0.0.0:8080`,
//                                `udp/[::1]:53` (an IPv6 address in brackets, in its
//                                canonical text); what agents learn, and what operators allow
//   <tcp|udp>/<class>:<port>     an operator's allow of a port on any address of a class:
//                                `tcp/private:9090` (loopback, link-local, private, public;
//                                a socket bound to every address has the most exposed class
//                                of the node's addresses, as the agent classifies it)
//
// At most LISTEN_TEXT_MAX characters. Pure.
import { isIP } from 'node:net';

export const LISTEN_PROTOCOLS = ['tcp', 'udp'] as const;
export type ListenProtocol = (typeof LISTEN_PROTOCOLS)[number];
export const LISTEN_CLASSES = ['loopback', 'link-local', 'private', 'public'] as const;
export type ListenClass = (typeof LISTEN_CLASSES)[number];
export const LISTEN_TEXT_MAX = 64;

/** The check that judges a locked baseline's listeners against its listen set (agent/checks/exposure-checks.ts). */
export const NEW_LISTENER_CHECK_ID = 'exposure-new-listener';

/** The subject of an exposure-new-listener result: the baseline key and the listen as bound. */
export const listenSubject = (key: string, listen: string): string => `${key}:${listen}`;

export type ParsedListen =
  | { readonly protocol: ListenProtocol; readonly port: number; readonly address: string }
  | { readonly protocol: ListenProtocol; readonly port: number; readonly addressClass: ListenClass };

const FORM = /^(tcp|udp)\/(?:\[([0-9A-Fa-f:.]{2,45})\]|([0-9.]{7,15})|([a-z-]{6,10})):([0-9]{1,5})$/;

/**
 * An IPv6 address in its canonical text (RFC 5952: `0:0::0` -> `::`, lower case), with an
 * IPv4-mapped one's tail dotted (`::ffff:10.0.0.1`): the form the agent reports.
 */
export function canonicalIpv6(address: string): string {
  const text = new URL(`http://[${address}]/`).hostname.slice(1, -1);
  const mapped = /^::ffff:([0-9a-f]{1,4}):([0-9a-f]{1,4})$/.exec(text);
  if (!mapped) return text;
  const [hi, lo] = [parseInt(mapped[1] as string, 16), parseInt(mapped[2] as string, 16)];
  return `::ffff:${hi >> 8}.${hi & 255}.${lo >> 8}.${lo & 255}`;
}

/** The listen text of a listen; a literal address is written canonically. */
export function formatListen(l: ParsedListen): string {
  if ('addressClass' in l) return `${l.protocol}/${l.addressClass}:${l.port}`;
  return `${l.protocol}/${l.address.includes(':') ? `[${canonicalIpv6(l.address)}]` : l.address}:${l.port}`;
}

/** A listen text read, or why it is not one (one sentence, for an API's 400). */
export function parseListen(text: unknown): ParsedListen | string {
  if (typeof text !== 'string') return 'a listen is a string';
  if (text.length > LISTEN_TEXT_MAX) return `a listen is at most ${LISTEN_TEXT_MAX} characters`;
  const m = FORM.exec(text);
  if (!m) return `${JSON.stringify(text)} is not <tcp|udp>/<address>:<port> (an IPv6 address in brackets) or <tcp|udp>/<${LISTEN_CLASSES.join('|')}>:<port>`;
  const protocol = m[1] as ListenProtocol;
  const port = Number(m[5]);
  if (port < 1 || port > 65535 || String(port) !== m[5]) return `${JSON.stringify(text)}: the port is 1 to 65535, without leading zeros`;
  if (m[4] !== undefined) {
    if (!(LISTEN_CLASSES as readonly string[]).includes(m[4])) return `${JSON.stringify(text)}: ${m[4]} is not an address class (${LISTEN_CLASSES.join(', ')})`;
    return { protocol, port, addressClass: m[4] as ListenClass };
  }
  if (m[2] !== undefined) {
    if (isIP(m[2]) !== 6) return `${JSON.stringify(text)}: ${m[2]} is not an IPv6 address`;
    return { protocol, port, address: canonicalIpv6(m[2]) };
  }
  if (isIP(m[3] ?? '') !== 4) return `${JSON.stringify(text)}: ${m[3] ?? ''} is not an IPv4 address`;
  return { protocol, port, address: m[3] as string };
}

/** `tcp/0.0.0.0:8080`, `udp/[::1]:53`: a listen of the address form (what agents learn and report). */
export function isListenItem(text: string): boolean {
  const p = parseListen(text);
  return typeof p !== 'string' && 'address' in p;
}

/** Whether the listen (either form) covers a listener with this protocol, address, port and class. */
export function listenCovers(
  listen: ParsedListen, l: { readonly protocol: string; readonly address: string; readonly port: number; readonly class: string },
): boolean {
  if (listen.protocol !== l.protocol || listen.port !== l.port) return false;
  if ('addressClass' in listen) return listen.addressClass === l.class;
  return listen.address === (l.address.includes(':') ? canonicalIpv6(l.address) : l.address);
}

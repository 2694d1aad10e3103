// Validation of the names that go into certificates: node names (client certificates)
// and collector host names / addresses (server certificate SANs).

import { isIP } from 'node:net';
import { isValidNodeName } from '../../proto/domain.js';

/** Throws one error naming every invalid node name (and duplicates), or returns the list. */
export function checkNodeNames(nodes: readonly string[]): string[] {
  const bad = nodes.filter((n) => !isValidNodeName(n));
  if (bad.length > 0) {
    const list = bad.map((n) => JSON.stringify(n)).join(', ');
    throw new Error(
      `invalid node name${bad.length > 1 ? 's' : ''} ${list}: a node name must be a DNS-1123 subdomain ` +
        '(lower-case letters, digits, "-" and ".", starting and ending with a letter or digit, at most 253 characters)',
    );
  }
  const seen = new Set<string>();
  const dups = new Set<string>();
  for (const n of nodes) {
    if (seen.has(n)) dups.add(n);
    seen.add(n);
  }
  if (dups.size > 0) throw new Error(`duplicate node name ${[...dups].map((n) => JSON.stringify(n)).join(', ')}`);
  return [...nodes];
}

export interface SplitHosts {
  /** DNS names, lower-cased, in the order given. */
  readonly dns: string[];
  /** IP addresses in a canonical text form (IPv6 compressed, no brackets). */
  readonly ips: string[];
}

const LABEL = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;

/** A DNS name acceptable as a certificate SAN; a single leading "*." wildcard label is allowed. */
function isDnsName(name: string): boolean {
  if (name.length === 0 || name.length > 253) return false;
  const labels = name.split('.');
  return labels.every((l, i) => (i === 0 && l === '*' && labels.length > 1) || LABEL.test(l));
}

/**
 * Sorts collector hosts into DNS names and IP addresses (so "localhost" becomes a DNS
 * SAN and "127.0.0.1" / "::1" become IP SANs), normalising and de-duplicating them.
 * Throws one error naming every entry that is neither.
 */
export function splitHosts(hosts: readonly string[]): SplitHosts {
  const dns: string[] = [];
  const ips: string[] = [];
  const bad: string[] = [];
  for (const raw of hosts) {
    let h = raw.trim();
    if (h.startsWith('[') && h.endsWith(']')) h = h.slice(1, -1);
    const family = isIP(h);
    if (family === 4) {
      if (!ips.includes(h)) ips.push(h);
    } else if (family === 6) {
      if (h.includes('%')) {
        bad.push(raw);
        continue;
      }
      const canonical = new URL(`http://[${h}]/`).hostname.slice(1, -1);
      if (!ips.includes(canonical)) ips.push(canonical);
    } else {
      const name = h.toLowerCase().replace(/\.$/, '');
      if (!isDnsName(name)) {
        bad.push(raw);
        continue;
      }
      if (!dns.includes(name)) dns.push(name);
    }
  }
  if (bad.length > 0) {
    throw new Error(
      `invalid collector host${bad.length > 1 ? 's' : ''} ${bad.map((h) => JSON.stringify(h)).join(', ')}: ` +
        'expected a DNS name or an IP address (IPv6 zone IDs are not allowed)',
    );
  }
  if (dns.length === 0 && ips.length === 0) throw new Error('at least one collector host (DNS name or IP address) is required');
  return { dns, ips };
}

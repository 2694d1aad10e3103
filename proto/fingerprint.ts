import { createHash } from 'node:crypto';

/**
 * A finding's stable identity: the first 32 hex characters of
 * SHA-256(node "\n" checkId "\n" subject). Documented in proto/nodeward/v1/agent.proto;
 * used for dedup, idempotent upserts, API ids and webhook idempotency keys.
 */
export function fingerprint(node: string, checkId: string, subject: string): string {
  return createHash('sha256').update(`${node}\n${checkId}\n${subject}`, 'utf8').digest('hex').slice(0, 32);
}

/**
 * The identity of a cluster finding (the collector's posture checks, about API objects, not a
 * node): the same hash with an empty node, SHA-256("" "\n" checkId "\n" key). A node's name is
 * never empty (isValidNodeName: a DNS subdomain), so no node finding's input starts with "\n"
 * and the two forms cannot meet; node fingerprints are unchanged.
 */
export function clusterFingerprint(checkId: string, key: string): string {
  return fingerprint('', checkId, key);
}

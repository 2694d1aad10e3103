import { createHash } from 'node:crypto';

// A finding's stable identity, used for dedup, idempotent upserts, API ids and webhook
// idempotency keys (documented in proto/nodeward/v1/agent.proto). A collector names its
// findings within its cluster: the cluster's uid (the kube-system namespace's UID,
// collector/fleet.ts) goes into the hash, so two clusters' findings about a node of the
// same name never share an id. Without a cluster (uid '': the agent's own `nodeward scan`,
// a collector with no Kubernetes API) the id is the hash it always was, so every id made
// before uids existed is what it was.

const hash = (text: string): string => createHash('sha256').update(text, 'utf8').digest('hex').slice(0, 32);

/**
 * The first 32 hex characters of SHA-256(node "\n" checkId "\n" subject) without a cluster,
 * and of SHA-256(cluster NUL node "\n" checkId "\n" subject) with one. A node's name is a DNS
 * subdomain and never holds NUL, nor does the uid, so an input with a cluster is never one
 * without: the two forms cannot meet, and two clusters' ids differ.
 */
export function fingerprint(node: string, checkId: string, subject: string, cluster = ''): string {
  const body = `${node}\n${checkId}\n${subject}`;
  return hash(cluster === '' ? body : `${cluster}\u0000${body}`);
}

/**
 * The identity of a cluster finding (the collector's posture checks, about API objects, not a
 * node): the same hash with an empty node, SHA-256([cluster NUL] "" "\n" checkId "\n" key). A
 * node's name is never empty (isValidNodeName: a DNS subdomain), so no node finding's input
 * has "\n" right after the start (or after the cluster's NUL), and the two forms cannot meet.
 */
export function clusterFingerprint(checkId: string, key: string, cluster = ''): string {
  return fingerprint('', checkId, key, cluster);
}

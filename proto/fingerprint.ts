import { createHash } from 'node:crypto';

/**
 * A finding's stable identity: the first 32 hex characters of
 * SHA-256(node "\n" checkId "\n" subject). Documented in proto/nodeward/v1/agent.proto;
 * used for dedup, idempotent upserts, API ids and webhook idempotency keys.
 */
export function fingerprint(node: string, checkId: string, subject: string): string {
  return createHash('sha256').update(`${node}\n${checkId}\n${subject}`, 'utf8').digest('hex').slice(0, 32);
}

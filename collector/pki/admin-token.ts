// The admin API token of a cluster install: read from the Secret pki.tokenSecret (key
// `admin`), or, when the Secret holds none, generated there on the first start with an
// update guarded by resourceVersion (two replicas starting together end with one token).
// The token itself never reaches a log: the log says where it is and how to read it.
import { randomBytes } from 'node:crypto';
import type { Logger } from '../../proto/support/logger.js';
import { hashToken, type ApiToken } from '../config.js';
import { describe, type KubeObjects, type ObjectRef } from '../kube/objects.js';

export const ADMIN_TOKEN_KEY = 'admin';
const MIN_TOKEN_LENGTH = 16;
const MAX_ATTEMPTS = 5;

export class AdminTokenError extends Error {
  readonly code = 'ADMIN_TOKEN_INVALID';
}

/** The command that prints the token, for the docs and the log. */
export function readTokenCommand(ref: ObjectRef): string {
  return `kubectl -n ${ref.namespace} get secret ${ref.name} -o jsonpath='{.data.${ADMIN_TOKEN_KEY}}' | base64 -d`;
}

export async function ensureAdminToken(objects: KubeObjects, ref: ObjectRef, deps: { log: Logger }): Promise<ApiToken> {
  for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
    const obj = await objects.get(ref);
    const stored = obj.data[ADMIN_TOKEN_KEY]?.trim();
    if (stored) {
      if (stored.length < MIN_TOKEN_LENGTH) throw new AdminTokenError(`${describe(ref)}: the token under "${ADMIN_TOKEN_KEY}" must be at least ${MIN_TOKEN_LENGTH} characters`);
      return { name: 'admin', role: 'admin', sha256: hashToken(stored) };
    }
    const token = randomBytes(32).toString('base64url');
    const updated = await objects.update(obj, { ...obj.data, [ADMIN_TOKEN_KEY]: token });
    if (updated === 'conflict') continue;
    deps.log.info({ secret: describe(ref), read: readTokenCommand(ref) }, 'admin API token generated');
    return { name: 'admin', role: 'admin', sha256: hashToken(token) };
  }
  throw new AdminTokenError(`${describe(ref)}: changed under every one of ${MAX_ATTEMPTS} attempts to fill it; is something else writing it?`);
}

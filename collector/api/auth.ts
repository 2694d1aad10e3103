// Bearer tokens with roles. Tokens are kept only as SHA-256 hashes and compared in
// constant time.
import { createHash, timingSafeEqual } from 'node:crypto';
import type { ApiToken } from '../config.js';

export type Role = 'reader' | 'admin';

export interface Principal {
  readonly name: string;
  readonly role: Role;
}

export function createAuthenticator(tokens: readonly ApiToken[]) {
  const hashes = tokens.map((t) => ({ ...t, digest: Buffer.from(t.sha256, 'hex') }));
  return {
    /** The principal for an Authorization header value, or undefined. */
    authenticate(header: string | undefined): Principal | undefined {
      const m = /^Bearer ([\x21-\x7e]{1,512})$/.exec(header ?? '');
      if (!m) return undefined;
      const digest = createHash('sha256').update(m[1] as string, 'utf8').digest();
      let found: Principal | undefined;
      for (const t of hashes) {
        if (timingSafeEqual(digest, t.digest) && !found) found = { name: t.name, role: t.role };
      }
      return found;
    },
    /**
     * Whether a token of this name with this role is configured now: a dashboard session is
     * worth only what its token still is (removed, or given another role: nothing).
     */
    stillHolds(principal: Principal): boolean {
      return hashes.some((t) => t.name === principal.name && t.role === principal.role);
    },
  };
}

export function allows(principal: Principal, needed: Role): boolean {
  return needed === 'reader' || principal.role === 'admin';
}

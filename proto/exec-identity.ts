// What ran, as the wire states it (agent.proto): the contents (SHA-256) a baseline item holds
// (ItemDigest) and the identity and start context a process finding carries (ExecutableIdentity,
// ExecContext). The agent writes these values and the collector checks them at ingest, so the
// enumerations and bounds are defined once, here.

/** A content digest: 64 lowercase hex characters. */
export const SHA256_HEX = /^[0-9a-f]{64}$/;

export function isSha256(v: unknown): v is string {
  return typeof v === 'string' && SHA256_HEX.test(v);
}

/**
 * How a content joined a baseline item (ItemDigest.source): learned (learning window), startup,
 * operator (an operator's allow), package (the host's package manager recorded this content for
 * the path: an upgrade), image (the first content of a container image not seen before at this
 * path), first-sight (the first content seen of an item that predates digests).
 */
export const DIGEST_SOURCES = ['learned', 'startup', 'operator', 'package', 'image', 'first-sight'] as const;
export type DigestSource = (typeof DIGEST_SOURCES)[number];

export function isDigestSource(v: unknown): v is DigestSource {
  return (DIGEST_SOURCES as readonly unknown[]).includes(v);
}

/** Bounds of BaselineItem.digests: contents per item (the wire's), characters of an image reference. */
export const ITEM_DIGEST_LIMITS = { perItem: 8, imageChars: 512 } as const;

/** Why an executable could not be hashed (ExecutableIdentity.error). */
export const IDENTITY_ERRORS = ['gone', 'too-large', 'not-regular', 'changed', 'unreadable', 'busy'] as const;
export type IdentityError = (typeof IDENTITY_ERRORS)[number];

/** What one of a new process's standard descriptors was (StdioFact.kind). */
export const STDIO_KINDS = ['none', 'socket', 'pipe', 'file', 'chardev', 'other', 'unknown'] as const;
/** A socket's family (StdioFact.family; empty for anything but a socket). */
export const STDIO_FAMILIES = ['unix', 'inet', 'inet6', 'other'] as const;

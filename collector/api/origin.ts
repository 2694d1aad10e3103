// Whether a browser request comes from the collector's own pages: what keeps another site
// from logging a visitor's browser into the dashboard with the attacker's token (login CSRF).
//
//   Sec-Fetch-Site present   it decides: only "same-origin" is ours. Browsers set it and no
//                            page can (a Sec- header); every current browser sends it.
//   absent (an older browser) Origin must be the origin the request was made to (its scheme
//                            and Host header, default port left out) or one of
//                            `api.allowedOrigins` (a proxy in front that changes Host).
//   neither                  refused: not a browser page (curl, a script), and the login exists
//                            only to give a browser its cookie.
//
// Why not Origin first: the collector sends `Referrer-Policy: no-referrer`, under which a
// browser sends `Origin: null` even on a same-origin form post (Chromium does: Origin null,
// Sec-Fetch-Site same-origin). "null" is accepted only where Sec-Fetch-Site vouches for it.
import type { FastifyRequest } from 'fastify';

/** The normalised origin of a URL-ish string, or undefined when it is not one. */
export function originOf(value: string): string | undefined {
  try {
    const u = new URL(value);
    if (u.protocol !== 'https:' && u.protocol !== 'http:') return undefined;
    return u.origin;
  } catch {
    return undefined;
  }
}

export function fromOwnPage(req: FastifyRequest, allowed: readonly string[]): boolean {
  const site = req.headers['sec-fetch-site'];
  if (site !== undefined) return site === 'same-origin';
  const origin = req.headers.origin;
  if (origin === undefined) return false;
  const claimed = originOf(origin);
  if (claimed === undefined) return false;
  const host = req.headers.host;
  if (host !== undefined && claimed === originOf(`${req.protocol}://${host}`)) return true;
  return allowed.some((a) => originOf(a) === claimed);
}

// PEM bundles: a file or Secret value that holds several certificates one after another
// (a CA bundle during a CA rotation). Both sides read bundles the same way: every
// certificate block, in order, and nothing else (text around them, keys, are skipped).

const PEM_CERTIFICATE = /-----BEGIN CERTIFICATE-----\r?\n[A-Za-z0-9+/=\r\n]+-----END CERTIFICATE-----/g;

/** Each certificate block of `text`, in order, as PEM ending with a newline. */
export function pemCertificates(text: string | Buffer): string[] {
  const s = typeof text === 'string' ? text : text.toString('latin1');
  return [...s.matchAll(PEM_CERTIFICATE)].map((m) => `${m[0].replace(/\r\n/g, '\n')}\n`);
}

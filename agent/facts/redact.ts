// Secret-looking command-line values are replaced before any other code sees an argv.
//
// A flag is judged by the last word of its name: `--token`, `--bootstrap-token`,
// `--client-secret`, `--etcd-password` are secrets; `--token-auth-file`,
// `--tls-private-key-file` or `--service-account-max-token-expiration` are not (their last
// word is `file` or `expiration`). A flag whose last word is `key` holds a secret unless its
// value looks like a file path (`--kubelet-client-key=/etc/kubernetes/pki/x.key` is kept).
// Credentials embedded in URLs (`https://user:pass@host`) are redacted in every value.

export const REDACTED = '<redacted>';

const SECRET_WORDS = new Set(['token', 'password', 'passwd', 'secret', 'credential', 'credentials', 'apikey']);
const KEY_WORDS = new Set(['key']);

const BOOLEAN_WORDS = new Set(['true', 'false', 'True', 'False', 'TRUE', 'FALSE']);

const looksLikePath = (v: string): boolean => v.startsWith('/') || v.startsWith('./') || v.startsWith('../');

/** How a flag's value must be treated, judged from its name alone. */
function secretKind(flagName: string): 'secret' | 'key' | 'none' {
  const words = flagName.toLowerCase().split(/[-_.]/);
  const last = words[words.length - 1] ?? '';
  if (SECRET_WORDS.has(last)) return 'secret';
  if (KEY_WORDS.has(last)) return 'key';
  return 'none';
}

function redactValue(kind: 'secret' | 'key' | 'none', value: string): string {
  // A boolean is a switch, not a secret: --use-service-account-credentials=true stays readable.
  if (kind !== 'none' && BOOLEAN_WORDS.has(value)) return value;
  if (kind === 'secret') return REDACTED;
  if (kind === 'key' && !looksLikePath(value)) return REDACTED;
  return redactUrlCredentials(value);
}

/**
 * A value known by name (an environment variable such as `ETCD_PEER_KEY_FILE`, a config
 * key), judged like a flag of that name: `ETCD_INITIAL_CLUSTER_TOKEN` is a secret,
 * `ETCD_PEER_KEY_FILE` is not.
 */
export function redactNamedValue(name: string, value: string): string {
  return redactValue(secretKind(name), value);
}

/** `scheme://user:password@host` -> `scheme://user:<redacted>@host`. */
export function redactUrlCredentials(value: string): string {
  return value.replace(/([a-z][a-z0-9+.-]*:\/\/[^/@\s:]*):[^/@\s]*@/gi, `$1:${REDACTED}@`);
}

/**
 * Returns a copy of argv with secret values replaced. Handles `--flag=value`, `-flag=value`
 * and `--flag value` (the next token is taken as the value when it does not start with `--`;
 * over-redacting a positional argument is the safe mistake).
 */
export function redactArgv(argv: readonly string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    const m = /^(--?)([^=\s]+)(=(.*))?$/s.exec(arg);
    if (i === 0 || m === null) {
      out.push(redactUrlCredentials(arg));
      continue;
    }
    const [, dashes, name, withValue, value] = m as unknown as [string, string, string, string | undefined, string | undefined];
    const kind = secretKind(name);
    if (withValue !== undefined) {
      out.push(`${dashes}${name}=${redactValue(kind, value ?? '')}`);
      continue;
    }
    out.push(arg);
    const next = argv[i + 1];
    if (kind !== 'none' && next !== undefined && !next.startsWith('--')) {
      out.push(redactValue(kind, next));
      i++;
    }
  }
  return out;
}

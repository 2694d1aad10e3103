// Credentials recognised by their shape alone, wherever they stand: in an argument, a URL, a
// header, a log line. Data for proto/support/redact.ts, which replaces every match.
//
// Each pattern starts where no character of its own alphabet precedes it (a lookbehind), so a
// match can only begin at the edge of a run: the regex engine then scans each run once, and a
// long hostile argument costs linear time, not quadratic. Quantifiers are bounded for the same
// reason. A pattern is kept only when ordinary text (paths, flags, hashes, host names) does not
// take its shape.

export interface SecretShape {
  readonly name: string;
  readonly pattern: RegExp;
}

/** Not preceded by a letter, digit or underscore (B), or by one of those or '-' (BD): the pattern's own alphabet. */
const B = '(?<![A-Za-z0-9_])';
const BD = '(?<![A-Za-z0-9_-])';

export const SECRET_SHAPES: readonly SecretShape[] = [
  // Long-term (AKIA) and temporary (ASIA) AWS access key ids, and the other key-id prefixes.
  { name: 'aws-access-key-id', pattern: new RegExp(`${B}(?:AKIA|ASIA|ABIA|ACCA|A3T[A-Z0-9])[A-Z0-9]{16}(?![A-Za-z0-9])`, 'g') },
  // GitHub personal, OAuth, app-to-server, user-to-server and refresh tokens; fine-grained PATs.
  { name: 'github-token', pattern: new RegExp(`${B}(?:gh[pousr]_[A-Za-z0-9]{20,255}|github_pat_[A-Za-z0-9_]{20,255})`, 'g') },
  // GitLab personal, pipeline-trigger, deploy, runner, CI-build and feed tokens.
  { name: 'gitlab-token', pattern: new RegExp(`${BD}gl(?:pat|ptt|dt|rt|cbt|ft|soat|oas)-[A-Za-z0-9_-]{20,255}`, 'g') },
  // Slack bot, user, app-level, config and refresh tokens.
  { name: 'slack-token', pattern: new RegExp(`${BD}(?:xox[abposrce]|xapp)-[A-Za-z0-9-]{10,255}`, 'g') },
  // A Slack incoming-webhook URL is itself the credential: its path is replaced.
  { name: 'slack-webhook', pattern: /(?<=hooks\.slack\.com\/(?:services|workflows|triggers)\/)[A-Za-z0-9_/-]{8,255}/g },
  // Google API keys and OAuth access tokens.
  { name: 'google-api-key', pattern: new RegExp(`${BD}AIza[A-Za-z0-9_-]{35}`, 'g') },
  { name: 'google-oauth-token', pattern: new RegExp(`${BD}ya29\\.[A-Za-z0-9_-]{20,2048}`, 'g') },
  // Stripe secret and restricted keys, webhook signing secrets.
  { name: 'stripe-key', pattern: new RegExp(`${B}(?:(?:sk|rk)_(?:live|test)_[A-Za-z0-9]{10,255}|whsec_[A-Za-z0-9]{20,255})`, 'g') },
  // OpenAI, Anthropic and similar `sk-...` API keys.
  { name: 'sk-api-key', pattern: new RegExp(`${BD}sk-[A-Za-z0-9_-]{20,255}`, 'g') },
  // npm, PyPI, Docker Hub, Hugging Face, HashiCorp Vault, SendGrid, DigitalOcean, Shopify, age.
  { name: 'npm-token', pattern: new RegExp(`${B}npm_[A-Za-z0-9]{36}`, 'g') },
  { name: 'pypi-token', pattern: new RegExp(`${BD}pypi-AgE[A-Za-z0-9_-]{50,1024}`, 'g') },
  { name: 'docker-hub-token', pattern: new RegExp(`${BD}dckr_pat_[A-Za-z0-9_-]{20,255}`, 'g') },
  { name: 'hugging-face-token', pattern: new RegExp(`${B}hf_[A-Za-z0-9]{30,255}`, 'g') },
  { name: 'vault-token', pattern: new RegExp(`${BD}hv[sbr]\\.[A-Za-z0-9_-]{20,255}`, 'g') },
  { name: 'sendgrid-key', pattern: new RegExp(`${BD}SG\\.[A-Za-z0-9_-]{16,64}\\.[A-Za-z0-9_-]{16,64}`, 'g') },
  { name: 'digitalocean-token', pattern: new RegExp(`${B}do[opr]_v1_[a-f0-9]{64}`, 'g') },
  { name: 'shopify-token', pattern: new RegExp(`${B}shp(?:at|ca|pa|ss)_[a-fA-F0-9]{32}`, 'g') },
  { name: 'age-secret-key', pattern: new RegExp(`${B}AGE-SECRET-KEY-1[0-9A-Z]{58}`, 'g') },
  // JSON Web Tokens (Kubernetes service-account tokens among them): header.payload.signature.
  { name: 'jwt', pattern: new RegExp(`${BD}eyJ[A-Za-z0-9_-]{8,8192}\\.[A-Za-z0-9_-]{8,16384}\\.[A-Za-z0-9_-]{0,8192}`, 'g') },
  // Kubernetes bootstrap tokens: [a-z0-9]{6}.[a-z0-9]{16}.
  { name: 'kubernetes-bootstrap-token', pattern: /(?<![A-Za-z0-9_.-])[a-z0-9]{6}\.[a-z0-9]{16}(?![A-Za-z0-9_-])/g },
];

/**
 * What every shape starts with (the bootstrap token: its whole shape), without lookbehinds: a unit
 * that does not match it cannot hold a shape, and this pattern is found with a fast scan.
 */
export const SECRET_SHAPE_HINT = /AKIA|ASIA|ABIA|ACCA|A3T|gh[pousr]_|github_pat_|gl[a-z]{1,4}-|xox|xapp-|hooks\.slack\.com|AIza|ya29\.|_live_|_test_|whsec_|sk-|npm_|pypi-|dckr_pat_|hf_|hv[sbr]\.|SG\.|_v1_|shp|AGE-SECRET-KEY|eyJ|[a-z0-9]{6}\.[a-z0-9]{16}/;

/** A PEM private key block (RSA, EC, OPENSSH, ENCRYPTED, PGP ... PRIVATE KEY [BLOCK]). */
export const PEM_PRIVATE_KEY_BEGIN = /-----BEGIN ([A-Z0-9 ]{0,40}?)PRIVATE KEY( BLOCK)?-----/g;

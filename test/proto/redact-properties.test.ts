// Properties of the one redactor (proto/support/redact.ts), over generated input:
//   - it never throws, on any argv, text or JSON;
//   - redacting twice is redacting once (a fixed point);
//   - the output is never more than 11 times as long as the input (a value of one character
//     becomes REDACTED, plus the quote it held);
//   - a secret generated into any of the forms a command line holds secrets in, among other
//     forms and ordinary arguments, never appears in the output: not in the argv, not in the
//     argv joined as a finding reports it, not in that line as an older agent escaped it.
import test from 'ava';
import { escapeControls } from '../../agent/processes/cmdline.js';
import { REDACTED, redactArgv, redactJson, redactText } from '../../proto/support/redact.js';
import { checkProperty, fc } from '../helpers/property.js';

/** Words the rules react to, mixed into generated input so the generator reaches them. */
const TRICKY = [
  '-H', '--header', '--header=', '-p', '-u', '-b', '-c', '-a', '-w', '-P', '--password', '--token=', 'Authorization:', 'Cookie:',
  'Bearer', 'Basic', 'Token', 'Digest', 'mysql', 'curl', 'sh', 'bash', 'sshpass', 'docker', 'login', 'PASSWORD', 'IDENTIFIED', 'BY',
  'aws_secret_access_key', 'API_TOKEN=', 'https://', 'u:p@', '?access_token=', '&sig=', '"', "'", '=', ':', ',', ';', '@', '/', ' ', '\n',
  '-----BEGIN PRIVATE KEY-----', '-----END PRIVATE KEY-----', 'AKIA', 'eyJ', 'ghp_', '"password":', '<redacted>', '\\', 'pass:',
];
const piece = fc.oneof(fc.constantFrom(...TRICKY), fc.string({ maxLength: 12 }), fc.string({ unit: 'binary', maxLength: 6 }));
const trickyString = fc.array(piece, { maxLength: 24 }).map((parts) => parts.join(''));
const argvArb = fc.array(trickyString, { maxLength: 16 });

const RUNS = 2000;

test('never throws, is a fixed point and stays bounded: argv', async (t) => {
  await checkProperty(t, fc.property(argvArb, (argv) => {
    const once = redactArgv(argv);
    if (once.length !== argv.length) return false;
    if (JSON.stringify(redactArgv(once)) !== JSON.stringify(once)) return false;
    return once.every((out, i) => out.length <= (REDACTED.length + 1) * (argv[i] as string).length);
  }), RUNS);
});

test('never throws, is a fixed point and stays bounded: text', async (t) => {
  await checkProperty(t, fc.property(fc.oneof(trickyString, fc.string({ unit: 'binary', maxLength: 200 })), (text) => {
    const once = redactText(text);
    return redactText(once) === once && once.length <= (REDACTED.length + 1) * text.length;
  }), RUNS);
});

test('never throws and is a fixed point: JSON', async (t) => {
  const key = fc.oneof(fc.constantFrom('password', 'apiKey', 'headers', 'Authorization', 'cmdline', 'exe', 'keyFile', 'x'), fc.string({ maxLength: 8 }));
  const json = fc.letrec((tie) => ({
    value: fc.oneof({ depthSize: 'small' }, trickyString, fc.integer(), fc.boolean(), fc.constant(null),
      fc.array(tie('value'), { maxLength: 4 }), fc.dictionary(key, tie('value'), { maxKeys: 4 })),
  })).value;
  await checkProperty(t, fc.property(json, (v) => {
    const once = JSON.stringify(redactJson(v));
    return JSON.stringify(redactJson(JSON.parse(once))) === once;
  }), RUNS);
});

// ---------------------------------------------------------------------------------------------
// Secrets in every form.

const ALNUM = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
const chars = (alphabet: string, min: number, max: number) => fc.string({ unit: fc.constantFrom(...alphabet), minLength: min, maxLength: max });
/** A password as people choose them: printable, no spaces or quotes (those are in `spaced`). */
const PRINTABLE = `${ALNUM}!$%^*()_+-=[]{}|~.,<>?#&;:/@`;
/** Prefixed so that no template text around it can contain it by chance. */
const secretOf = (alphabet: string, min = 10, max = 40) => chars(alphabet, min, max).map((s) => `Zq${s}`);

interface Form {
  readonly name: string;
  readonly secret: fc.Arbitrary<string>;
  readonly argv: (s: string) => string[];
}

const FORMS: readonly Form[] = [
  { name: '-H Authorization: Bearer', secret: secretOf(PRINTABLE), argv: (s) => ['curl', '-H', `Authorization: Bearer ${s}`] },
  { name: '--header=X-Api-Key:', secret: secretOf(PRINTABLE), argv: (s) => ['curl', `--header=X-Api-Key: ${s}`] },
  { name: '-H of any header', secret: secretOf(PRINTABLE), argv: (s) => ['curl', '-H', `X-Whatever: ${s}`] },
  { name: '-H Cookie', secret: secretOf(PRINTABLE), argv: (s) => ['curl', '-H', `Cookie: session=${s}`] },
  { name: 'Proxy-Authorization: Basic', secret: secretOf(PRINTABLE), argv: (s) => ['x', `Proxy-Authorization: Basic ${s}`] },
  { name: 'Bearer in an argument', secret: secretOf(PRINTABLE), argv: (s) => ['x', `Bearer ${s}`] },
  { name: 'Token as its own argument', secret: secretOf(PRINTABLE), argv: (s) => ['x', 'Token', s] },
  { name: 'NAME=value', secret: secretOf(PRINTABLE), argv: (s) => [`API_TOKEN=${s}`] },
  { name: 'env-style prefix', secret: secretOf(PRINTABLE), argv: (s) => ['env', `MYSQL_ROOT_PASSWORD=${s}`, 'mysqld'] },
  { name: 'docker -e', secret: secretOf(PRINTABLE), argv: (s) => ['docker', 'run', '-e', `DB_PASSWORD=${s}`, 'img'] },
  { name: '--password value', secret: secretOf(ALNUM + '!$%^*()_+=[]{}|~.,<>?#&;:@'), argv: (s) => ['x', '--password', s] },
  { name: '--client-secret=', secret: secretOf(PRINTABLE), argv: (s) => ['x', `--client-secret=${s}`] },
  { name: 'mysql -p attached', secret: secretOf(PRINTABLE), argv: (s) => ['mysql', '-uroot', `-p${s}`] },
  { name: 'curl -u user:password', secret: secretOf(PRINTABLE), argv: (s) => ['curl', '-u', `admin:${s}`] },
  { name: 'sshpass -p', secret: secretOf(PRINTABLE), argv: (s) => ['sshpass', '-p', s, 'ssh', 'host'] },
  { name: 'URL credentials', secret: secretOf(`${ALNUM}!$%^*()_+-=[]{}|~.,<>?#&;:`), argv: (s) => ['psql', `postgres://app:${s}@db:5432/x`] },
  { name: 'secret query parameter', secret: secretOf(`${ALNUM}!$%^*()_+-=[]{}|~.<>?:/@`), argv: (s) => ['curl', `https://h/x?page=2&access_token=${s}`] },
  { name: 'X-Amz-Signature', secret: chars('0123456789abcdef', 64, 64), argv: (s) => ['curl', `https://b.s3.amazonaws.com/k?X-Amz-Date=1&X-Amz-Signature=${s}`] },
  { name: 'AWS access key id', secret: chars('ABCDEFGHIJKLMNOPQRSTUVWXYZ234567', 16, 16).map((s) => `AKIA${s}`), argv: (s) => ['x', `AWS_ACCESS_KEY_ID=${s}`] },
  { name: 'AWS secret key after its name', secret: secretOf(`${ALNUM}+`, 38, 38), argv: (s) => ['aws', 'configure', 'set', 'aws_secret_access_key', s] },
  { name: 'GitHub token', secret: chars(ALNUM, 36, 36).map((s) => `ghp_${s}`), argv: (s) => ['git', 'clone', `https://${s}@github.com/o/r`] },
  { name: 'GitHub fine-grained token', secret: chars(`${ALNUM}_`, 60, 82).map((s) => `github_pat_${s}`), argv: (s) => ['x', s] },
  { name: 'Slack token', secret: chars(`${ALNUM}-`, 20, 50).map((s) => `xoxb-${s}`), argv: (s) => ['x', `--slack=${s}`] },
  { name: 'Google API key', secret: chars(`${ALNUM}_-`, 35, 35).map((s) => `AIza${s}`), argv: (s) => ['x', `key:${s}`] },
  { name: 'Stripe live key', secret: chars(ALNUM, 24, 99).map((s) => `sk_live_${s}`), argv: (s) => ['x', s] },
  { name: 'JWT', secret: fc.tuple(chars(`${ALNUM}_-`, 10, 60), chars(`${ALNUM}_-`, 10, 200), chars(`${ALNUM}_-`, 10, 90)).map(([a, b, c]) => `eyJ${a}.${b}.${c}`), argv: (s) => ['x', `--id-token-hint=${s}`] },
  { name: 'PEM private key', secret: chars(`${ALNUM}+/`, 40, 64), argv: (s) => ['x', `--key-data=-----BEGIN EC PRIVATE KEY-----\n${s}\n${s.slice(3)}==\n-----END EC PRIVATE KEY-----`] },
  { name: 'bootstrap token', secret: fc.tuple(chars('abcdefghijklmnopqrstuvwxyz0123456789', 6, 6), chars('abcdefghijklmnopqrstuvwxyz0123456789', 16, 16)).map(([a, b]) => `${a}.${b}`), argv: (s) => ['kubeadm', 'join', 'h:6443', '--token', s] },
  { name: 'JSON body', secret: secretOf(`${ALNUM}!$%^*()_+-=[]{}|~.,<>?#&;:/@`), argv: (s) => ['curl', '-d', `{"user":"u","password":"${s}"}`] },
  { name: 'shell script', secret: secretOf(`${ALNUM}!$%^*()_+-=[]{}|~.,<>?#&:/@`), argv: (s) => ['sh', '-c', `PGPASSWORD=${s} psql -h db`] },
];

/** Arguments with no secret and no effect on their neighbours. */
const ORDINARY = fc.constantFrom('-v', '--verbose', '--v=2', '-o', 'out.txt', '/usr/bin/env', 'https://example.com/x?page=2', 'db', '-x', 'hello', '/etc/kubernetes/pki');

const placed = fc.constantFrom(...FORMS).chain((form) => form.secret.map((secret) => ({ form: form.name, secret, argv: form.argv(secret) })));
/** A command line: ordinary arguments, then several forms each carrying its own secret, ordinary arguments between. */
const commandLine = fc.tuple(fc.array(ORDINARY, { maxLength: 3 }), fc.array(fc.tuple(placed, fc.array(ORDINARY, { maxLength: 2 })), { minLength: 1, maxLength: 4 }))
  .map(([head, parts]) => ({
    argv: ['/usr/bin/tool', ...head, ...parts.flatMap(([p, tail]) => [...p.argv, ...tail])],
    secrets: parts.map(([p]) => ({ form: p.form, secret: p.secret })),
  }));

test('a secret in any form, among others, never appears in the redacted argv, the joined line or the escaped line', async (t) => {
  await checkProperty(t, fc.property(commandLine, ({ argv, secrets }) => {
    const outputs = {
      argv: redactArgv(argv).join('\u0000'),
      joined: redactArgv(argv).join(' '),
      'joined, redacted again at the collector': redactText(redactArgv(argv).join(' ')),
      'an older agent\'s escaped line, redacted at the collector': redactText(escapeControls(argv.join(' '))),
    };
    for (const { form, secret } of secrets) {
      for (const [where, out] of Object.entries(outputs)) {
        if (out.includes(secret)) throw new Error(`the ${form} secret ${JSON.stringify(secret)} is in the ${where}: ${out}`);
      }
    }
    return true;
  }), RUNS);
});

test('every form is redacted on its own, and what is kept around it is unchanged', (t) => {
  for (const form of FORMS) {
    const [secret] = fc.sample(form.secret, { seed: 7, numRuns: 1 }) as [string];
    const argv = ['/usr/bin/tool', '-v', ...form.argv(secret), '/etc/kubernetes/pki'];
    const out = redactArgv(argv);
    t.false(out.join(' ').includes(secret), form.name);
    t.true(out.join(' ').includes(REDACTED), form.name);
    t.deepEqual(out.slice(0, 2), ['/usr/bin/tool', '-v'], form.name);
    t.is(out.at(-1), '/etc/kubernetes/pki', form.name);
  }
});

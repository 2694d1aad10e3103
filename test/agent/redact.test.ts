import test from 'ava';
import { appendFile } from 'node:fs/promises';
import { join } from 'node:path';
import { collectFacts } from '../../agent/facts/index.js';
import { REDACTED, redactArgv, redactDetailJson, redactJson, redactNamedValue, redactText } from '../../proto/support/redact.js';
import { prepareFixture } from '../helpers/fixture.js';

const R = REDACTED;

const cases: Array<[string, readonly string[], readonly string[]]> = [
  ['--token=value', ['kubelet', '--token=abc123'], ['kubelet', `--token=${REDACTED}`]],
  ['--token value', ['kubelet', '--token', 'abc123', '--v=2'], ['kubelet', '--token', REDACTED, '--v=2']],
  ['bootstrap token', ['kubeadm', '--bootstrap-token=abcdef.0123456789abcdef'], ['kubeadm', `--bootstrap-token=${REDACTED}`]],
  ['client secret, space form', ['x', '--client-secret', 's3cr3t'], ['x', '--client-secret', REDACTED]],
  ['password', ['x', '--etcd-password=hunter2'], ['x', `--etcd-password=${REDACTED}`]],
  ['single-dash form', ['x', '-password=hunter2'], ['x', `-password=${REDACTED}`]],
  ['a key value that is not a path', ['x', '--encryption-key=deadbeef'], ['x', `--encryption-key=${REDACTED}`]],
  ['a key value that is a path', ['x', '--kubelet-client-key=/etc/kubernetes/pki/c.key'], ['x', '--kubelet-client-key=/etc/kubernetes/pki/c.key']],
  ['a key file flag', ['x', '--tls-private-key-file=/var/lib/kubelet/pki/kubelet.key'], ['x', '--tls-private-key-file=/var/lib/kubelet/pki/kubelet.key']],
  ['a token file flag', ['x', '--token-auth-file=/etc/tokens.csv'], ['x', '--token-auth-file=/etc/tokens.csv']],
  ['a boolean that mentions token', ['x', '--service-account-extend-token-expiration=false'], ['x', '--service-account-extend-token-expiration=false']],
  ['a secret flag followed by another flag', ['x', '--token', '--v=2'], ['x', '--token', '--v=2']],
  ['URL credentials', ['x', '--etcd-servers=https://root:pw@10.0.0.1:2379'], ['x', `--etcd-servers=https://root:${REDACTED}@10.0.0.1:2379`]],
  ['a boolean switch whose name ends in a secret word', ['kube-controller-manager', '--use-service-account-credentials=true'], ['kube-controller-manager', '--use-service-account-credentials=true']],
  // Headers: the value after -H/--header (any header but a harmless few), header lines anywhere.
  ['-H with a Bearer token', ['curl', '-H', 'Authorization: Bearer abc123', 'https://x'], ['curl', '-H', `Authorization: ${R}`, 'https://x']],
  ['-H attached', ['curl', '-HAuthorization: Bearer abc123'], ['curl', `-HAuthorization: ${R}`]],
  ['--header with any header', ['curl', '--header', 'X-Vault-Token: s.abc', '--header=PRIVATE-TOKEN: glx'], ['curl', '--header', `X-Vault-Token: ${R}`, `--header=PRIVATE-TOKEN: ${R}`]],
  ['--proxy-header, Basic', ['curl', '--proxy-header', 'Proxy-Authorization: Basic Zm9vOmJhcg=='], ['curl', '--proxy-header', `Proxy-Authorization: ${R}`]],
  ['a header of an unknown name after -H', ['curl', '-H', 'X-Custom: v'], ['curl', '-H', `X-Custom: ${R}`]],
  ['a harmless header after -H', ['curl', '-H', 'Content-Type: application/json'], ['curl', '-H', 'Content-Type: application/json']],
  ['-H of another program, not a header', ['grep', '-H', 'needle', 'file'], ['grep', '-H', 'needle', 'file']],
  ['header lines as arguments (httpie)', ['http', 'https://x', 'Authorization:Bearer abc', 'X-API-Key:k1', 'Cookie: sid=1'], ['http', 'https://x', `Authorization:${R}`, `X-API-Key:${R}`, `Cookie: ${R}`]],
  ['wget --header and --http-password', ['wget', '--header=Cookie: sid=1', '--http-password=pw', '--user=bob'], ['wget', `--header=Cookie: ${R}`, `--http-password=${R}`, '--user=bob']],
  ['git http.extraHeader', ['git', '-c', 'http.extraHeader=Authorization: Basic Zm9v', 'fetch'], ['git', '-c', `http.extraHeader=Authorization: ${R}`, 'fetch']],
  // Authorization schemes anywhere.
  ['Bearer in an argument', ['x', 'Bearer abc'], ['x', `Bearer ${R}`]],
  ['Bearer as its own argument', ['x', 'Bearer', 'abc'], ['x', 'Bearer', R]],
  ['Basic and Token', ['x', 'Basic Zm9v', 'Token abc'], ['x', `Basic ${R}`, `Token ${R}`]],
  ['Digest with its parameters', ['x', 'Digest username="a", response="b"'], ['x', `Digest ${R}"" ${R}""`]],
  ['a lower-case token is a subcommand, not a scheme', ['kubeadm', 'token', 'create'], ['kubeadm', 'token', 'create']],
  // NAME=value.
  ['env-style NAME=value', ['env', 'API_TOKEN=xyz', 'AWS_SECRET_ACCESS_KEY=abc/def', 'MYSQL_PWD=pw', 'PGPASSWORD=pw', 'FOO=bar'],
    ['env', `API_TOKEN=${R}`, `AWS_SECRET_ACCESS_KEY=${R}`, `MYSQL_PWD=${R}`, `PGPASSWORD=${R}`, 'FOO=bar']],
  ['a path under a key-like name', ['env', 'PWD=/home/u', 'SSH_KEY=/root/.ssh/id'], ['env', 'PWD=/home/u', 'SSH_KEY=/root/.ssh/id']],
  ['docker -e', ['docker', 'run', '-e', 'PASSWORD=pw', '-e', 'FOO=bar', 'img'], ['docker', 'run', '-e', `PASSWORD=${R}`, '-e', 'FOO=bar', 'img']],
  ['nested NAME=value', ['kubectl', 'create', 'secret', 'generic', 's', '--from-literal=password=a b'], ['kubectl', 'create', 'secret', 'generic', 's', `--from-literal=password=${R}`]],
  // A secret value runs to the end of its unit (a password may hold a comma); after it in a list, nothing is kept.
  ['helm --set lists', ['helm', 'install', '--set', 'user=y,db.password=x', '--set', 'db.password=x,user=y'], ['helm', 'install', '--set', `user=y,db.password=${R}`, '--set', `db.password=${R}`]],
  ['Java system properties, camelCase', ['java', '-Dpassword=x', '-Djavax.net.ssl.keyStorePassword=y', '-jar', 'a.jar'], ['java', `-Dpassword=${R}`, `-Djavax.net.ssl.keyStorePassword=${R}`, '-jar', 'a.jar']],
  ['a snake_case name, its value apart', ['aws', 'configure', 'set', 'aws_secret_access_key', 'SECRETXYZ'], ['aws', 'configure', 'set', 'aws_secret_access_key', R]],
  ['SQL PASSWORD and IDENTIFIED BY', ['psql', '-c', "ALTER USER bob PASSWORD 'pw1'", '-c', "CREATE USER a IDENTIFIED BY 'pw2'"], ['psql', '-c', `ALTER USER bob PASSWORD '${R}'`, '-c', `CREATE USER a IDENTIFIED BY '${R}'`]],
  ['an empty value stays empty', ['x', '--token='], ['x', '--token=']],
  ['a relative key path', ['x', '--key=pki/c.key', '--key=abc/def=='], ['x', '--key=pki/c.key', `--key=${R}`]],
  // Short options of well-known programs.
  ['mysql -p attached', ['mysql', '-uroot', '-phunter2', 'db'], ['mysql', '-uroot', `-p${R}`, 'db']],
  ['mysql -p alone prompts; the next word is the database', ['/usr/bin/mysql', '-p', 'db'], ['/usr/bin/mysql', '-p', 'db']],
  ['mysqldump both forms', ['mysqldump', '--password=pw', '-pSECRET'], ['mysqldump', `--password=${R}`, `-p${R}`]],
  ['curl -u user:password', ['curl', '-u', 'admin:pw', '-uadmin:pw2', '--user', 'bob:pw3'], ['curl', '-u', `admin:${R}`, `-uadmin:${R}`, '--user', `bob:${R}`]],
  ['curl -u user (prompts)', ['curl', '-u', 'admin', 'https://x'], ['curl', '-u', 'admin', 'https://x']],
  ['curl cookies, a cookie file kept', ['curl', '-b', 'cookies.txt', '-b', 'sid=abc'], ['curl', '-b', 'cookies.txt', '-b', R]],
  ['sshpass -p, both forms', ['sshpass', '-p', 'pw', 'ssh', 'h', '&&', 'sshpass', '-ppw2', 'ssh', 'h'], ['sshpass', '-p', R, 'ssh', 'h', '&&', 'sshpass', `-p${R}`, 'ssh', 'h']],
  ['redis-cli -a', ['redis-cli', '-a', 'pw', '-h', 'r'], ['redis-cli', '-a', R, '-h', 'r']],
  ['ldapsearch -w', ['ldapsearch', '-x', '-w', 'pw', '-D', 'cn=admin'], ['ldapsearch', '-x', '-w', R, '-D', 'cn=admin']],
  ['mongosh -p', ['mongosh', '-u', 'u', '-p', 'pw'], ['mongosh', '-u', 'u', '-p', R]],
  ['zip -P, 7z -p', ['zip', '-P', 'pw', 'a.zip', '&&', '7z', 'a', '-pSECRET', 'x.7z'], ['zip', '-P', R, 'a.zip', '&&', '7z', 'a', `-p${R}`, 'x.7z']],
  ['smbclient -U user%password', ['smbclient', '//h/s', '-U', 'user%pw'], ['smbclient', '//h/s', '-U', `user%${R}`]],
  ['xfreerdp /p:', ['xfreerdp', '/u:bob', '/p:pw', '/v:h'], ['xfreerdp', '/u:bob', `/p:${R}`, '/v:h']],
  ['registry login -p', ['podman', 'login', '-u', 'me', '-p', 'pw', 'quay.io'], ['podman', 'login', '-u', 'me', '-p', R, 'quay.io']],
  ['docker run -p is a port', ['docker', 'run', '-p', '8080:80', 'nginx'], ['docker', 'run', '-p', '8080:80', 'nginx']],
  ['openssl pass:', ['openssl', 'rsa', '-passin', 'pass:secret1', '-in', 'server.key'], ['openssl', 'rsa', '-passin', `pass:${R}`, '-in', 'server.key']],
  ['a shell script after -c', ['sh', '-c', 'PGPASSWORD=pw psql -h db; curl -H "X-Token: t" x'], ['sh', '-c', `PGPASSWORD=${R} psql -h db; curl -H "X-Token: ${R}" x`]],
  ['a program inside a script', ['bash', '-lc', 'mysql -pX db'], ['bash', '-lc', `mysql -p${R} db`]],
  // URLs and parameters.
  ['URL credentials, a token as the user', ['git', 'clone', 'https://x-access-token:tok@github.com/o/r', 'https://abcdefghijklmnopqrstuvwxyz@github.com/o/r'],
    ['git', 'clone', `https://x-access-token:${R}@github.com/o/r`, `https://${R}@github.com/o/r`]],
  ['a user without a password is kept', ['ssh', 'git@github.com', 'ssh://git@h/r'], ['ssh', 'git@github.com', 'ssh://git@h/r']],
  ['secret query parameters', ['curl', 'https://h/x?page=2&access_token=abc&sig=s1#id_token=t'], ['curl', `https://h/x?page=2&access_token=${R}&sig=${R}#id_token=${R}`]],
  ['a presigned S3 URL', ['curl', 'https://s3.amazonaws.com/b/k?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F20250101&X-Amz-Signature=abcdef&X-Amz-Security-Token=zzz'],
    ['curl', `https://s3.amazonaws.com/b/k?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=${R}&X-Amz-Signature=${R}&X-Amz-Security-Token=${R}`]],
  ['a connection string', ['x', 'Server=tcp:h;Database=d;User Id=u;Password=pw;'], ['x', `Server=tcp:h;Database=d;User Id=u;Password=${R};`]],
  ['JSON and form bodies', ['curl', '--data', '{"username":"u","password":"p1"}', '-d', 'user=u&password=p2'], ['curl', '--data', `{"username":"u","password":"${R}"}`, '-d', `user=u&password=${R}`]],
  // Credential shapes anywhere.
  ['AWS access key ids', ['x', 'AKIAIOSFODNN7EXAMPLE', '--id=ASIAIOSFODNN7EXAMPLE'], ['x', R, `--id=${R}`]],
  ['GitHub tokens', ['x', 'ghp_0123456789abcdefghijABCDEFGHIJ012345', 'https://h/?t=gho_0123456789abcdefghijABCDEFGHIJ012345', 'ghs_0123456789abcdefghijABCDEFGHIJ012345', 'github_pat_11ABCDEFG0123456789_abcdefghijklmnopqrstuvwxyz'],
    ['x', R, `https://h/?t=${R}`, R, R]],
  ['Slack, Google, Stripe', ['x', 'xoxb-1234567890-abcdefghij', 'AIzaSyA0123456789abcdefghijklmnopqrstuv', 'sk_live_0123456789abcdefgh', 'rk_live_0123456789abcdefgh'], ['x', R, R, R, R]],
  ['a JWT', ['x', 'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NSJ9.abcdefghijk'], ['x', R]],
  ['a PEM private key', ['x', '-----BEGIN RSA PRIVATE KEY-----\nMIIEabc\ndef\n-----END RSA PRIVATE KEY-----'], ['x', `-----BEGIN RSA PRIVATE KEY-----${R}-----END RSA PRIVATE KEY-----`]],
  ['a Kubernetes bootstrap token', ['kubeadm', 'join', 'abcdef.0123456789abcdef', '--discovery-token-ca-cert-hash', 'sha256:abc'], ['kubeadm', 'join', R, '--discovery-token-ca-cert-hash', 'sha256:abc']],
  // Ordinary command lines stay as they are.
  ['paths and ordinary flags', ['ls', '-la', '/etc/kubernetes/pki'], ['ls', '-la', '/etc/kubernetes/pki']],
  ['a search for a word', ['grep', '-rn', 'token', '/etc'], ['grep', '-rn', 'token', '/etc']],
  ['kubelet flags', ['kubelet', '--authorization-mode=Webhook', '--feature-gates=RotateKubeletServerCertificate=true,ServiceAccountTokenJTI=false', '--anonymous-auth', 'false'],
    ['kubelet', '--authorization-mode=Webhook', '--feature-gates=RotateKubeletServerCertificate=true,ServiceAccountTokenJTI=false', '--anonymous-auth', 'false']],
  ['an ssh key file', ['ssh', '-i', '/root/.ssh/id_rsa', 'host'], ['ssh', '-i', '/root/.ssh/id_rsa', 'host']],
];

const textCases: Array<[string, string, string]> = [
  ['a joined command line: the header value runs over the next words', 'curl -H Authorization: Bearer abc -o f', `curl -H Authorization: ${R} ${R} -o f`],
  ['a joined cookie header', 'curl -H Cookie: a=1; b=2 https://x', `curl -H Cookie: ${R} ${R} https://x`],
  ['a lower-case scheme in a header value', 'x Authorization: token ghp_zz', `x Authorization: ${R} ${R}`],
  ['a quoted header', 'curl -H "Authorization: Bearer a b" x', `curl -H "Authorization: ${R}" x`],
  ['a quoted JSON body', `curl -d '{"token": "t t"}' x`, `curl -d '{"token": "${R}"}' x`],
  // A redacted value keeps the quotes it held, so the words around it keep their grouping.
  ['a quoted attached password', "mysql -uroot -p'pw' db", `mysql -uroot -p${R}'' db`],
  ['a quoted value of a secret flag', 'x --password "two words" y', `x --password "${R}" y`],
  ['YAML-like text', 'password: hunter2', `password: ${R}`],
  ['prose is kept', "it's the agent's log: nothing to hide", "it's the agent's log: nothing to hide"],
];


for (const [name, input, expected] of cases) {
  test(`redacts: ${name}`, (t) => {
    t.deepEqual(redactArgv(input), expected);
    t.deepEqual(redactArgv(expected), expected, 'redacting again changes nothing');
  });
}

for (const [name, input, expected] of textCases) {
  test(`redacts text: ${name}`, (t) => {
    t.is(redactText(input), expected);
    t.is(redactText(expected), expected, 'redacting again changes nothing');
  });
}

test('named values: judged by the name, searched for credentials whatever the name', (t) => {
  t.is(redactNamedValue('ETCD_INITIAL_CLUSTER_TOKEN', 'x'), R);
  t.is(redactNamedValue('ETCD_PEER_KEY_FILE', '/etc/kubernetes/pki/etcd/peer.key'), '/etc/kubernetes/pki/etcd/peer.key');
  t.is(redactNamedValue('ETCD_CLIENT_CERT_AUTH', 'true'), 'true');
  t.is(redactNamedValue('ETCD_LISTEN_CLIENT_URLS', 'https://u:p@h:2379'), `https://u:${R}@h:2379`);
  t.is(redactNamedValue('ETCD_NAME', 'AKIAIOSFODNN7EXAMPLE'), R);
});

test('JSON: strings under secret names, header objects, and every other string as text', (t) => {
  t.deepEqual(redactJson({
    headers: { Authorization: 'x', Accept: 'application/json', 'X-Custom': 'y' }, apiKey: 'k', keyFile: '/a', n: 5, ok: true,
    list: ['Bearer z'], nested: { cmdline: 'mysql -pX' }, err: new Error('kept as it is'),
  }), {
    headers: { Authorization: R, Accept: 'application/json', 'X-Custom': R }, apiKey: R, keyFile: '/a', n: 5, ok: true,
    list: [`Bearer ${R}`], nested: { cmdline: `mysql -p${R}` }, err: new Error('kept as it is'),
  });
  t.deepEqual(redactJson({ exe: '/tmp/AKIAIOSFODNN7EXAMPLE', cmdline: 'x AKIAIOSFODNN7EXAMPLE' }, ['exe']), { exe: '/tmp/AKIAIOSFODNN7EXAMPLE', cmdline: `x ${R}` });
  let deep: unknown = 'Bearer x';
  for (let i = 0; i < 100; i++) deep = [deep];
  t.false(JSON.stringify(redactJson(deep)).includes('Bearer x'), 'nesting beyond the bound is replaced');
  t.is(redactDetailJson('{"cmdline":"a b"}'), '{"cmdline":"a b"}', 'unchanged text is returned as it was');
  t.is(redactDetailJson('not json'), 'not json');
});

test('a --token from the kubelet command line never appears in the facts JSON', async (t) => {
  const fx = await prepareFixture('insecure-worker');
  t.teardown(fx.cleanup);
  const facts = await collectFacts({ hostRoot: fx.root, procRoot: fx.procRoot });
  const json = JSON.stringify(facts);
  t.false(json.includes('fixture-secret-token-9f8e7d'));
  t.true(facts.kubelet?.argv.includes(`--token=${REDACTED}`));
  t.true(facts.kubelet?.flags.some((f) => f.name === 'token' && f.value === REDACTED));
  // A path-valued neighbour is kept as it was.
  t.true(json.includes('--bootstrap-kubeconfig=/etc/kubernetes/bootstrap-kubelet.conf'));
});

test('staticPodURLHeader values in the kubelet config never appear in the facts JSON', async (t) => {
  const fx = await prepareFixture('insecure-worker');
  t.teardown(fx.cleanup);
  const config = join(fx.root, 'var/lib/kubelet/config.yaml');
  await appendFile(config, 'staticPodURL: https://pods.example/manifests\nstaticPodURLHeader:\n  Authorization: ["Bearer header-secret-5c4b3a"]\n');
  const facts = await collectFacts({ hostRoot: fx.root, procRoot: fx.procRoot });
  const json = JSON.stringify(facts);
  t.false(json.includes('header-secret-5c4b3a'));
  t.deepEqual(facts.kubelet?.config?.data?.['staticPodURLHeader'], { Authorization: [REDACTED] });
  t.is(facts.kubelet?.config?.data?.['staticPodURL'], 'https://pods.example/manifests');
});

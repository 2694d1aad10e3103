// Secrets on a process's command line never leave the node (issue 12, break 2: `curl -H
// "Authorization: Bearer ..."` put a live admin token into a proc-unexpected finding, the
// database and every webhook).
//
// A real process on this machine carries random secrets in its argv, in many of the forms a
// command line holds them: a header value after -H, a Bearer token, mysql's attached -p, curl's
// -u user:password, a Cookie header, NAME=value arguments, a --password flag with its value
// apart, URL credentials and a secret query parameter, an AWS key id and secret key, a GitHub
// token, a JWT. The process is a fresh copy of the shell, so the agent (its own OS process,
// reading this machine's /proc) reports it to a real collector (its own OS process) over mTLS,
// and the collector sends the finding to a real webhook receiver in three formats. Then the
// random bytes of every secret are searched for, and must be absent, in: the agent's state dir
// (spool.db and its WAL, the baselines), the collector's data dir (nodeward.db and its WAL),
// every webhook body, both processes' logs at debug level, and the API's answers. Each secret
// is first shown to be in the process's real /proc/<pid>/cmdline, so the search can fail.
import test, { type ExecutionContext } from 'ava';
import { randomBytes } from 'node:crypto';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { initPki } from '../../collector/pki/pki.js';
import { freshBinary } from '../processes/helpers.js';
import { filesUnder } from '../helpers/files.js';
import { eventually, httpsJson } from '../helpers/https.js';
import { startCollectorProcess, startNodeward, type NodewardProcess } from '../helpers/process.js';
import { startReceiver } from '../helpers/webhook-receiver.js';

const NODE = 'leak-node';
const API_TOKEN = 'cmdline-leak-admin-token-0123456789abcdef';
const HOST_WORKER = 'host/worker';

const hex = (n: number): string => randomBytes(n).toString('hex');
const ALNUM = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
const pick = (alphabet: string, n: number): string => [...randomBytes(n)].map((b) => alphabet[b % alphabet.length]).join('');
const b64url = (n: number): string => randomBytes(n).toString('base64url');

/** Each secret (random, so it can be nowhere else) and the argv that carries it. */
function secretArgv(): { secrets: Record<string, string>; args: string[] } {
  const secrets = {
    bearer: `bearer${hex(16)}`,
    mysqlPassword: `mysql${hex(12)}`,
    curlPassword: `curl${hex(12)}`,
    cookie: `cookie${hex(12)}`,
    apiToken: `apitok${hex(12)}`,
    password: `pw${hex(12)}`,
    urlPassword: `urlpw${hex(12)}`,
    accessToken: `qtok${hex(12)}`,
    awsKeyId: `AKIA${pick('ABCDEFGHIJKLMNOPQRSTUVWXYZ234567', 16)}`,
    awsSecret: pick(`${ALNUM}/+`, 40),
    github: `ghp_${pick(ALNUM, 36)}`,
    jwt: `eyJ${b64url(18)}.eyJ${b64url(30)}.${b64url(32)}`,
  };
  const args = [
    // The shell blocks in its builtin `read` (stdin is a pipe nobody writes to), so the
    // process stays as it was started; the words after the script are only its $0, $1...
    '-c', 'read line',
    'mysql', '-u', 'root', `-p${secrets.mysqlPassword}`,
    'curl', '-H', `Authorization: Bearer ${secrets.bearer}`, '-u', `admin:${secrets.curlPassword}`,
    '-H', `Cookie: session=${secrets.cookie}`, `API_TOKEN=${secrets.apiToken}`, '--password', secrets.password,
    `https://admin:${secrets.urlPassword}@db.example.com/x?db=main&access_token=${secrets.accessToken}`,
    `AWS_ACCESS_KEY_ID=${secrets.awsKeyId}`, `AWS_SECRET_ACCESS_KEY=${secrets.awsSecret}`,
    `--github=${secrets.github}`, `--id-token-hint=${secrets.jwt}`,
  ];
  return { secrets, args };
}

function assertAbsent(t: ExecutionContext, where: string, haystack: Buffer | string, secrets: Record<string, string>): void {
  const bytes = typeof haystack === 'string' ? Buffer.from(haystack, 'utf8') : haystack;
  for (const [name, s] of Object.entries(secrets)) t.false(bytes.includes(Buffer.from(s, 'utf8')), `${name} leaked into ${where}`);
}

interface ApiFinding { id: string; subject: string; checkId: string; detail: { cmdline: string } }

test('secrets in a real process\'s argv reach no spool, database, webhook body, log or API answer', async (t) => {
  t.timeout(180_000);
  const dir = await mkdtemp(join(tmpdir(), 'nodeward-cmdline-leak-'));
  const bins = await mkdtemp(join(tmpdir(), 'nodeward-cmdline-bin-'));
  const running: NodewardProcess[] = [];
  const children: ChildProcess[] = [];
  const receiver = await startReceiver();
  t.teardown(async () => {
    for (const c of children) c.kill('SIGKILL');
    await Promise.all(running.map((p) => p.kill('SIGKILL')));
    await receiver.close();
    await rm(dir, { recursive: true, force: true });
    await rm(bins, { recursive: true, force: true });
  });

  const pki = await initPki(join(dir, 'pki'), { nodes: [NODE], collectorHosts: ['localhost', '127.0.0.1'] });
  const ca = await readFile(pki.caCert);
  const stateDir = join(dir, 'agent-state');
  const hook = (name: string, format: string) => ({ name, url: `${receiver.url}/${name}`, format, groupWindowMs: 0, backoffInitialMs: 50, backoffMaxMs: 500 });
  const { proc: collector, apiPort, grpcPort, dataDir: collectorDir } = await startCollectorProcess({
    dir, pki, adminToken: API_TOKEN, running,
    settings: { webhooks: [hook('json', 'json'), hook('slack', 'slack'), hook('falco', 'falco')], log: { level: 'debug' } },
  });

  await writeFile(join(dir, 'agent.yaml'), JSON.stringify({
    node: NODE, hostRoot: '/', procRoot: '/proc', stateDir,
    collector: { address: `localhost:${grpcPort}`, caFile: pki.caCert, certFile: pki.agents[NODE]!.cert, keyFile: pki.agents[NODE]!.key, heartbeatSeconds: 1 },
    scan: { intervalSeconds: 0 },
    watch: { enabled: false },
    health: { port: 0 },
    // Pinned: other tests run etcd on this machine now and then (host-role.test.ts).
    processes: { hostLearnSeconds: 1, scanIntervalSeconds: 0.2, hostRole: 'worker' },
    log: { level: 'debug' },
  }));
  const agent = startNodeward(['agent', '--config', join(dir, 'agent.yaml')]);
  running.push(agent);
  await agent.waitFor((l) => l.msg === 'baseline locked: learning window ended' && l.baseline === HOST_WORKER, { timeoutMs: 60_000 });

  const bin = await freshBinary(bins, '/bin/sh', 'nw-secret-carrier');
  const { secrets, args } = secretArgv();
  const child = spawn(bin, args, { stdio: ['pipe', 'ignore', 'ignore'] });
  children.push(child);
  // The search can fail: every secret is in the process's real command line.
  const cmdline = await eventually('the process to be running', async () => {
    const bytes = await readFile(`/proc/${child.pid}/cmdline`).catch(() => undefined);
    return bytes !== undefined && bytes.includes(Buffer.from(bin)) ? bytes : undefined;
  });
  for (const [name, s] of Object.entries(secrets)) t.true(cmdline.includes(Buffer.from(s)), `${name} is in /proc/${child.pid}/cmdline`);

  const api = (path: string) => httpsJson(`https://localhost:${apiPort}${path}`, { ca, token: API_TOKEN });
  const subject = `${HOST_WORKER}:${bin}`;
  const finding = await eventually('the proc-unexpected finding in the API', async () => {
    const res = await api(`/api/v1/findings?node=${NODE}&check=proc-unexpected&limit=1000`);
    return ((res.body as { items?: ApiFinding[] }).items ?? []).find((f) => f.subject === subject);
  }, 60_000, 200).catch((err: Error) => {
    throw new Error(`${err.message}\nagent:\n${agent.output().slice(-3000)}\ncollector:\n${collector.output().slice(-2000)}`);
  });
  const delivered = await eventually('the finding delivered to every webhook', () => {
    const got = receiver.accepted().filter((r) => r.raw.includes(Buffer.from('nw-secret-carrier')));
    return new Set(got.map((r) => r.path)).size === 3 ? got : undefined;
  }, 30_000);

  // What is kept is still readable: the program, its flags and the names of what was hidden.
  const shown = finding.detail.cmdline;
  for (const kept of ['mysql -u root -p<redacted>', '-H Authorization: <redacted>', 'admin:<redacted>', 'API_TOKEN=<redacted>',
    '--password <redacted>', 'https://admin:<redacted>@db.example.com/x?db=main&access_token=<redacted>']) {
    t.true(shown.includes(kept), `the command line shows ${JSON.stringify(kept)}: ${shown}`);
  }

  const answers: string[] = [];
  for (const path of [`/api/v1/findings?node=${NODE}&limit=1000`, `/api/v1/findings/${finding.id}`, '/api/v1/processes/unexpected?limit=1000',
    '/api/v1/webhooks/deliveries?limit=1000', '/api/v1/nodes', '/api/v1/summary']) {
    const res = await api(path);
    t.is(res.status, 200, path);
    answers.push(res.text);
  }
  t.true(answers[2]!.includes('nw-secret-carrier'), 'the process list shows the process');
  assertAbsent(t, 'the API answers', answers.join('\n'), secrets);
  for (const r of delivered) assertAbsent(t, `the webhook body sent to ${r.path}`, r.raw, secrets);
  assertAbsent(t, 'every webhook request', Buffer.concat(receiver.requests.map((r) => r.raw)), secrets);

  const searchFiles = async (when: string): Promise<void> => {
    const files = [...await filesUnder(stateDir), ...await filesUnder(collectorDir)];
    const all: Buffer[] = [];
    for (const f of files) {
      const bytes = await readFile(f);
      all.push(bytes);
      assertAbsent(t, `${f} (${when})`, bytes, secrets);
    }
    // A positive control: the bytes searched do hold the finding.
    t.true(Buffer.concat(all).includes(Buffer.from('nw-secret-carrier')), `the finding is in the files searched (${when})`);
  };
  await searchFiles('running');
  for (const db of [join(stateDir, 'spool.db'), join(collectorDir, 'nodeward.db')]) {
    t.true(existsSync(db), `${db} exists`);
    t.true(existsSync(`${db}-wal`), `${db}-wal exists while it is open`);
  }
  await agent.kill('SIGTERM');
  await collector.kill('SIGTERM');
  await searchFiles('stopped');

  t.true(agent.count((l) => l.msg === 'unexpected process' && typeof l.exe === 'string' && l.exe.includes('nw-secret-carrier')) >= 1, 'the agent logged the process at debug level');
  t.true(collector.count((l) => l.level === 'debug') >= 1, 'the collector logged at debug level');
  assertAbsent(t, 'the agent\'s log', agent.output(), secrets);
  assertAbsent(t, 'the collector\'s log', collector.output(), secrets);
});

// The agent's hand-made CSR against the collector's reader, and the enrollment decision.
import test from 'ava';
import { execFileSync } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createCsr, generateNodeKey } from '../../agent/enroll/csr.js';
import { CsrError, readAgentCsr } from '../../collector/enroll/csr.js';
import { checkPod, checkToken, EXTRA_NODE_NAME, EXTRA_POD_NAME, EXTRA_POD_UID, type EnrollPolicy } from '../../collector/enroll/authorize.js';
import type { PodFacts, TokenReviewStatus } from '../../collector/enroll/kube-api.js';
import { commandSucceeds } from '../helpers/requirements.js';

test('a CSR from agent/enroll reads back with its node name and key', async (t) => {
  const key = generateNodeKey();
  const csr = await readAgentCsr(createCsr('worker-1.cluster.local', key));
  t.is(csr.node, 'worker-1.cluster.local');
  const raw = Buffer.from(await csr.publicKey.rawData);
  t.deepEqual(raw, key.publicKey.export({ type: 'spki', format: 'der' }));
});

test('openssl verifies the agent CSR and reads its subject', (t) => {
  if (commandSucceeds('openssl', ['version']) !== true) return t.pass('openssl not installed; the x509 reader test above covers the format');
  const out = execFileSync('openssl', ['req', '-noout', '-verify', '-subject'], { input: createCsr('node-a', generateNodeKey()), encoding: 'utf8', stdio: ['pipe', 'pipe', 'pipe'] });
  t.regex(out, /subject=CN\s?=\s?node-a/);
});

test('a CSR is refused when its signature, subject, key or name is wrong', async (t) => {
  const key = generateNodeKey();
  const good = createCsr('node-a', key);
  // Signed by another key: take the signature from a CSR for the same subject by another key.
  const other = createCsr('node-a', generateNodeKey());
  const b64 = (pem: string): string => pem.replace(/-----[^-]+-----|\s/g, '');
  const goodDer = Buffer.from(b64(good), 'base64');
  const otherDer = Buffer.from(b64(other), 'base64');
  const forged = Buffer.concat([goodDer.subarray(0, goodDer.length - 72), otherDer.subarray(otherDer.length - 72)]);
  const wrap = (der: Buffer): string => `-----BEGIN CERTIFICATE REQUEST-----\n${der.toString('base64').match(/.{1,64}/g)?.join('\n')}\n-----END CERTIFICATE REQUEST-----\n`;
  const flipped = Buffer.from(goodDer);
  flipped[flipped.length - 5] = (flipped[flipped.length - 5] ?? 0) ^ 0xff;
  for (const [what, pem, message] of [
    ['another key signed it', wrap(forged), /signature does not verify|unreadable/],
    ['a signature byte changed', wrap(flipped), /signature does not verify|unreadable/],
    ['not a node name', createCsr('Node_A', key), /not a valid Kubernetes node name/],
    ['not a CSR at all', '-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n', /not a PEM "CERTIFICATE REQUEST"/],
    ['empty', '', /required/],
  ] as const) {
    const err = await t.throwsAsync(readAgentCsr(pem), { instanceOf: CsrError }, what);
    t.regex(err?.message ?? '', message, what);
  }
  // RSA keys and extra subject attributes are refused: those CSRs are made with openssl.
  if (commandSucceeds('openssl', ['version']) === true) {
    const dir = mkdtempSync(join(tmpdir(), 'nodeward-csr-'));
    t.teardown(() => rmSync(dir, { recursive: true, force: true }));
    const opensslCsr = (keyPem: string, subject: string): string => {
      const keyFile = join(dir, 'key.pem');
      writeFileSync(keyFile, keyPem, { mode: 0o600 });
      return execFileSync('openssl', ['req', '-new', '-key', keyFile, '-subj', subject], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    };
    const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
    await t.throwsAsync(readAgentCsr(opensslCsr(rsa, '/CN=node-a')), { message: /ECDSA P-256 or P-384/ });
    await t.throwsAsync(readAgentCsr(opensslCsr(generateNodeKey().privateKeyPem, '/O=system:nodes/CN=node-a')), { message: /exactly CN=<node name>/ });
    t.is((await readAgentCsr(opensslCsr(generateNodeKey().privateKeyPem, '/CN=node-a'))).node, 'node-a', 'an openssl CSR of the right shape is fine');
  }
});

const policy: EnrollPolicy = { audience: 'nodeward-collector', agentNamespace: 'nodeward-agent', agentServiceAccount: 'nodeward-agent' };

function review(over: Partial<TokenReviewStatus> = {}, extra: Record<string, string[]> = {}): TokenReviewStatus {
  return {
    authenticated: true, username: 'system:serviceaccount:nodeward-agent:nodeward-agent', uid: 'u', groups: [], audiences: ['nodeward-collector'], error: '',
    extra: { [EXTRA_POD_NAME]: ['agent-x'], [EXTRA_POD_UID]: ['uid-1'], ...extra },
    ...over,
  };
}
const pod = (over: Partial<PodFacts> = {}): PodFacts => ({
  namespace: 'nodeward-agent', name: 'agent-x', uid: 'uid-1', nodeName: 'node-a', serviceAccountName: 'nodeward-agent', phase: 'Running', deleting: false, ...over,
});

test('the token check: authenticated, our audience, the agent ServiceAccount, bound to a pod', (t) => {
  t.like(checkToken(review(), policy), { ok: true, podName: 'agent-x', podUid: 'uid-1' });
  t.like(checkToken(review({ authenticated: false, error: 'token has expired' }), policy), { ok: false, status: 401, reason: 'token not accepted: token has expired' });
  t.like(checkToken(review({ audiences: ['https://kubernetes.default.svc'] }), policy), { ok: false, status: 401 });
  t.like(checkToken(review({ username: 'system:serviceaccount:default:default' }), policy), { ok: false, status: 403 });
  t.like(checkToken(review({ extra: {} }), policy), { ok: false, status: 403, reason: 'the token is not bound to a pod (use a projected ServiceAccount token)' });
});

test('the pod check: the pod the token names, alive, as the agent, on the node the CSR names', (t) => {
  t.like(checkPod(review(), pod(), 'node-a', policy), { ok: true, pod: 'nodeward-agent/agent-x' });
  const refused = (r: TokenReviewStatus, p: PodFacts | undefined, node = 'node-a') => {
    const d = checkPod(r, p, node, policy);
    return d.ok ? 'issued' : `${d.status} ${d.reason}`;
  };
  t.is(refused(review(), pod(), 'node-b'), '403 pod nodeward-agent/agent-x runs on node node-a, not node-b');
  t.is(refused(review(), undefined), '403 pod nodeward-agent/agent-x does not exist');
  t.regex(refused(review(), pod({ uid: 'uid-2' })), /uid differs/);
  t.regex(refused(review(), pod({ deleting: true })), /terminating/);
  t.regex(refused(review(), pod({ phase: 'Failed' })), /terminating or finished/);
  t.regex(refused(review(), pod({ serviceAccountName: 'default' })), /does not run as/);
  t.regex(refused(review(), pod({ nodeName: '' })), /not scheduled/);
  t.regex(refused(review({}, { [EXTRA_NODE_NAME]: ['node-b'] }), pod()), /issued on node node-b/);
});

// A collector in pki.mode kubernetes against the fake Kubernetes API (test/enroll/fake-kube.ts),
// on loopback ports, with an injectable clock; and an agent that trusts only the ConfigMap's
// bundle, the way the DaemonSet mounts it (the test copies the ConfigMap into its CA file,
// as the kubelet would).
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { connect } from 'node:tls';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { X509Certificate } from 'node:crypto';
import { loadCollectorConfig } from '../../collector/config.js';
import { systemClock } from '../../collector/clock.js';
import { issueClientCertificate } from '../../collector/pki/pki.js';
import { pemCertificates } from '../../proto/support/pem.js';
import { createCollector, type Collector } from '../../collector/main.js';
import { AgentConfigSchema, loadAgentConfig } from '../../agent/config.js';
import { createAgent } from '../../agent/main.js';

type Agent = ReturnType<typeof createAgent>;
import { prepareFixture } from '../helpers/fixture.js';
import { AGENT_NAMESPACE, AGENT_SA, AUDIENCE, COLLECTOR_NAMESPACE, type FakeKube } from '../enroll/fake-kube.js';
import { captureLog, type LogCapture } from '../enroll/helpers.js';

export interface ClusterCollector {
  readonly dir: string;
  readonly collector: Collector;
  readonly logs: LogCapture;
  close(): Promise<void>;
}

export async function startClusterCollector(kube: FakeKube, opts: { now?: () => number; pki?: Record<string, unknown>; lifetimeSeconds?: number; name?: string } = {}): Promise<ClusterCollector> {
  const dir = await mkdtemp(join(tmpdir(), 'nodeward-cluster-'));
  const file = join(dir, 'collector.yaml');
  await writeFile(file, JSON.stringify({
    dataDir: dir,
    grpc: { listen: '127.0.0.1:0', maxConnectionsPerSource: 0 },
    api: { listen: '127.0.0.1:0' },
    pods: { watch: 'off' },
    enroll: {
      listen: '127.0.0.1:0', certificateLifetimeSeconds: opts.lifetimeSeconds ?? 3600,
      audience: AUDIENCE, agentNamespace: AGENT_NAMESPACE, agentServiceAccount: AGENT_SA,
      kubernetes: { server: kube.url, caFile: kube.caFile, tokenFile: kube.tokenFile },
    },
    pki: { mode: 'kubernetes', hosts: ['localhost', '127.0.0.1'], ...opts.pki },
  }));
  const config = loadCollectorConfig({ file, env: {} });
  const logs = captureLog(opts.name ?? 'collector');
  const collector = createCollector(config, { log: logs.log, ...(opts.now ? { clock: { ...systemClock, now: opts.now } } : {}) });
  try {
    await collector.start();
  } catch (err) {
    await collector.stop();
    // The directory stays for the test to look into (what was, or was not, created).
    throw Object.assign(err as Error, { logs, dir });
  }
  return {
    dir, collector, logs,
    async close() {
      await collector.stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

export const pkiSecret = (kube: FakeKube) => kube.read('secrets', COLLECTOR_NAMESPACE, 'nodeward-pki') ?? {};
export const tokenSecret = (kube: FakeKube) => kube.read('secrets', COLLECTOR_NAMESPACE, 'nodeward-api-tokens') ?? {};
export const caConfigMap = (kube: FakeKube) => kube.read('configmaps', AGENT_NAMESPACE, 'nodeward-ca') ?? {};

export interface Handshake {
  readonly ok: boolean;
  readonly error?: string;
  /** The serving certificate the collector presented. */
  readonly serial?: string;
}

/**
 * A TLS 1.2 handshake (the client certificate is checked inside it) with `ca` trusted,
 * verifying the name localhost; with `client`, a client certificate is presented.
 */
export function handshake(port: number, ca: string | Buffer, client?: { cert: string; key: string }, alpn = ['h2']): Promise<Handshake> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port, servername: 'localhost', ca, ...client, ALPNProtocols: alpn, maxVersion: 'TLSv1.2' });
    socket.once('secureConnect', () => {
      const serial = socket.getPeerCertificate().serialNumber;
      socket.destroy();
      resolve({ ok: true, serial });
    });
    socket.once('error', (err) => resolve({ ok: false, error: err.message }));
  });
}

export const serialOf = (pem: string): string => new X509Certificate(pem).serialNumber;

/** A client certificate from the Secret's signing CA, for handshakes with the gRPC port (which asks for one). */
export async function clientFromSecret(kube: FakeKube, node = 'test-client'): Promise<{ cert: string; key: string }> {
  const s = pkiSecret(kube);
  const [signing] = pemCertificates(s['ca.crt'] ?? '');
  const issued = await issueClientCertificate({ certPem: signing ?? '', keyPem: s['ca.key'] ?? '' }, node);
  return { cert: issued.certPem, key: issued.keyPem };
}

export interface ClusterAgent {
  readonly agent: Agent;
  readonly logs: LogCapture;
  readonly caFile: string;
  readonly certFile: string;
  readonly keyFile: string;
  /** Copies the ConfigMap's bundle into the agent's CA file, as the kubelet does. */
  syncBundle(): Promise<void>;
  stop(): Promise<void>;
}

/** A whole agent that enrolls with `collector`, trusting only what the ConfigMap holds. */
export async function startClusterAgent(kube: FakeKube, collector: Collector, node: string, opts: { dir?: string; bundle?: string | null } = {}): Promise<ClusterAgent & { dir: string; cleanup(): Promise<void> }> {
  const fx = await prepareFixture('insecure-worker');
  const dir = opts.dir ?? await mkdtemp(join(tmpdir(), 'nodeward-cluster-agent-'));
  // A new agent pod (and its token) each time, as a restarted DaemonSet pod would be.
  const { token } = kube.agentPod(node);
  await writeFile(join(dir, 'token'), token);
  const caFile = join(dir, 'ca.crt');
  const certFile = join(dir, 'state/tls/agent.crt');
  const keyFile = join(dir, 'state/tls/agent.key');
  const syncBundle = async (): Promise<void> => writeFile(caFile, caConfigMap(kube)['ca.crt'] ?? '');
  // The ConfigMap as the kubelet last brought it to this node: now, an older bundle, or not yet (null).
  if (opts.bundle === null) { /* no file yet */ } else if (opts.bundle !== undefined) await writeFile(caFile, opts.bundle);
  else await syncBundle();
  const quiet: Record<string, unknown> = {};
  for (const part of ['watch', 'processes', 'kubeletProbe']) if (part in AgentConfigSchema.properties) quiet[part] = { enabled: false };
  const file = join(dir, 'agent.yaml');
  await writeFile(file, JSON.stringify({
    node, hostRoot: fx.root, procRoot: fx.procRoot, stateDir: join(dir, 'state'),
    collector: { address: `localhost:${collector.grpcPort}`, caFile, certFile, keyFile, heartbeatSeconds: 1, backoffBaseMs: 100, backoffMaxMs: 1000 },
    enroll: { url: `https://localhost:${collector.enrollPort}/v1/enroll`, tokenFile: join(dir, 'token') },
    scan: { intervalSeconds: 3600 },
    health: { port: 0 },
    ...quiet,
  }));
  const config = loadAgentConfig({ file, env: {} }, { needCollector: true });
  const logs = captureLog('agent');
  const agent = createAgent(config, { version: 'test', log: logs.log });
  await agent.start();
  return {
    agent, logs, caFile, certFile, keyFile, syncBundle, dir,
    stop: () => agent.stop(),
    async cleanup() {
      await agent.stop();
      await fx.cleanup();
      if (!opts.dir) await rm(dir, { recursive: true, force: true });
    },
  };
}

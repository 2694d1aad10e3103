// The collector's configuration: one schema (defaults included), YAML file plus
// NODEWARD_* environment overrides, validated once at start-up.
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { isAbsolute, join, resolve } from 'node:path';
import { Type, type Static } from '@sinclair/typebox';
import { ConfigError, loadConfig, LogLevel, type ConfigSources } from '../proto/support/config-loader.js';
import { resolveWebhooks, WebhookSchema } from './webhooks/settings.js';
import type { DispatcherConfig } from './webhooks/dispatcher.js';


const Token = Type.Object({
  name: Type.String({ minLength: 1, maxLength: 64, description: 'Who the token belongs to (shown in logs and the audit log)' }),
  role: Type.Union([Type.Literal('reader'), Type.Literal('admin')]),
  sha256: Type.Optional(Type.String({ pattern: '^[0-9a-f]{64}$', description: 'SHA-256 of the token, hex' })),
  file: Type.Optional(Type.String({ minLength: 1, description: 'File holding the token (read once at start)' })),
}, { additionalProperties: false });

const HandshakeTimeoutMs = Type.Integer({ default: 10_000, minimum: 10, maximum: 600_000, description: 'Deadline from accepting a connection to the end of its TLS handshake; a connection still in its handshake then is closed and counted' });

export const CollectorConfigSchema = Type.Object({
  dataDir: Type.String({ default: '/var/lib/nodeward-collector', description: 'Where the database lives' }),
  database: Type.String({ default: '', description: 'SQLite file; empty means <dataDir>/nodeward.db' }),
  grpc: Type.Object({
    listen: Type.String({ default: '0.0.0.0:7443', description: 'Address agents stream to' }),
    insecure: Type.Boolean({ default: false, description: 'Plain-text gRPC without client certificates (testing only)' }),
    caFile: Type.String({ default: '', description: 'CA that signs agent client certificates' }),
    certFile: Type.String({ default: '', description: 'Collector server certificate' }),
    keyFile: Type.String({ default: '', description: 'Collector server key' }),
    maxMessageBytes: Type.Integer({ default: 4 * 1024 * 1024, minimum: 64 * 1024, maximum: 64 * 1024 * 1024, description: 'Largest agent message accepted' }),
    handshakeTimeoutMs: HandshakeTimeoutMs,
    maxConnections: Type.Integer({ default: 3000, minimum: 1, maximum: 1_000_000, description: 'Connections open at once on the gRPC port (one per agent, plus handshakes under way); more are closed at once and counted. Sized for the 512 MiB the manifests give the collector (an agent stream measured about 110 KiB); raise both together' }),
    maxConnectionsPerSource: Type.Integer({ default: 32, minimum: 0, maximum: 1_000_000, description: 'Connections open at once from one source address on the gRPC port (agents run one per node, on the node\'s address); more are closed at once and counted; 0 turns the cap off (for agents behind one NAT address)' }),
  }, { default: {}, additionalProperties: false }),
  api: Type.Object({
    listen: Type.String({ default: '0.0.0.0:8443', description: 'Address of the HTTPS query API and dashboard' }),
    insecure: Type.Boolean({ default: false, description: 'Serve the API over plain HTTP (testing only)' }),
    certFile: Type.String({ default: '', description: 'API server certificate; empty means grpc.certFile' }),
    keyFile: Type.String({ default: '', description: 'API server key; empty means grpc.keyFile' }),
    tokens: Type.Array(Token, { default: [], description: 'Bearer tokens: {name, role: reader|admin, sha256 | file}' }),
    rateLimit: Type.Object({
      requestsPerSecond: Type.Number({ default: 20, exclusiveMinimum: 0, maximum: 100_000, description: 'Sustained API requests per second per token; more get 429 with Retry-After' }),
      burst: Type.Integer({ default: 100, minimum: 1, maximum: 1_000_000, description: 'API requests a token may make at once before the rate applies' }),
    }, { default: {}, additionalProperties: false }),
    sessionHours: Type.Number({ default: 12, exclusiveMinimum: 0, maximum: 24 * 30, description: 'How long a dashboard login lasts' }),
    allowedOrigins: Type.Array(Type.String({ pattern: '^https?://[^/?#\\s]+$' }), {
      default: [], maxItems: 32,
      description: "Origins (https://host[:port]) besides the collector's own that the dashboard login may be posted from: the address browsers use when a proxy in front changes the Host header",
    }),
    handshakeTimeoutMs: HandshakeTimeoutMs,
    maxConnections: Type.Integer({ default: 1024, minimum: 1, maximum: 1_000_000, description: 'Connections open at once on the API port; more are closed at once and counted (no per-source cap: behind an ingress every client has one address)' }),
  }, { default: {}, additionalProperties: false }),
  limits: Type.Object({
    maxOpenFindingsPerNode: Type.Integer({ default: 10_000, minimum: 1, description: 'Open findings one node may hold; more are refused and counted' }),
    maxBaselineKeysPerNode: Type.Integer({ default: 1000, minimum: 1, maximum: 10_000, description: 'Central baselines one node may create that the pod watch cannot vouch for (container:<id> keys, and every key without a pod watch); more are refused and counted' }),
  }, { default: {}, additionalProperties: false }),
  nodes: Type.Object({
    staleAfterSeconds: Type.Integer({ default: 300, minimum: 1, description: 'Silence after which a node is stale and gets an agent-stale finding' }),
  }, { default: {}, additionalProperties: false }),
  findings: Type.Object({
    historyLimit: Type.Integer({ default: 100, minimum: 1, maximum: 10_000, description: 'History entries kept per finding (transitions, and occurrences folded per hour)' }),
  }, { default: {}, additionalProperties: false }),
  retention: Type.Object({
    resolvedFindingsDays: Type.Integer({ default: 30, minimum: 0, description: 'Resolved findings are deleted this long after they resolved; 0 keeps them' }),
    historyDays: Type.Integer({ default: 90, minimum: 0, description: 'Finding history entries older than this are deleted; 0 keeps them' }),
    auditDays: Type.Integer({ default: 365, minimum: 0, description: 'Audit records older than this are deleted; 0 keeps them' }),
    webhookDeliveriesDays: Type.Integer({ default: 7, minimum: 0, description: 'Delivered webhook outbox rows are deleted this long after delivery; 0 keeps them' }),
    webhookDeadLettersDays: Type.Integer({ default: 30, minimum: 0, description: 'Webhook dead letters are deleted this long after they were given up on; 0 keeps them' }),
  }, { default: {}, additionalProperties: false }),
  maintenance: Type.Object({
    intervalSeconds: Type.Integer({ default: 30, minimum: 1, maximum: 3600, description: 'How often stale nodes, expired suppressions and retention are swept' }),
  }, { default: {}, additionalProperties: false }),
  enroll: Type.Object({
    listen: Type.String({ default: '', description: 'Address of the agent enrollment endpoint (HTTPS); empty disables enrollment' }),
    caKeyFile: Type.String({ default: '', description: 'Key of the CA in grpc.caFile, which signs enrolled agent certificates' }),
    certificateLifetimeSeconds: Type.Integer({ default: 86_400, minimum: 10, maximum: 30 * 86_400, description: 'Lifetime of an enrolled agent certificate (agents renew at about 70%)' }),
    audience: Type.String({ default: 'nodeward-collector', minLength: 1, description: "Audience of the agents' projected ServiceAccount tokens" }),
    agentNamespace: Type.String({ default: 'nodeward-agent', minLength: 1, description: 'Namespace the agent pods run in' }),
    agentServiceAccount: Type.String({ default: 'nodeward-agent', minLength: 1, description: 'ServiceAccount the agent pods run as' }),
    handshakeTimeoutMs: HandshakeTimeoutMs,
    maxConnections: Type.Integer({ default: 1024, minimum: 1, maximum: 1_000_000, description: 'Connections open at once on the enrollment port; more are closed at once and counted' }),
    bodyTimeoutMs: Type.Integer({ default: 10_000, minimum: 10, maximum: 600_000, description: 'How long an enrollment request may take to send its body; a request counts against maxInFlight only once its body is in' }),
    maxInFlight: Type.Integer({ default: 16, minimum: 1, maximum: 10_000, description: 'Enrollment requests (bodies read) handled at once; more get 503 with Retry-After' }),
    kubernetes: Type.Object({
      server: Type.String({ default: '', description: 'Kubernetes API server URL, for enrollment and the pod watch; empty means in-cluster (KUBERNETES_SERVICE_HOST/PORT)' }),
      caFile: Type.String({ default: '/var/run/secrets/kubernetes.io/serviceaccount/ca.crt', description: 'CA of the Kubernetes API server' }),
      tokenFile: Type.String({ default: '/var/run/secrets/kubernetes.io/serviceaccount/token', description: "The collector's ServiceAccount token (re-read at every call)" }),
    }, { default: {}, additionalProperties: false }),
  }, { default: {}, additionalProperties: false }),
  pods: Type.Object({
    watch: Type.Union([Type.Literal('auto'), Type.Literal('on'), Type.Literal('off')], { default: 'auto', description: 'Watch pods through the Kubernetes API (list and watch) for the agents: workload owners and exec probes. auto: on inside a cluster (KUBERNETES_SERVICE_HOST set); the API server is reached as enroll.kubernetes.* says' }),
    maxPods: Type.Integer({ default: 150_000, minimum: 1, maximum: 10_000_000, description: 'Pods the watch holds at most; more are left out (counted)' }),
    debounceMs: Type.Integer({ default: 500, minimum: 0, maximum: 60_000, description: "How long pod changes gather before a node's agent is told (a burst is one update)" }),
    watchSeconds: Type.Integer({ default: 300, minimum: 10, maximum: 3600, description: 'How long one watch request lasts before it is renewed from where it ended' }),
    timeoutMs: Type.Integer({ default: 30_000, minimum: 100, maximum: 600_000, description: 'How long a list page may take, and how long a watch may stay silent past watchSeconds' }),
    backoffBaseMs: Type.Integer({ default: 500, minimum: 1, maximum: 600_000, description: 'First wait after a failed list or watch' }),
    backoffMaxMs: Type.Integer({ default: 30_000, minimum: 1, maximum: 3_600_000, description: 'Longest wait between failed lists or watches' }),
    baselineGraceSeconds: Type.Integer({ default: 7200, minimum: 0, maximum: 7 * 86_400, description: "How long after the watch last showed a workload on a node that node may still report the workload's baselines (an agent locks a baseline at the end of its learning window, when a short-lived pod may be gone)" }),
  }, { default: {}, additionalProperties: false }),
  webhooks: Type.Array(WebhookSchema, { default: [], maxItems: 64, description: 'Alert destinations: {name, url, format, minSeverity, categories, nodes, events, headers, secretFile | secretEnv, caFile, ...}' }),
  log: Type.Object({ level: LogLevel }, { default: {}, additionalProperties: false }),
}, { additionalProperties: false });

export type CollectorConfigInput = Static<typeof CollectorConfigSchema>;

export interface ApiToken {
  readonly name: string;
  readonly role: 'reader' | 'admin';
  readonly sha256: string;
}

/** The validated configuration with the files it names already read. */
export interface CollectorConfig extends CollectorConfigInput {
  readonly databasePath: string;
  readonly tls: { readonly ca: Buffer; readonly cert: Buffer; readonly key: Buffer } | undefined;
  readonly apiTls: { readonly cert: Buffer; readonly key: Buffer } | undefined;
  readonly apiTokens: readonly ApiToken[];
  /** Agent enrollment, when `enroll.listen` is set. */
  readonly enrollment: EnrollmentConfig | undefined;
  /** Webhook destinations, validated, with their secrets and CAs read. */
  readonly webhookDestinations: readonly DispatcherConfig[];
  /** The pod watch, when `pods.watch` turns it on. */
  readonly podWatch: PodWatchSettings | undefined;
}

export interface PodWatchSettings {
  readonly connection: { readonly server: string; readonly caFile: string; readonly tokenFile: string; readonly timeoutMs: number };
  readonly maxPods: number;
  readonly debounceMs: number;
  readonly watchSeconds: number;
  readonly backoffBaseMs: number;
  readonly backoffMaxMs: number;
}

export interface EnrollmentConfig {
  readonly listen: string;
  readonly caCert: Buffer;
  readonly caKey: Buffer;
  readonly lifetimeSeconds: number;
  readonly audience: string;
  readonly agentNamespace: string;
  readonly agentServiceAccount: string;
  readonly kubernetes: { readonly server: string; readonly caFile: string; readonly tokenFile: string };
  readonly handshakeTimeoutMs: number;
  readonly maxConnections: number;
  readonly bodyTimeoutMs: number;
  readonly maxInFlight: number;
}

export function hashToken(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex');
}

export function loadCollectorConfig(sources: ConfigSources): CollectorConfig {
  const c = loadConfig(CollectorConfigSchema, 'NODEWARD', sources);
  const problems: string[] = [];
  const base = sources.file ? resolve(sources.file, '..') : process.cwd();
  const path = (p: string): string => (isAbsolute(p) ? p : join(base, p));
  const read = (setting: string, p: string): Buffer | undefined => {
    if (!p) {
      problems.push(`${setting}: required unless insecure mode is set`);
      return undefined;
    }
    try {
      return readFileSync(path(p));
    } catch (err) {
      problems.push(`${setting}: cannot read ${p}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
      return undefined;
    }
  };
  let tls: CollectorConfig['tls'];
  if (!c.grpc.insecure) {
    const ca = read('grpc.caFile', c.grpc.caFile);
    const cert = read('grpc.certFile', c.grpc.certFile);
    const key = read('grpc.keyFile', c.grpc.keyFile);
    if (ca && cert && key) tls = { ca, cert, key };
  }
  let apiTls: CollectorConfig['apiTls'];
  if (!c.api.insecure) {
    const cert = read('api.certFile', c.api.certFile || c.grpc.certFile);
    const key = read('api.keyFile', c.api.keyFile || c.grpc.keyFile);
    if (cert && key) apiTls = { cert, key };
  }
  const apiTokens: ApiToken[] = [];
  c.api.tokens.forEach((t, i) => {
    if ((t.sha256 === undefined) === (t.file === undefined)) {
      problems.push(`api.tokens[${i}] (${t.name}): give exactly one of sha256 or file`);
      return;
    }
    if (t.sha256) apiTokens.push({ name: t.name, role: t.role, sha256: t.sha256 });
    else {
      const raw = read(`api.tokens[${i}].file`, t.file ?? '');
      const token = raw?.toString('utf8').trim();
      if (raw && (!token || token.length < 16)) problems.push(`api.tokens[${i}].file: the token must be at least 16 characters`);
      else if (token) apiTokens.push({ name: t.name, role: t.role, sha256: hashToken(token) });
    }
  });
  for (const [setting, value] of [['grpc.listen', c.grpc.listen], ['api.listen', c.api.listen]] as const) {
    if (!parseListen(value)) problems.push(`${setting}: ${JSON.stringify(value)} is not host:port`);
  }
  // The API server enrollment and the pod watch call: configured, or in-cluster.
  const kubeHost = sources.env?.KUBERNETES_SERVICE_HOST;
  const kubernetesServer = c.enroll.kubernetes.server
    || (kubeHost ? `https://${kubeHost.includes(':') ? `[${kubeHost}]` : kubeHost}:${sources.env?.KUBERNETES_SERVICE_PORT || '443'}` : '');
  const httpsServer = /^https:\/\//.test(kubernetesServer);
  let enrollment: EnrollmentConfig | undefined;
  if (c.enroll.listen) {
    const e = c.enroll;
    if (!parseListen(e.listen)) problems.push(`enroll.listen: ${JSON.stringify(e.listen)} is not host:port`);
    if (!tls) problems.push('enroll.listen: enrollment needs the gRPC TLS material (grpc.caFile, certFile, keyFile): it signs with that CA and serves with that certificate');
    let caKey: Buffer | undefined;
    if (!e.caKeyFile) problems.push('enroll.caKeyFile: required when enroll.listen is set');
    else caKey = read('enroll.caKeyFile', e.caKeyFile);
    if (!kubernetesServer) problems.push('enroll.kubernetes.server: required outside a cluster (KUBERNETES_SERVICE_HOST is not set)');
    else if (!httpsServer) problems.push(`enroll.kubernetes.server: ${JSON.stringify(kubernetesServer)} must be an https:// URL`);
    if (tls && caKey && httpsServer) {
      enrollment = {
        listen: e.listen, caCert: tls.ca, caKey, lifetimeSeconds: e.certificateLifetimeSeconds, audience: e.audience,
        agentNamespace: e.agentNamespace, agentServiceAccount: e.agentServiceAccount,
        kubernetes: { server: kubernetesServer, caFile: path(e.kubernetes.caFile), tokenFile: path(e.kubernetes.tokenFile) },
        handshakeTimeoutMs: e.handshakeTimeoutMs, maxConnections: e.maxConnections, bodyTimeoutMs: e.bodyTimeoutMs, maxInFlight: e.maxInFlight,
      };
    }
  }
  let podWatch: PodWatchSettings | undefined;
  const p = c.pods;
  if (p.watch === 'on' || (p.watch === 'auto' && kubeHost)) {
    if (!kubernetesServer) problems.push('pods.watch: on needs the Kubernetes API server: set enroll.kubernetes.server (KUBERNETES_SERVICE_HOST is not set)');
    else if (!httpsServer && !enrollment && !c.enroll.listen) problems.push(`enroll.kubernetes.server: ${JSON.stringify(kubernetesServer)} must be an https:// URL`);
    if (p.backoffMaxMs < p.backoffBaseMs) problems.push('pods.backoffMaxMs: must be at least pods.backoffBaseMs');
    if (httpsServer && p.backoffMaxMs >= p.backoffBaseMs) {
      podWatch = {
        connection: { server: kubernetesServer, caFile: path(c.enroll.kubernetes.caFile), tokenFile: path(c.enroll.kubernetes.tokenFile), timeoutMs: p.timeoutMs },
        maxPods: p.maxPods, debounceMs: p.debounceMs, watchSeconds: p.watchSeconds, backoffBaseMs: p.backoffBaseMs, backoffMaxMs: p.backoffMaxMs,
      };
    }
  }
  const webhookDestinations = resolveWebhooks(c.webhooks, { env: sources.env ?? {}, read, problems });
  if (problems.length > 0) throw new ConfigError(problems);
  return Object.freeze({
    ...c,
    dataDir: path(c.dataDir),
    databasePath: c.database ? path(c.database) : join(path(c.dataDir), 'nodeward.db'),
    tls, apiTls, apiTokens, enrollment, podWatch, webhookDestinations,
  });
}

export function parseListen(s: string): { host: string; port: number } | undefined {
  const m = /^(?:\[([0-9a-fA-F:]+)\]|([^:\s]+)):(\d{1,5})$/.exec(s);
  if (!m) return undefined;
  const port = Number(m[3]);
  if (port > 65535) return undefined;
  return { host: (m[1] ?? m[2]) as string, port };
}

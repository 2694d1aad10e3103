// The collector's configuration: one schema (defaults included), YAML file plus
// NODEWARD_* environment overrides, validated once at start-up.
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { isAbsolute, join, resolve } from 'node:path';
import { Type, type Static } from '@sinclair/typebox';
import { ConfigError, loadConfig, LogLevel, type ConfigSources } from '../proto/support/config-loader.js';
import { resolveWebhooks, WebhookSchema } from './webhooks/settings.js';
import type { DispatcherConfig } from './webhooks/dispatcher.js';
import { splitHosts } from './pki/names.js';
import { checkPostgresUrl, checkSchemaName, type PostgresSettings } from './store/pg/settings.js';
import { clusterNameProblem, MAX_CLUSTER_NAME } from './cluster-name.js';


const Token = Type.Object({
  name: Type.String({ minLength: 1, maxLength: 64, description: 'Who the token belongs to (shown in logs and the audit log)' }),
  role: Type.Union([Type.Literal('reader'), Type.Literal('admin')], { description: 'reader: every GET; admin: also the calls that change something' }),
  sha256: Type.Optional(Type.String({ pattern: '^[0-9a-f]{64}$', description: 'SHA-256 of the token, hex' })),
  file: Type.Optional(Type.String({ minLength: 1, description: 'File holding the token (read once at start), instead of `sha256`' })),
}, { additionalProperties: false });

const HandshakeTimeoutMs = Type.Integer({ default: 10_000, minimum: 10, maximum: 600_000, description: 'Deadline from accepting a connection to the end of its TLS handshake; a connection still in its handshake then is closed (counted in `nodeward_tls_handshake_timeouts_total`)' });

export const CollectorConfigSchema = Type.Object({
  dataDir: Type.String({ default: '/var/lib/nodeward-collector', description: 'Where the database lives (made 0700 at start; the database and its `-wal`/`-shm` are 0600)' }),
  database: Type.String({ default: '', description: 'SQLite file; empty means <dataDir>/nodeward.db' }),
  store: Type.Object({
    driver: Type.Union([Type.Literal('sqlite'), Type.Literal('postgres')], { default: 'sqlite', description: 'Where findings, nodes, baselines and the webhook outbox are kept. sqlite: one file (`database`), for one collector. postgres: a PostgreSQL server (store.postgres.*), for two or more collectors (replicas) on one database (docs/postgresql.md)' }),
    postgres: Type.Object({
      urlFile: Type.String({ default: '', description: 'File holding the connection URL, postgres://user:password@host:5432/database (a mounted Secret); read once at start and never logged. TLS is set below, not in the URL (a URL with sslmode, sslrootcert, sslcert or sslkey is refused)' }),
      sslMode: Type.Union([Type.Literal('disable'), Type.Literal('require'), Type.Literal('verify-ca'), Type.Literal('verify-full')], { default: 'verify-full', description: "TLS to the server. verify-full: the server's certificate must chain to store.postgres.caFile (or the system's CAs) and name the URL's host; verify-ca: the chain only; require: encrypted, the certificate not checked; disable: no TLS (a Unix socket, or a sidecar that encrypts)" }),
      caFile: Type.String({ default: '', description: "CA that signs the server's certificate (verify-ca, verify-full); empty means the system's CAs" }),
      poolSize: Type.Integer({ default: 10, minimum: 1, maximum: 200, description: 'Connections to the server at most; each unit of work holds one for its transaction' }),
      connectTimeoutMs: Type.Integer({ default: 10_000, minimum: 100, maximum: 600_000, description: 'Deadline for opening a connection' }),
      schema: Type.String({ default: 'public', description: "The schema holding this cluster's tables: every connection sets search_path to it alone, and the collector refuses to start when it is missing or the role cannot use and create in it. One schema, owned by a role of its own, per cluster sharing a database (docs/fleets.md). Lower case letters, digits and _, not starting with a digit, at most 63 characters" }),
    }, { default: {}, additionalProperties: false }),
  }, { default: {}, additionalProperties: false }),
  grpc: Type.Object({
    listen: Type.String({ default: '0.0.0.0:7443', description: 'Address agents stream to' }),
    insecure: Type.Boolean({ default: false, description: 'Plain-text gRPC without client certificates (testing only)' }),
    caFile: Type.String({ default: '', description: 'CA that signs agent client certificates' }),
    certFile: Type.String({ default: '', description: 'Collector server certificate' }),
    keyFile: Type.String({ default: '', description: 'Collector server key' }),
    maxMessageBytes: Type.Integer({ default: 4 * 1024 * 1024, minimum: 64 * 1024, maximum: 64 * 1024 * 1024, description: 'Largest agent message accepted' }),
    handshakeTimeoutMs: HandshakeTimeoutMs,
    maxConnections: Type.Integer({ default: 3000, minimum: 1, maximum: 1_000_000, description: 'Connections open at once on the gRPC port (one per agent, plus handshakes under way); more are closed at once (`nodeward_connections_refused_total`). Sized for the 512 MiB the manifests give the collector (an agent stream measured about 110 KiB): raise both together for a larger fleet' }),
    maxConnectionsPerSource: Type.Integer({ default: 32, minimum: 0, maximum: 1_000_000, description: 'Connections open at once from one source address on the gRPC port (agents run one per node, on the node\'s address); more are closed at once and counted; 0 turns the cap off (for agents behind one NAT address)' }),
  }, { default: {}, additionalProperties: false }),
  api: Type.Object({
    listen: Type.String({ default: '0.0.0.0:8443', description: 'Address of the HTTPS query API and dashboard' }),
    insecure: Type.Boolean({ default: false, description: 'Serve the API over plain HTTP (testing only)' }),
    certFile: Type.String({ default: '', description: 'API server certificate; empty means grpc.certFile' }),
    keyFile: Type.String({ default: '', description: 'API server key; empty means grpc.keyFile' }),
    tokens: Type.Array(Token, { default: [], description: 'Bearer tokens of the API and the dashboard (entries below); only their SHA-256 is kept' }),
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
    maxBaselineKeysPerNode: Type.Integer({ default: 1000, minimum: 1, maximum: 10_000, description: 'Central baselines one node may create that the pod watch cannot vouch for (`container:<id>` keys, and every key without a pod watch); more are refused and counted (`baselineKeysRefused` in `GET /api/v1/nodes`)' }),
  }, { default: {}, additionalProperties: false }),
  nodes: Type.Object({
    staleAfterSeconds: Type.Integer({ default: 300, minimum: 1, description: 'Silence after which a node is stale and gets an agent-stale finding' }),
    watch: Type.Union([Type.Literal('auto'), Type.Literal('on'), Type.Literal('off')], { default: 'auto', description: "Watch the cluster's nodes through the Kubernetes API (list and watch) and read the agent DaemonSet (nodes.agentDaemonSet), to find Ready nodes that should run an agent and have none (agent-missing) and list them in the node inventory. auto: on inside a cluster (KUBERNETES_SERVICE_HOST set); the API server is reached as enroll.kubernetes.* says, with the pod watch's pods.watchSeconds, timeoutMs and backoff (docs/node-coverage.md)" }),
    missingAfterSeconds: Type.Integer({ default: 300, minimum: 1, maximum: 7 * 86_400, description: 'How long a Ready node the agent DaemonSet should run on may go without an agent reporting before it gets an agent-missing finding (counted from when the node became Ready and expected, and from the collector\'s start)' }),
    agentDaemonSet: Type.String({ default: 'nodeward-agent', minLength: 1, maxLength: 253, description: 'Name of the agent DaemonSet, in enroll.agentNamespace: its nodeSelector, required node affinity and tolerations say which nodes should run an agent' }),
    daemonSetCheckSeconds: Type.Integer({ default: 60, minimum: 1, maximum: 3600, description: 'How often the agent DaemonSet is read again (a changed toleration or nodeSelector changes which nodes should run an agent)' }),
    maxNodes: Type.Integer({ default: 20_000, minimum: 1, maximum: 1_000_000, description: 'Nodes the node watch holds at most; more are left out (counted)' }),
    demo: Type.Array(Type.String({ minLength: 1, maxLength: 253 }), {
      default: [], maxItems: 64, uniqueItems: true,
      description: 'Names of demo nodes: agents scanning fixture host trees, not real nodes (`npm start -- --demo` sets them; docs/demo.md). The API (`demo: true`), `./bin/nodeward query nodes` and the dashboard label them',
    }),
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
    intervalSeconds: Type.Integer({ default: 30, minimum: 1, maximum: 3600, description: 'How often stale nodes, expired suppressions and retention are swept, and refusal counts held for the audit log are written' }),
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
    bodyTimeoutMs: Type.Integer({ default: 10_000, minimum: 10, maximum: 600_000, description: 'How long an enrollment request may take to send its body (408 after it); a request counts against `enroll.maxInFlight` only once its body is in' }),
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
    watchSeconds: Type.Integer({ default: 300, minimum: 10, maximum: 3600, description: 'How long one watch request lasts before it is renewed from where it ended (the pod watch and the node watch)' }),
    timeoutMs: Type.Integer({ default: 30_000, minimum: 100, maximum: 600_000, description: 'How long a list page may take, and how long a watch may stay silent past watchSeconds (the pod watch and the node watch)' }),
    backoffBaseMs: Type.Integer({ default: 500, minimum: 1, maximum: 600_000, description: 'First wait after a failed list or watch, doubling with jitter (the pod watch and the node watch)' }),
    backoffMaxMs: Type.Integer({ default: 30_000, minimum: 1, maximum: 3_600_000, description: 'Longest wait between failed lists or watches (the pod watch and the node watch)' }),
    baselineGraceSeconds: Type.Integer({ default: 7200, minimum: 0, maximum: 7 * 86_400, description: "How long after the watch last showed a workload on a node that node may still report the workload's baselines (an agent locks a baseline at the end of its learning window, when a short-lived pod may be gone)" }),
  }, { default: {}, additionalProperties: false }),
  posture: Type.Object({
    watch: Type.Union([Type.Literal('auto'), Type.Literal('on'), Type.Literal('off')], { default: 'auto', description: "Judge the cluster's posture from the Kubernetes API (list and watch, read-only): RBAC (CIS 5.1) and the other posture checks, raised as cluster findings (docs/cluster-posture.md). auto: on inside a cluster (KUBERNETES_SERVICE_HOST set); the API server is reached as enroll.kubernetes.* says, with the pod watch's pods.watchSeconds, timeoutMs and backoff. Off without an API server (`npm start`)" }),
    debounceMs: Type.Integer({ default: 1000, minimum: 0, maximum: 60_000, description: 'How long changes to the posture findings gather before they are committed as one unit (a burst of watch events is one transaction and one round of alerts)' }),
    maxObjects: Type.Integer({ default: 200_000, minimum: 1, maximum: 10_000_000, description: 'Objects held per kind (ClusterRoles, RoleBindings ...) at most; more are left out (counted in nodeward_posture_refused_total)' }),
    maxOpenFindings: Type.Integer({ default: 50_000, minimum: 1, maximum: 1_000_000, description: 'Cluster findings that may be open at once; new ones past it are refused (counted in nodeward_posture_findings_refused_total)' }),
    discoverySeconds: Type.Integer({ default: 300, minimum: 10, maximum: 86_400, description: 'How often the API server is asked again (discovery) whether it serves the optional kinds: the network policies of Calico and Cilium' }),
  }, { default: {}, additionalProperties: false }),
  pki: Type.Object({
    mode: Type.Union([Type.Literal('files'), Type.Literal('kubernetes')], { default: 'files', description: 'Where the CA, the serving certificate and (when `api.tokens` names no admin) the admin token come from. `files`: `grpc.caFile`/`certFile`/`keyFile`, `enroll.caKeyFile` and `api.tokens` (made with `./bin/nodeward pki init`; local use, air-gapped installs). `kubernetes` (the manifests): the collector creates them on its first start in the Secrets `pki.secret` and `pki.tokenSecret` (which the manifests create empty), renews the serving certificate, rotates the CA, and publishes the CA bundle to the ConfigMap `pki.caConfigMap` in `enroll.agentNamespace` (docs/install.md); the API server is reached as `enroll.kubernetes.*` says' }),
    namespace: Type.String({ default: 'nodeward-collector', minLength: 1, description: "The collector's namespace, which holds pki.secret and pki.tokenSecret (kubernetes mode)" }),
    secret: Type.String({ default: 'nodeward-pki', minLength: 1, description: 'Secret holding the CA and the serving certificate (kubernetes mode): `ca.crt` (every trusted CA, the signing one first), `ca.key`, `tls.crt`, `tls.key`, and during a rotation `next.key` and `rotation.json`' }),
    tokenSecret: Type.String({ default: 'nodeward-api-tokens', minLength: 1, description: 'Secret whose key `admin` holds the admin API token: used when present, generated on the first start when empty (kubernetes mode, when `api.tokens` names no admin)' }),
    caConfigMap: Type.String({ default: 'nodeward-ca', minLength: 1, description: "ConfigMap in enroll.agentNamespace the CA bundle is published to, as ca.crt: what the agents verify the collector and their certificates with (kubernetes mode)" }),
    hosts: Type.Array(Type.String({ minLength: 1 }), {
      default: ['nodeward-collector', 'nodeward-collector.nodeward-collector', 'nodeward-collector.nodeward-collector.svc', 'nodeward-collector.nodeward-collector.svc.cluster.local', 'localhost', '127.0.0.1', '::1'],
      minItems: 1, maxItems: 64, description: "Names and addresses in the serving certificate (kubernetes mode): the Service's names, and loopback for port-forwarding; a change re-issues the certificate",
    }),
    caValidDays: Type.Integer({ default: 3650, minimum: 2, maximum: 36_500, description: 'Lifetime of a CA the collector creates (kubernetes mode)' }),
    caRotateBeforeDays: Type.Integer({ default: 365, minimum: 1, maximum: 36_500, description: "A CA rotation starts by itself when less than this remains of the signing CA's life (kubernetes mode). An operator starts one at any time with the annotation `nodeward.io/rotate-ca` on `pki.secret` (docs/install.md, \"Rotating the CA\")" }),
    servingValidDays: Type.Integer({ default: 90, minimum: 1, maximum: 3650, description: 'Lifetime of the serving certificate (gRPC, enrollment and API ports) the collector issues itself (kubernetes mode)' }),
    servingRenewBeforeDays: Type.Integer({ default: 30, minimum: 1, maximum: 3650, description: 'The serving certificate is renewed when less than this remains of its life; the listeners take the new one without a restart (kubernetes mode)' }),
    rotationAnnounceSeconds: Type.Integer({ default: 600, minimum: 1, maximum: 30 * 86_400, description: "How long a new CA is published to the agents (bundle: old and new) before the collector signs with it; the kubelet updates a mounted ConfigMap within a minute or two. The old CA stays in the bundle until every agent certificate it signed has expired (enroll.certificateLifetimeSeconds after the switch) (kubernetes mode)" }),
    checkSeconds: Type.Integer({ default: 60, minimum: 1, maximum: 3600, description: 'How often pki.secret is read again: changes made by another replica or an operator, and when renewal or a rotation step is due (kubernetes mode)' }),
  }, { default: {}, additionalProperties: false }),
  cluster: Type.Object({
    name: Type.String({ default: '', maxLength: MAX_CLUSTER_NAME, description: "This cluster's display name in the API (`cluster` parameter, `cluster` of each item), the dashboard and fleet listings: 1-63 letters, digits, '-', '.' and '_', starting and ending with a letter or digit. Empty: the first 8 characters of the cluster's UID (the kube-system namespace's, read from the Kubernetes API at start), or `local` without a Kubernetes API" }),
  }, { default: {}, additionalProperties: false }),
  webhooks: Type.Array(WebhookSchema, { default: [], maxItems: 64, description: 'Alert destinations (entries below; docs/webhooks.md)' }),
  log: Type.Object({ level: LogLevel }, { default: {}, additionalProperties: false }),
}, { additionalProperties: false });

export type CollectorConfigInput = Static<typeof CollectorConfigSchema>;

export interface ApiToken {
  readonly name: string;
  readonly role: 'reader' | 'admin';
  readonly sha256: string;
}

/**
 * The validated configuration with the files it names already read. With `pki.mode`
 * kubernetes, `tls`, `caKey` (and `apiTls`, unless api.certFile is set) are empty here and
 * filled at start from the cluster PKI (pki/cluster.ts).
 */
export interface CollectorConfig extends CollectorConfigInput {
  readonly databasePath: string;
  /** The PostgreSQL store's connection, when store.driver is postgres (its URL behind a function: never serialised). */
  readonly postgres: PostgresSettings | undefined;
  /** The serving certificate and key, and `ca`: every trusted CA (PEM bundle), the signing CA first. */
  readonly tls: { readonly ca: Buffer; readonly cert: Buffer; readonly key: Buffer } | undefined;
  /** The key of the first CA in `tls.ca`, which signs enrolled agent certificates (enroll.caKeyFile). */
  readonly caKey: Buffer | undefined;
  /** The cluster PKI, when `pki.mode` is kubernetes. */
  readonly clusterPki: ClusterPkiSettings | undefined;
  readonly apiTls: { readonly cert: Buffer; readonly key: Buffer } | undefined;
  readonly apiTokens: readonly ApiToken[];
  /** Agent enrollment, when `enroll.listen` is set. */
  readonly enrollment: EnrollmentConfig | undefined;
  /** Webhook destinations, validated, with their secrets and CAs read. */
  readonly webhookDestinations: readonly DispatcherConfig[];
  /** The pod watch, when `pods.watch` turns it on. */
  readonly podWatch: PodWatchSettings | undefined;
  /** The node watch, when `nodes.watch` turns it on. */
  readonly nodeWatch: NodeWatchSettings | undefined;
  /** The posture watch, when `posture.watch` turns it on. */
  readonly postureWatch: PostureWatchSettings | undefined;
}

export interface PostureWatchSettings {
  readonly connection: { readonly server: string; readonly caFile: string; readonly tokenFile: string; readonly timeoutMs: number };
  readonly watchSeconds: number;
  readonly backoffBaseMs: number;
  readonly backoffMaxMs: number;
  readonly debounceMs: number;
  readonly maxObjects: number;
  readonly discoveryMs: number;
}

export interface NodeWatchSettings {
  readonly connection: { readonly server: string; readonly caFile: string; readonly tokenFile: string; readonly timeoutMs: number };
  readonly watchSeconds: number;
  readonly backoffBaseMs: number;
  readonly backoffMaxMs: number;
  readonly maxNodes: number;
  readonly daemonSet: { readonly namespace: string; readonly name: string };
  readonly daemonSetCheckMs: number;
}

export interface PodWatchSettings {
  readonly connection: { readonly server: string; readonly caFile: string; readonly tokenFile: string; readonly timeoutMs: number };
  readonly maxPods: number;
  readonly debounceMs: number;
  readonly watchSeconds: number;
  readonly backoffBaseMs: number;
  readonly backoffMaxMs: number;
}

export interface ClusterPkiSettings {
  readonly connection: { readonly server: string; readonly caFile: string; readonly tokenFile: string; readonly timeoutMs: number };
  readonly namespace: string;
  readonly secret: string;
  readonly tokenSecret: string;
  /** Generate an admin token into tokenSecret when it holds none: api.tokens names no admin. */
  readonly adminToken: boolean;
  readonly caConfigMap: { readonly namespace: string; readonly name: string };
  readonly hosts: readonly string[];
  readonly caValidDays: number;
  readonly caRotateBeforeDays: number;
  readonly servingValidDays: number;
  readonly servingRenewBeforeDays: number;
  readonly rotationAnnounceMs: number;
  /** How long after a switch the old CA stays trusted: the longest agent certificate it signed, plus a check interval and clock skew. */
  readonly agentCertificateLifetimeMs: number;
  readonly checkMs: number;
}

export interface EnrollmentConfig {
  readonly listen: string;
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
  const clusterMode = c.pki.mode === 'kubernetes';
  if (clusterMode) {
    // The cluster PKI is the collector's own: files naming another are a mistake to report.
    for (const [setting, value] of [['grpc.caFile', c.grpc.caFile], ['grpc.certFile', c.grpc.certFile], ['grpc.keyFile', c.grpc.keyFile], ['enroll.caKeyFile', c.enroll.caKeyFile]] as const) {
      if (value) problems.push(`${setting}: not used with pki.mode kubernetes (the collector keeps its CA and certificate in the Secret pki.secret); remove it`);
    }
    if (c.grpc.insecure) problems.push('grpc.insecure: cannot be combined with pki.mode kubernetes');
    if ((c.api.certFile === '') !== (c.api.keyFile === '')) problems.push('api.certFile, api.keyFile: give both (the API then serves them instead of the cluster PKI\'s certificate) or neither');
    if (c.pki.caRotateBeforeDays >= c.pki.caValidDays) problems.push(`pki.caRotateBeforeDays: must be less than pki.caValidDays (${c.pki.caValidDays}), or every new CA would start a rotation`);
    if (c.pki.servingRenewBeforeDays >= c.pki.servingValidDays) problems.push(`pki.servingRenewBeforeDays: must be less than pki.servingValidDays (${c.pki.servingValidDays})`);
    if (c.pki.servingValidDays >= c.pki.caRotateBeforeDays) problems.push(`pki.servingValidDays: must be less than pki.caRotateBeforeDays (${c.pki.caRotateBeforeDays}), so a serving certificate always fits in its CA's life`);
  }
  let tls: CollectorConfig['tls'];
  if (!c.grpc.insecure && !clusterMode) {
    const ca = read('grpc.caFile', c.grpc.caFile);
    const cert = read('grpc.certFile', c.grpc.certFile);
    const key = read('grpc.keyFile', c.grpc.keyFile);
    if (ca && cert && key) tls = { ca, cert, key };
  }
  let apiTls: CollectorConfig['apiTls'];
  if (!c.api.insecure && !(clusterMode && !c.api.certFile)) {
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
  let caKey: Buffer | undefined;
  if (c.enroll.listen) {
    const e = c.enroll;
    if (!parseListen(e.listen)) problems.push(`enroll.listen: ${JSON.stringify(e.listen)} is not host:port`);
    if (!clusterMode) {
      if (!tls) problems.push('enroll.listen: enrollment needs the gRPC TLS material (grpc.caFile, certFile, keyFile): it signs with that CA and serves with that certificate');
      if (!e.caKeyFile) problems.push('enroll.caKeyFile: required when enroll.listen is set');
      else caKey = read('enroll.caKeyFile', e.caKeyFile);
    }
    if (!kubernetesServer) problems.push('enroll.kubernetes.server: required outside a cluster (KUBERNETES_SERVICE_HOST is not set)');
    else if (!httpsServer) problems.push(`enroll.kubernetes.server: ${JSON.stringify(kubernetesServer)} must be an https:// URL`);
    if (((tls && caKey) || clusterMode) && httpsServer) {
      enrollment = {
        listen: e.listen, lifetimeSeconds: e.certificateLifetimeSeconds, audience: e.audience,
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
  let nodeWatch: NodeWatchSettings | undefined;
  const n = c.nodes;
  if (n.watch === 'on' || (n.watch === 'auto' && kubeHost)) {
    // Each problem once, whichever of the watches (or enrollment) found it first.
    const once = (problem: string): void => {
      if (!problems.includes(problem)) problems.push(problem);
    };
    if (!kubernetesServer) problems.push('nodes.watch: on needs the Kubernetes API server: set enroll.kubernetes.server (KUBERNETES_SERVICE_HOST is not set)');
    else if (!httpsServer && !c.enroll.listen) once(`enroll.kubernetes.server: ${JSON.stringify(kubernetesServer)} must be an https:// URL`);
    if (p.backoffMaxMs < p.backoffBaseMs) once('pods.backoffMaxMs: must be at least pods.backoffBaseMs');
    if (httpsServer && p.backoffMaxMs >= p.backoffBaseMs) {
      nodeWatch = {
        connection: { server: kubernetesServer, caFile: path(c.enroll.kubernetes.caFile), tokenFile: path(c.enroll.kubernetes.tokenFile), timeoutMs: p.timeoutMs },
        watchSeconds: p.watchSeconds, backoffBaseMs: p.backoffBaseMs, backoffMaxMs: p.backoffMaxMs, maxNodes: n.maxNodes,
        daemonSet: { namespace: c.enroll.agentNamespace, name: n.agentDaemonSet }, daemonSetCheckMs: n.daemonSetCheckSeconds * 1000,
      };
    }
  }
  let postureWatch: PostureWatchSettings | undefined;
  const pw = c.posture;
  if (pw.watch === 'on' || (pw.watch === 'auto' && kubeHost)) {
    const once = (problem: string): void => {
      if (!problems.includes(problem)) problems.push(problem);
    };
    if (!kubernetesServer) problems.push('posture.watch: on needs the Kubernetes API server: set enroll.kubernetes.server (KUBERNETES_SERVICE_HOST is not set)');
    else if (!httpsServer && !c.enroll.listen) once(`enroll.kubernetes.server: ${JSON.stringify(kubernetesServer)} must be an https:// URL`);
    if (p.backoffMaxMs < p.backoffBaseMs) once('pods.backoffMaxMs: must be at least pods.backoffBaseMs');
    if (httpsServer && p.backoffMaxMs >= p.backoffBaseMs) {
      postureWatch = {
        connection: { server: kubernetesServer, caFile: path(c.enroll.kubernetes.caFile), tokenFile: path(c.enroll.kubernetes.tokenFile), timeoutMs: p.timeoutMs },
        watchSeconds: p.watchSeconds, backoffBaseMs: p.backoffBaseMs, backoffMaxMs: p.backoffMaxMs,
        debounceMs: pw.debounceMs, maxObjects: pw.maxObjects, discoveryMs: pw.discoverySeconds * 1000,
      };
    }
  }
  let clusterPki: ClusterPkiSettings | undefined;
  if (clusterMode) {
    if (!kubernetesServer) problems.push('pki.mode: kubernetes needs the Kubernetes API server: set enroll.kubernetes.server (KUBERNETES_SERVICE_HOST is not set)');
    else if (!httpsServer && !c.enroll.listen) problems.push(`enroll.kubernetes.server: ${JSON.stringify(kubernetesServer)} must be an https:// URL`);
    try {
      splitHosts(c.pki.hosts);
    } catch (err) {
      problems.push(`pki.hosts: ${(err as Error).message}`);
    }
    if (httpsServer) {
      const k = c.pki;
      clusterPki = {
        connection: { server: kubernetesServer, caFile: path(c.enroll.kubernetes.caFile), tokenFile: path(c.enroll.kubernetes.tokenFile), timeoutMs: 10_000 },
        namespace: k.namespace, secret: k.secret, tokenSecret: k.tokenSecret,
        adminToken: !apiTokens.some((t) => t.role === 'admin'),
        caConfigMap: { namespace: c.enroll.agentNamespace, name: k.caConfigMap },
        hosts: k.hosts, caValidDays: k.caValidDays, caRotateBeforeDays: k.caRotateBeforeDays,
        servingValidDays: k.servingValidDays, servingRenewBeforeDays: k.servingRenewBeforeDays,
        rotationAnnounceMs: k.rotationAnnounceSeconds * 1000,
        agentCertificateLifetimeMs: c.enroll.certificateLifetimeSeconds * 1000,
        checkMs: k.checkSeconds * 1000,
      };
    }
  }
  const nameProblem = clusterNameProblem(c.cluster.name);
  if (nameProblem) problems.push(`cluster.name: ${nameProblem}`);
  const postgres = resolvePostgres(c.store, read, problems);
  const webhookDestinations = resolveWebhooks(c.webhooks, { env: sources.env ?? {}, read, problems });
  if (problems.length > 0) throw new ConfigError(problems);
  return Object.freeze({
    ...c,
    dataDir: path(c.dataDir),
    databasePath: c.database ? path(c.database) : join(path(c.dataDir), 'nodeward.db'),
    tls, caKey, apiTls, apiTokens, enrollment, clusterPki, podWatch, nodeWatch, postureWatch, webhookDestinations, postgres,
  });
}

/**
 * The PostgreSQL settings with the URL read from its file, or undefined with the SQLite store.
 * No problem reported here quotes the file's content: it holds the password.
 */
function resolvePostgres(store: CollectorConfigInput['store'], read: (setting: string, p: string) => Buffer | undefined, problems: string[]): PostgresSettings | undefined {
  const p = store.postgres;
  if (store.driver !== 'postgres') {
    if (p.urlFile || p.caFile || p.schema !== 'public') problems.push('store.postgres: set, but store.driver is sqlite; set store.driver postgres, or remove store.postgres');
    return undefined;
  }
  const schemaProblem = checkSchemaName(p.schema);
  if (schemaProblem !== undefined) problems.push(`store.postgres.schema: ${schemaProblem}`);
  if (!p.urlFile) {
    problems.push('store.postgres.urlFile: required with store.driver postgres (a file holding postgres://user:password@host:5432/database, such as a mounted Secret)');
    return undefined;
  }
  if (p.caFile && (p.sslMode === 'disable' || p.sslMode === 'require')) {
    problems.push(`store.postgres.caFile: not used with sslMode ${p.sslMode}, which verifies nothing; use verify-full (or verify-ca)`);
  }
  const raw = read('store.postgres.urlFile', p.urlFile);
  const ca = p.caFile ? read('store.postgres.caFile', p.caFile) : undefined;
  if (raw === undefined) return undefined;
  // A Secret's file often ends with a newline; nothing else around the URL is taken.
  const url = raw.toString('utf8').trim();
  const why = checkPostgresUrl(url);
  if (why !== undefined) {
    problems.push(`store.postgres.urlFile: ${p.urlFile}: ${why}`);
    return undefined;
  }
  if (schemaProblem !== undefined) return undefined;
  return { url: () => url, sslMode: p.sslMode, ca, poolSize: p.poolSize, connectTimeoutMs: p.connectTimeoutMs, schema: p.schema };
}

export function parseListen(s: string): { host: string; port: number } | undefined {
  const m = /^(?:\[([0-9a-fA-F:]+)\]|([^:\s]+)):(\d{1,5})$/.exec(s);
  if (!m) return undefined;
  const port = Number(m[3]);
  if (port > 65535) return undefined;
  return { host: (m[1] ?? m[2]) as string, port };
}

// The agent's configuration: one schema (defaults included), YAML file plus NODEWARD_*
// environment overrides, validated once at start-up.
import { hostname } from 'node:os';
import { existsSync } from 'node:fs';
import { isIP } from 'node:net';
import { isAbsolute, join, resolve } from 'node:path';
import { Type, type Static } from '@sinclair/typebox';
import { ConfigError, loadConfig, logLevel, type ConfigSources } from '../proto/support/config-loader.js';
import { isValidNodeName } from '../proto/domain.js';
import { addressClasses } from './exposure/address-class.js';
import { AUTO_BENCHMARK, BENCHMARK_NAMES, isBenchmarkName } from './checks/benchmarks/index.js';
import { DISTRIBUTION_NAMES } from './facts/layouts.js';

export const AgentConfigSchema = Type.Object({
  node: Type.String({ default: '', description: 'Node name; empty means NODE_NAME, then the host name' }),
  hostRoot: Type.String({ default: '/', description: "Where the host's files are read (the host's / mounted read-only)" }),
  procRoot: Type.String({ default: '/proc', description: "Where the host's processes are read" }),
  stateDir: Type.String({ default: '/var/lib/nodeward', description: 'Spool and baselines (survives restarts). Made 0700 at start (a looser one is tightened, with a warning); `spool.db` and its `-wal`/`-shm` are 0600' }),
  distribution: Type.Union([Type.Literal('auto'), ...DISTRIBUTION_NAMES.map((n) => Type.Literal(n))], {
    default: 'auto',
    description: "Which distribution layout the node's files are read with (where the kubelet's config, kubeconfig, unit and flag files live), and so the benchmark it names: `auto` detects it from the node's files, processes and labels ([distributions.md](distributions.md)); a layout's name settles it, e.g. on a node whose signs are ambiguous",
  }),
  benchmark: Type.String({
    default: AUTO_BENCHMARK,
    description: `The benchmark results are judged and labelled under: \`${AUTO_BENCHMARK}\` (the one the node's distribution layout names; see \`distribution\`) or one of ${BENCHMARK_NAMES.map((n) => `\`${n}\``).join(', ')} ([checks.md](checks.md#benchmarks))`,
  }),
  collector: Type.Object({
    address: Type.String({ default: '', description: 'Collector gRPC address, host:port' }),
    insecure: Type.Boolean({ default: false, description: 'Plain-text gRPC (testing only)' }),
    caFile: Type.String({ default: '', description: "CA that signed the collector certificate, or a bundle of several (during a CA rotation; a certificate from any of them is accepted). Read at every connection and enrollment. With `enroll.url` it need not exist at start: on a cluster it is the collector's ConfigMap `nodeward-ca`, filled on the collector's first start" }),
    certFile: Type.String({ default: '', description: "This node's client certificate (CN = node name)" }),
    keyFile: Type.String({ default: '', description: "This node's client key" }),
    serverName: Type.String({ default: '', description: 'Name expected in the collector certificate, when not the address host' }),
    heartbeatSeconds: Type.Integer({ default: 30, minimum: 1, maximum: 3600, description: 'Heartbeat interval' }),
    backoffBaseMs: Type.Integer({ default: 500, minimum: 10, description: 'First reconnect delay' }),
    backoffMaxMs: Type.Integer({ default: 30_000, minimum: 100, description: 'Longest reconnect delay' }),
  }, { default: {}, additionalProperties: false }),
  scan: Type.Object({
    intervalSeconds: Type.Number({ default: 300, minimum: 0, description: 'Full scan period; 0 disables the periodic scan' }),
    checks: Type.Array(Type.String(), { default: [], description: 'Check ids or sections to run; empty means all' }),
  }, { default: {}, additionalProperties: false }),
  spool: Type.Object({
    maxItems: Type.Integer({ default: 50_000, minimum: 100, description: 'Results and findings the spool holds at most' }),
    maxBytes: Type.Integer({ default: 64 * 1024 * 1024, minimum: 1024 * 1024, description: 'Bytes the spool holds at most' }),
  }, { default: {}, additionalProperties: false }),
  watch: Type.Object({
    enabled: Type.Boolean({ default: true, description: 'Re-evaluate the checks that read a host file as soon as it changes (a report with trigger `watch` and just those checks in its scope)' }),
    debounceMs: Type.Integer({ default: 100, minimum: 0, maximum: 10_000, description: 'Quiet time after a change before re-evaluating (a burst is one report)' }),
    maxPaths: Type.Integer({ default: 1024, minimum: 1, maximum: 65_536, description: 'Directories watched at most; paths beyond wait for the periodic scan (counted and logged)' }),
  }, { default: {}, additionalProperties: false }),
  processes: Type.Object({
    enabled: Type.Boolean({ default: true, description: 'Watch processes against learned baselines (proc-unexpected findings)' }),
    scanIntervalSeconds: Type.Number({ default: 2, minimum: 0, maximum: 3600, description: 'Process table scan period; 0 keeps only the start-up scan' }),
    execEvents: Type.Boolean({ default: true, description: "Use the kernel's exec events when available: eBPF, else the process connector (native addons; docs/privileges.md, \"Exec events\")" }),
    ebpf: Type.Boolean({ default: true, description: "Try the eBPF exec source first (kernel >= 5.8 with BTF, `CAP_BPF` and `CAP_PERFMON`): every exec is described in the kernel, so a process gone within a millisecond is still judged. Otherwise the process connector (`CAP_NET_ADMIN`, host network). The agent's stats say which source runs and why a better one did not (`execSource`, `execSourceReason`)" }),
    btfPath: Type.String({ default: '/sys/kernel/btf/vmlinux', minLength: 1, description: "The kernel's BTF, which the eBPF program is relocated against (a kernel without it runs on the process connector: `NO_BTF`)" }),
    ebpfRingBytes: Type.Integer({ default: 1024 * 1024, minimum: 4096, maximum: 256 * 1024 * 1024, description: "The eBPF ring buffer's size in bytes, a power of two. Kernel memory charged to the agent's cgroup (counts against its memory limit). A record the ring has no room for is counted (`execRingLost`)" }),
    learnSeconds: Type.Integer({ default: 3600, minimum: 1, description: "Learning window of a workload's baseline, from its first process" }),
    hostLearnSeconds: Type.Integer({ default: 86_400, minimum: 1, description: "Learning window of the host's baseline (daily jobs must be seen)" }),
    startupSeconds: Type.Integer({ default: 60, minimum: 0, maximum: 3600, description: "A container's processes this soon after it started are allowed as startup" }),
    rateBurst: Type.Integer({ default: 10, minimum: 1, maximum: 10_000, description: 'Findings per (baseline, executable) sent at once before the rate limit applies' }),
    rateRefillSeconds: Type.Number({ default: 180, minimum: 0.001, description: 'One more finding per (baseline, executable) allowed every this many seconds' }),
    maxBaselines: Type.Integer({ default: 2048, minimum: 1, maximum: 100_000, description: 'Baselines kept; the least recently seen is evicted (counted)' }),
    maxItemsPerBaseline: Type.Integer({ default: 1024, minimum: 1, maximum: 100_000, description: 'Executables per baseline; more are not learned (counted)' }),
    containerdState: Type.String({ default: '/run/containerd', minLength: 1, pattern: '^/', description: "containerd's state directory on the host (its `state` setting), read inside `hostRoot`. A container's bundle (`<dir>/io.containerd.runtime.v2.task/k8s.io/<id>/config.json`, `moby/` for Docker) is what ties a cgroup to a pod. Set it when containerd runs with another state directory (k3s: `/run/k3s/containerd`)" }),
    identity: Type.Boolean({ default: true, description: "Judge what ran by its content as well as its path: each executable is hashed (SHA-256) once per file version, and a learned path with new content nobody vouches for is `proc-modified-binary` (docs/process-identity.md). Needs the live kernel's procfs as `procRoot`" }),
    maxHashBytes: Type.Integer({ default: 512 * 1024 * 1024, minimum: 1024 * 1024, maximum: 64 * 1024 * 1024 * 1024, description: 'Executables larger than this are not hashed: counted, never learned, and `proc-unverified-binary` once their baseline is locked' }),
    hostRole: Type.Union([Type.Literal('auto'), Type.Literal('control-plane'), Type.Literal('worker')], { default: 'auto', description: "Which host baseline this node's processes outside containers use: `control-plane` (`host/control-plane`), `worker` (`host/worker`), or `auto`, decided at start from static pod manifests and control-plane processes running on the host" }),
  }, { default: {}, additionalProperties: false }),
  kubeletProbe: Type.Object({
    enabled: Type.Boolean({ default: true, description: "Probe the kubelet's ports from the node (what `cis-4.2.1` and `cis-4.2.4` add from the wire); docs/privileges.md, \"Network\"" }),
    host: Type.String({ default: '127.0.0.1', minLength: 1, description: "Where the kubelet is probed: the node's loopback needs the host network; the node's own address (`status.hostIP`) works from the pod network" }),
    apiPort: Type.Integer({ default: 10250, minimum: 1, maximum: 65_535, description: "The kubelet's HTTPS port (an unauthenticated `GET /pods` must get 401 or 403)" }),
    readOnlyPort: Type.Integer({ default: 10255, minimum: 1, maximum: 65_535, description: "The kubelet's read-only port, which must refuse connections" }),
    timeoutMs: Type.Integer({ default: 2000, minimum: 50, maximum: 30_000, description: 'How long one probe waits for an answer' }),
  }, { default: {}, additionalProperties: false }),
  etcdProbe: Type.Object({
    enabled: Type.Boolean({ default: true, description: "Probe etcd's advertised client URLs on this node without a client certificate and in plain text (what `cis-2.2` and `cis-2.1` add from the wire); needs the host network; docs/privileges.md, \"Network\"" }),
    timeoutMs: Type.Integer({ default: 2000, minimum: 50, maximum: 30_000, description: 'How long one connection waits for an answer' }),
    maxUrls: Type.Integer({ default: 4, minimum: 1, maximum: 16, description: 'Client URLs probed at most (two connections each)' }),
  }, { default: {}, additionalProperties: false }),
  exposure: Type.Object({
    enabled: Type.Boolean({ default: true, description: "Read the listening sockets of the host's network namespace (`<procRoot>/1/net/tcp`, `tcp6`, `udp`, `udp6`), find the process holding each (its `/proc/<pid>/fd` links) and its workload, and judge what control-plane and kubelet ports are bound to (docs/exposure.md)" }),
    ranges: Type.Array(Type.Object({
      cidr: Type.String({ minLength: 1, maxLength: 64, description: 'An IPv4 or IPv6 range, `address/prefix`' }),
      class: Type.Union([Type.Literal('loopback'), Type.Literal('link-local'), Type.Literal('private'), Type.Literal('public')], { description: 'The class its addresses have' }),
    }, { additionalProperties: false }), { default: [], maxItems: 256, description: 'Address ranges with the class they have on this network, matched before the built-in ones (loopback, link-local, RFC 1918 and ULA private; everything else public): e.g. `{cidr: 100.64.0.0/10, class: private}` where the shared address space is internal' }),
    externalAddresses: Type.Array(Type.String({ minLength: 1, maxLength: 64 }), { default: [], maxItems: 64, description: "Addresses the node is reached at that are not on its interfaces (a cloud's NAT'd public address), added to the Node object's ExternalIP that the collector sends" }),
    maxListeners: Type.Integer({ default: 4096, minimum: 1, maximum: 65_536, description: 'Listening sockets kept per scan; more are counted, not kept' }),
    walkBudgetMs: Type.Integer({ default: 2000, minimum: 10, maximum: 60_000, description: "How long the walk of the processes' descriptors may take per scan; a walk cut short is counted and its sockets shown without owner" }),
  }, { default: {}, additionalProperties: false }),
  health: Type.Object({
    host: Type.String({ default: '127.0.0.1', description: "Address of the liveness and readiness endpoint (`/healthz`, `/readyz`, `/status`): the node's loopback in the DaemonSet" }),
    port: Type.Integer({ default: 9102, minimum: 0, maximum: 65535, description: 'Port of the liveness/readiness endpoint; 0 picks one' }),
    enabled: Type.Boolean({ default: true, description: 'Serve /healthz and /readyz for the DaemonSet probes' }),
  }, { default: {}, additionalProperties: false }),
  enroll: Type.Object({
    url: Type.String({ default: '', description: "Collector enrollment URL (https://host:7444/v1/enroll); empty means collector.certFile/keyFile are provided, not enrolled" }),
    tokenFile: Type.String({ default: '/var/run/secrets/nodeward/token', description: "The pod's projected ServiceAccount token, presented when enrolling (re-read each time)" }),
    renewAfterFraction: Type.Number({ default: 0.7, minimum: 0.1, maximum: 0.95, description: 'Renew the enrolled certificate after this fraction of its lifetime' }),
  }, { default: {}, additionalProperties: false }),
  log: Type.Object({ level: logLevel('Log level. Logs go to stdout: one JSON line per entry with the level as a name (`"level":"warn"`), or one human line per entry when stdout is a terminal; at `debug` the agent also logs its memory once a minute (`memory`: RSS, V8 heap, external)') }, { default: {}, additionalProperties: false }),
}, { additionalProperties: false });

export type AgentConfig = Static<typeof AgentConfigSchema>;

export function loadAgentConfig(sources: ConfigSources, opts: { needCollector: boolean }): AgentConfig {
  const c = loadConfig(AgentConfigSchema, 'NODEWARD', sources);
  const problems: string[] = [];
  const base = sources.file ? resolve(sources.file, '..') : process.cwd();
  const path = (p: string): string => (p && !isAbsolute(p) ? join(base, p) : p);
  const node = c.node || sources.env?.NODE_NAME || hostname().toLowerCase();
  if (!isValidNodeName(node)) problems.push(`node: ${JSON.stringify(node)} is not a valid Kubernetes node name`);
  for (const [k, v] of [['hostRoot', c.hostRoot], ['procRoot', c.procRoot]] as const) {
    if (!existsSync(v)) problems.push(`${k}: ${v} does not exist`);
  }
  if (c.benchmark !== AUTO_BENCHMARK && !isBenchmarkName(c.benchmark)) {
    problems.push(`benchmark: ${JSON.stringify(c.benchmark)} is not ${AUTO_BENCHMARK} or a known benchmark (${BENCHMARK_NAMES.join(', ')})`);
  }
  const { errors: rangeErrors } = addressClasses(c.exposure.ranges);
  for (const e of rangeErrors) problems.push(`exposure.ranges: ${e}`);
  for (const a of c.exposure.externalAddresses) if (isIP(a) === 0) problems.push(`exposure.externalAddresses: ${JSON.stringify(a)} is not an IPv4 or IPv6 address`);
  const ring = c.processes.ebpfRingBytes;
  if ((ring & (ring - 1)) !== 0) problems.push(`processes.ebpfRingBytes: ${ring} is not a power of two`);
  const collector = { ...c.collector, caFile: path(c.collector.caFile), certFile: path(c.collector.certFile), keyFile: path(c.collector.keyFile) };
  if (opts.needCollector) {
    if (!c.collector.address) problems.push('collector.address: required to run the agent (env NODEWARD_COLLECTOR_ADDRESS)');
    if (!c.collector.insecure) {
      for (const k of ['caFile', 'certFile', 'keyFile'] as const) {
        if (!collector[k]) problems.push(`collector.${k}: required unless collector.insecure is set`);
        // Enrollment writes the certificate and key, and the CA comes from the collector's
        // ConfigMap, which it fills on its first start: with enrollment none need exist yet
        // (the agent retries, saying why, until they do).
        else if (!existsSync(collector[k]) && !c.enroll.url) problems.push(`collector.${k}: ${collector[k]} does not exist`);
      }
      if (c.enroll.url && !/^https:\/\/[^/]/.test(c.enroll.url)) problems.push(`enroll.url: ${JSON.stringify(c.enroll.url)} must be an https:// URL`);
    }
  }
  if (problems.length > 0) throw new ConfigError(problems);
  return Object.freeze({ ...c, node, stateDir: path(c.stateDir), collector, enroll: { ...c.enroll, tokenFile: path(c.enroll.tokenFile) } });
}

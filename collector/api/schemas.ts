// Request and response schemas of the query API. The same schemas validate requests and
// produce the OpenAPI document.
import { Type, type TSchema } from '@sinclair/typebox';
import { FINDING_STATES, SEVERITIES } from '../../proto/domain.js';
import { FINDING_SCOPES, FindingSchema, HistoryEntrySchema } from '../finding.js';
import { ALLOW_CONTENTS, BASELINE_ACTIONS, BASELINE_STATES, DEFAULT_SORT, FINDING_ORDERS, FINDING_SORTS, ITEM_SOURCES, SORT_ORDERS } from '../store/store.js';
import { DIGEST_SOURCES } from '../../proto/exec-identity.js';
import { LISTEN_TEXT_MAX } from '../../proto/listen-item.js';
import { literals, nullable } from '../schema.js';
import { GRANT_FORMS, WILDCARD_FIELDS } from '../posture/grant-forms.js';
import { CAVEATS } from '../posture/who-can.js';
import { EXPOSURE_CLASSES } from '../store/boundary/nodes.js';
import { BENCHMARK_NAME } from '../../proto/benchmark-refs.js';

const Cursor = Type.Optional(Type.String({ maxLength: 2048, description: 'The nextCursor of the previous page (of the same cluster parameter)' }));
const Time = (description: string) => Type.String({ format: 'date-time', description });
const Str = (description: string) => Type.String({ description });
const Int = (description: string) => Type.Integer({ description });
/** The answer of a list route: one page of items, and the cursor of the next. */
export const Page = <T extends TSchema>(item: T, what: string) => Type.Object({
  items: Type.Array(item, { description: `This page's ${what}` }),
  nextCursor: Type.Union([Type.String(), Type.Null()], { description: 'Pass it as cursor for the next page; null on the last page' }),
});

/** Clusters left out of an answer across clusters because their store failed the read. */
const Unreadable = (what: string) => Type.Optional(Type.Array(Type.Object({
  cluster: Str("The cluster's display name"),
  clusterUid: Str("The cluster's uid; empty for a collector without a Kubernetes API"),
}), { description: `With cluster=* only, and only when it happened: the clusters whose store failed this read (a revoked grant, an unreachable database), whose ${what} are left out; the collector's log says why. The others answer as usual` }));

/** The answer of a list route that can span clusters: a page, and the clusters it had to leave out (the walk goes on past them). */
export const PageAcross = <T extends TSchema>(item: T, what: string) => Type.Object({
  ...Page(item, what).properties,
  unreadable: Unreadable(what),
});

/** Which cluster to answer for (collector/api/clusters.ts reads it). */
const ClusterParam = Type.Optional(Type.String({
  minLength: 1, maxLength: 253,
  description: 'The cluster to answer for: the name or the uid of a cluster this collector can read (GET /clusters; a name two clusters share is refused: pass the uid), or `*` for every one of them, grouped by cluster in the order GET /clusters lists them, each in its usual order (a page can then end at a cluster\'s last item, and the last page can be empty); absent: its own cluster',
}));
const clusterNameField = (what: string) => Str(`The cluster ${what} belongs to: its display name (cluster.name in its collector's configuration)`);
const clusterUidField = (what: string) => Str(`The uid of the cluster ${what} belongs to (its kube-system namespace's UID); empty for a collector without a Kubernetes API`);
/** What every item of a list that can span clusters carries. */
const ClusterOf = (what: string) => ({ cluster: clusterNameField(what), clusterUid: clusterUidField(what) });

export const ErrorBody = Type.Object({ error: Type.String({ description: 'Why the call failed, in words: a 400 names the parameter or body field' }) });

/** A page's size: every list takes one, with its own bounds and default. */
const Limit = (maximum: number, dflt: number) => Type.Integer({ minimum: 1, maximum, default: dflt, description: 'Items per page at most' });

export const FindingsQuery = Type.Object({
  scope: Type.Optional(literals(FINDING_SCOPES, 'Only the findings of nodes (node) or of the cluster\'s API objects (cluster: RBAC and the other posture checks)')),
  node: Type.Optional(Type.String({ maxLength: 253, description: 'Only the findings of this node (its name)' })),
  check: Type.Optional(Type.String({ maxLength: 64, description: 'Only the findings of this check (its id, e.g. cis-4.2.1)' })),
  category: Type.Optional(Type.String({ maxLength: 32, description: 'Only the findings of checks in this category' })),
  severity: Type.Optional(literals(SEVERITIES, 'Only the findings of exactly this severity')),
  minSeverity: Type.Optional(literals(SEVERITIES, 'Only the findings of this severity or a higher one')),
  state: Type.Optional(literals(FINDING_STATES, 'Only the findings in this state (any state when absent)')),
  since: Type.Optional(Time('Last seen at or after (RFC 3339)')),
  q: Type.Optional(Type.String({ maxLength: 256, description: 'Substring of subject, title, check or value' })),
  sort: Type.Optional(literals(FINDING_SORTS, `The order of the list (default ${DEFAULT_SORT}), each in its default direction: `
    + `${FINDING_SORTS.map((s) => `${s}, ${FINDING_ORDERS[s].describe}`).join('; ')}. Findings that tie are ordered by when the collector recorded them, in the direction of the order`)),
  order: Type.Optional(literals(SORT_ORDERS, `The direction: ${FINDING_SORTS.map((s) => `${s} ${FINDING_ORDERS[s].defaultOrder}`).join(', ')} by default; the other reverses the whole order`)),
  limit: Limit(1000, 100),
  cursor: Type.Optional(Type.String({ maxLength: 2048, description: 'The nextCursor of the previous page, of the same sort, order and cluster' })),
  cluster: ClusterParam,
}, { additionalProperties: false });

export const Finding = Type.Composite([FindingSchema, Type.Object(ClusterOf('the finding'))]);

export const HistoryEntry = HistoryEntrySchema;

export const FindingDetail = Type.Object({
  ...FindingSchema.properties,
  ...ClusterOf('the finding'),
  history: Type.Array(HistoryEntry, { description: 'Newest first; transitions, and occurrences folded per hour; bounded' }),
});

export const FindingPage = PageAcross(Finding, 'findings');

export const FindingParams = Type.Object({ id: Type.String({ pattern: '^[0-9a-f]{32}$', description: "The finding's id: 32 lowercase hex characters, its fingerprint" }) }, { additionalProperties: false });

export const SuppressBody = Type.Object({
  reason: Type.String({ minLength: 1, maxLength: 1024, description: 'Why the finding is suppressed: shown with it and kept in its history and the audit log' }),
  until: Type.Optional(Time('When the suppression ends by itself (RFC 3339, in the future)')),
}, { additionalProperties: false });

export const NodesQuery = Type.Object({
  stale: Type.Optional(Type.Boolean({ description: 'true: only nodes silent past the stale time; false: only the others' })),
  benchmark: Type.Optional(Type.String({ pattern: BENCHMARK_NAME.source, description: 'Only the nodes whose latest scan was judged under this benchmark, e.g. cis-eks-1.7 (docs/checks.md#benchmarks)' })),
  sort: Type.Optional(Type.Union([Type.Literal('name'), Type.Literal('certExpiry')], {
    description: 'name (default), or certExpiry: the node whose certificate expires first comes first, nodes without certificates last',
  })),
  limit: Limit(5000, 1000),
  cursor: Cursor,
  cluster: ClusterParam,
}, { additionalProperties: false });

export const NodeQuery = Type.Object({
  cluster: ClusterParam,
}, { additionalProperties: false });

export const NodeParams = Type.Object({
  name: Type.String({ minLength: 1, maxLength: 253, pattern: '^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$', description: "The node's name, as Kubernetes names it" }),
}, { additionalProperties: false });

const Certificate = Type.Object({
  path: Str('The certificate file on the host'), notAfter: Str('When it expires (RFC 3339)'),
});

export const Node = Type.Object({
  name: Str("The node's name"), agentVersion: Str("The agent's version; empty when no agent reported"),
  kubeletVersion: Str("The kubelet's version the node reported"), os: Str('Operating system (e.g. linux, with its distribution)'),
  kernel: Str('Kernel release'), arch: Str('CPU architecture (amd64, arm64 ...)'), cpus: Int('CPUs'), memoryBytes: Int('Memory in bytes'),
  certificates: Type.Array(Certificate, { description: 'Certificates the agent inspected, soonest expiry first' }),
  certificatesExpireFirst: Type.Union([Certificate, Type.Null()], {
    description: 'The certificate that expires first; null when none was reported',
  }),
  connected: Type.Boolean({ description: 'Its agent has a stream open to this collector now' }),
  stale: Type.Boolean({ description: 'Silent for longer than nodes.staleAfterSeconds' }),
  firstSeen: Str('When an agent first reported it'), lastSeen: Str('When its agent last reported'),
  execCoverage: Type.String({ description: 'How the agent sees processes: event (exec events) or scan' }),
  execSource: Type.String({ description: "The agent's exec source: ebpf (recorded in the kernel at each exec), netlink (the process connector, then /proc: a process gone before /proc is read is not judged) or scan (periodic scans only); empty before the node reported it, or when its agent watches no processes (processes.enabled false). Anything but ebpf is also an open agent-exec-coverage finding" }),
  execSourceReason: Type.String({ description: 'Why each better exec source did not load, e.g. "ebpf: NO_CAPABILITY: ..."; empty when eBPF runs' }),
  execRingLost: Type.Integer({ description: 'Exec records the kernel could not put in the eBPF ring buffer (also in agentDrops.execEventsLost)' }),
  execFakeContainer: Type.Integer({ description: 'Processes judged as host processes because their cgroup named a container no runtime vouches for (each also a proc-fake-container-cgroup finding); since the agent started' }),
  execHostNamespace: Type.Integer({ description: "Processes judged as host processes because, though in a container's cgroup, they ran in the host's mount namespace; since the agent started" }),
  execBatches: Type.Integer({ description: 'eBPF: batches of exec records the agent read from the ring buffer (0 on netlink or the scan); since the agent started' }),
  hostDocumentsRefused: Type.Object({
    count: Type.Integer({ description: 'Refusals, counted at every fact collection since the agent started (a file refused at every scan counts at every scan)' }),
    lastPath: Type.String({ description: 'The host path of the last document refused (redacted, at most 1024 characters); empty when none was' }),
    lastReason: Type.String({ description: 'The limit it passed: bytes, depth, aliases, elements, alias-expansion or unscannable; empty when none was' }),
  }, { description: "Host documents (the YAML or JSON configuration the checks read) the agent refused before parsing for passing a limit; their checks are error results" }),
  execIdentityFailed: Type.Object({
    count: Type.Integer({ description: 'Executables whose contents the agent could not hash, since it started: each such process was judged by its path only' }),
    lastReason: Type.String({ description: 'The last one\'s reason: gone, too-large, not-regular, changed, unreadable or busy; empty when none failed' }),
  }, { description: 'Process identity (docs/process-identity.md): executables judged without their contents' }),
  execEvents: Type.Integer({ description: "Exec events the agent's source (execSource) delivered, since the agent started; 0 on the scan" }),
  lastScanDurationMs: Type.Integer({ description: "How long the agent's last scan took (collecting the facts and judging them), in milliseconds; 0 before its first scan, or from an agent that predates it" }),
  exposureCuts: Type.Object({
    walkPidLimitHits: Int('Collections whose walk of /proc/<pid>/fd stopped at its process limit with processes left'),
    walkTimeLimitHits: Int('Collections whose walk stopped at its time budget (exposure.walkBudgetMs) with processes left'),
    walkFdLimitHits: Int('Processes whose descriptors were cut at the per-process limit'),
    walkUnreadable: Int('fd directories that could not be read (the process exited, or access was refused)'),
    rowsRefused: Int('Socket table rows refused as not what the kernel writes'),
    listenersDropped: Int("Listening sockets left out by the parser's, the agent's or the wire's bounds"),
    nativeReader: Type.Boolean({ description: "The agent's last walk read descriptors with its native reader (false: the JavaScript reader, no walk yet, or an agent that predates it)" }),
  }, { description: "Where the agent's exposure collector (docs/exposure.md) was cut short, counted at every collection since the agent started (a cut that recurs counts at every scan): a cut walk leaves listeners without their process" }),
  spool: Type.Object({ entries: Int('Entries waiting to be sent'), bytes: Int('Their bytes'), dropped: Int("Findings dropped by the spool's bounds"), rejected: Int('Messages the collector refused as invalid') }, {
    description: "The agent's spool: entries waiting, their bytes, findings dropped by its bounds and messages refused as invalid, since its epoch began",
  }),
  agentDrops: Type.Object({
    total: Type.Integer({ description: 'The sum of the others' }),
    spool: Type.Integer({ description: "Findings dropped by the spool's bounds (spool.dropped)" }),
    rejected: Type.Integer({ description: 'Messages the collector refused as invalid, dropped by the agent (spool.rejected)' }),
    processEventsLost: Type.Integer({ description: 'Unexpected-process occurrences lost because too many findings were pending' }),
    execEventsLost: Type.Integer({ description: 'Exec events dropped because the agent was behind, or by the kernel' }),
    execUnjudged: Type.Integer({ description: 'Processes the agent saw but could not judge: gone before its executable could be read, or no cgroup and no known parent' }),
    baselineItemsDropped: Type.Integer({ description: 'Executables not learned because their baseline was full' }),
    baselineKeysEvicted: Type.Integer({ description: 'Baselines evicted by the bound on baselines' }),
    baselineReportDropped: Type.Integer({ description: 'Baselines or items left out of baseline reports by their bounds' }),
  }, {
    description: 'What the agent reports it lost, as of its latest hello or heartbeat: spool counts since its epoch began, the others since it started. Each value is at most 2^53-1 (a larger one is stored as that)',
  }),
  agentDegraded: Type.Object({
    processEventsCapped: Type.Integer({ description: "Unexpected-process occurrences that waited for the rate limit (sent later inside a finding's count)" }),
    execRecordsPartial: Type.Integer({ description: 'Exec records read after the process had gone (some fields missing)' }),
  }, { description: 'What the agent saw late or in part, not lost; since it started' }),
  findingsRefused: Type.Integer({ description: 'New findings the collector refused: the node was at its open-finding cap' }),
  baselineReportsRefused: Type.Integer({ description: 'Baseline reports from the node the collector refused as invalid' }),
  baselineKeysRefused: Type.Object({
    total: Type.Integer({ description: 'The sum of the others' }),
    notOnNode: Type.Integer({ description: 'Workload baselines the pod watch showed no pod of on the node' }),
    overNodeLimit: Type.Integer({ description: 'New baselines past the node\'s own limit (limits.maxBaselineKeysPerNode)' }),
    centralFull: Type.Integer({ description: 'New baselines while the collector held its limit of baselines' }),
  }, { description: "Baselines in the node's reports the collector did not merge, since the node was first seen" }),
  openFindings: Int('Its open findings'), failingChecks: Int('Checks with an open finding on it'),
  scoredChecks: Type.Object({ passing: Int('Scored checks it passes'), scored: Int('Scored checks judged on it') }, { description: 'The scored checks behind complianceScore' }),
  complianceScore: Type.Union([Type.Number(), Type.Null()], { description: 'passing / scored; null when no scored check was judged' }),
  benchmark: Type.String({ description: 'The benchmark its latest scan was judged under (cis-1.12, cis-eks-1.7 ...: docs/checks.md#benchmarks); empty before its first scan. Its results carry that benchmark\'s controls' }),
  results: Type.Object({ pass: Int('Results that passed'), fail: Int('Results that failed'), warn: Int('Warnings'), skip: Int('Checks that did not apply'), error: Int('Checks that could not judge') }, {
    description: "The node's latest results (one per check and subject) by status, the agent's judgement of itself (agent-exec-coverage) left out. All skip means no check applied: the agent found no kubelet and no control-plane component (not a Kubernetes node)",
  }),
  demo: Type.Boolean({ description: 'A demo node (collector setting nodes.demo, set by `npm start -- --demo`): an agent scanning a fixture host tree, not a real node' }),
  hostLearning: Type.Union([Type.Object({
    key: Type.String({ description: 'The host baseline: host/control-plane or host/worker' }),
    state: Type.Union([Type.Literal('learning'), Type.Literal('locked')], { description: "learning: the host's processes are being learned, none is reported as unexpected yet; locked: a process outside the baseline is a finding" }),
    until: nullable(Type.String({ description: 'When the learning window ends (learning) or ended; null when the agent did not say' })),
    lockedBy: Type.Union([Type.Literal(''), Type.Literal('window'), Type.Literal('operator')], { description: 'How it locked: its window ended, or an operator (or the central baseline) locked it; empty while learning' }),
    reportedAt: Type.String({ description: 'When the agent reported it' }),
  }), Type.Null()], {
    description: "The node's host process baseline as its agent last reported it since the collector started (agents report right after connecting); null when the agent watches no processes or has not reported",
  }),
  source: Type.Union([Type.Literal('agent'), Type.Literal('cluster')], {
    description: 'agent: an agent has reported the node; cluster: known only from the Kubernetes API, no agent has ever reported it (its agent fields are empty, its versions are what the node itself says)',
  }),
  cluster: Type.Union([Type.Object({
    ready: Type.Boolean({ description: 'The node\'s Ready condition is True' }),
    agentExpected: Type.Union([Type.Boolean(), Type.Null()], { description: 'The agent DaemonSet runs a pod on the node, judged as the scheduler would; null: unknown (the DaemonSet could not be read)' }),
    reason: Type.String({ description: 'Why the agent is not expected there (a taint the DaemonSet does not tolerate, Windows, virtual-kubelet, Fargate ...), or why that is unknown; empty when expected' }),
    firstSeen: Type.String({ description: 'When the collector first saw the node in the cluster' }),
  }), Type.Null()], { description: 'What the Kubernetes API says of the node (nodes.watch); null when the collector does not watch nodes or the cluster has no node of that name' }),
  agentMissing: Type.Union([Type.Object({
    findingId: Str('The agent-missing finding'),
    state: Type.Union([Type.Literal('open'), Type.Literal('suppressed')], { description: "The finding's state" }),
    since: Type.String({ description: 'Since when the node has been Ready with the agent expected and no agent reporting' }),
    reason: Type.String({ description: 'Why the agent is missing, as far as the collector can tell (no agent pod on the node, or one that has not connected)' }),
  }), Type.Null()], { description: "The node's agent-missing finding while open or suppressed: a Ready node the agent DaemonSet should run on, from which no agent has reported" }),
  // `cluster` is what the Kubernetes API says of the node (above), so the name is clusterName here.
  clusterName: clusterNameField('the node'),
  clusterUid: clusterUidField('the node'),
});

export const NodePage = PageAcross(Node, 'nodes');

const AddressClass = literals(EXPOSURE_CLASSES, 'loopback, link-local, private or public (ranges as data, overridable in the agent config exposure.ranges); for a wildcard, the most exposed class among the node\'s addresses');

export const NodeExposure = Type.Object({
  scannedAt: Str('When the scan that saw them ran'),
  listeners: Type.Array(Type.Object({
    protocol: literals(['tcp', 'udp'] as const, 'tcp (LISTEN) or udp (bound, unconnected)'),
    address: Str('The bound address; 0.0.0.0 or :: for every address of the node'),
    port: Int('The port'),
    addressClass: AddressClass,
    wildcard: Type.Boolean({ description: 'Bound to every address' }),
    pid: Int('The process holding it; 0 when none was found'),
    exe: Str('Its executable (inside its container for a container process)'),
    baseline: Str("Its workload's baseline key (host/worker, <namespace>/<Kind>/<name>/<container>, container:<id>)"),
    namespace: Str('Its pod\'s namespace; empty on the host'), pod: Str('Its pod; empty on the host'), container: Str('Its container; empty on the host'),
    workload: Str('Its workload as Kind/name; empty on the host'), uid: Int('The socket owner\'s uid'),
  }), { description: 'Listening sockets of the host network namespace (host-network pods share it), by port' }),
  nodeAddresses: Type.Array(Type.Object({
    address: Str('An address of the node'), addressClass: AddressClass,
    source: literals(['interface', 'node'] as const, 'interface: on the node\'s interfaces; node: the Node object\'s ExternalIP or the agent\'s exposure.externalAddresses'),
  }), { description: "The node's own addresses, classified" }),
  listenersDropped: Int('Listeners the agent left out past its bound'),
  unowned: Int('Listeners no process was found for'),
  walkCut: Str("Why the agent's walk of process descriptors stopped early (some owners may be missing); empty when it did not"),
  rowsRefused: Int('Socket table rows the agent could not read'),
}, { description: 'What listens on the node: bound, not necessarily reachable (NodePort and hostPort traffic goes through DNAT rules and opens no socket: it is not here). docs/exposure.md' });

/** One node: the inventory row and what listens on it. */
export const NodeDetail = Type.Composite([Node, Type.Object({
  exposure: nullable(NodeExposure, 'What listens on the node as its latest scan saw it; null when no scan carried it (the agent predates it, or exposure.enabled is off)'),
})]);

export const SummaryQuery = Type.Object({
  state: Type.Union(FINDING_STATES.map((x) => Type.Literal(x)), { default: 'open', description: 'Which findings to count' }),
  top: Type.Integer({ minimum: 1, maximum: 100, default: 10, description: 'Rows in byNode and topChecks' }),
  cluster: ClusterParam,
}, { additionalProperties: false });

const BySeverity = Type.Object(Object.fromEntries(SEVERITIES.map((s) => [s, Int(`Findings of severity ${s}`)])) as Record<(typeof SEVERITIES)[number], ReturnType<typeof Type.Integer>>, { description: 'Findings by severity' });

const SummaryFields = {
  state: literals(FINDING_STATES, 'The state of the findings counted'),
  generatedAt: Str('When the summary was computed'),
  nodes: Type.Object({ total: Int('Nodes known'), connected: Int('Nodes whose agent is connected'), stale: Int('Nodes silent past the stale time') }, { description: 'Nodes' }),
  compliance: Type.Object({
    score: Type.Union([Type.Number(), Type.Null()], { description: 'Passing scored checks / scored checks, across all nodes' }),
    passing: Int('Scored checks passing, all nodes together'), scored: Int('Scored checks judged, all nodes together'),
    byBenchmark: Type.Array(Type.Object({
      benchmark: Str('The benchmark, e.g. cis-eks-1.7'),
      nodes: Int('Nodes whose latest scan was judged under it'),
      score: Type.Union([Type.Number(), Type.Null()], { description: 'Their passing scored checks / scored checks; null when none was judged' }),
      passing: Int('Their scored checks passing'), scored: Int('Their scored checks judged'),
    }), { description: 'The same per benchmark the nodes are judged under (a node judged under CIS EKS counts under cis-eks-1.7), by name' }),
  }, { description: "The cluster's compliance score" }),
  findings: Type.Object({
    total: Int('Findings in this state'), bySeverity: BySeverity,
    byCategory: Type.Record(Type.String(), Type.Integer(), { description: 'Findings by category' }),
  }, { description: 'Findings in this state' }),
  cluster: Type.Object({ total: Int('Cluster findings in this state'), bySeverity: BySeverity }, { description: 'Cluster findings (RBAC and the other posture checks, about API objects): counted in findings too, never in byNode' }),
  byNode: Type.Array(Type.Object({ node: Str('The node'), ...ClusterOf('the node'), total: Int('Its findings in this state'), bySeverity: BySeverity }), { description: 'The nodes with the most findings, at most top' }),
  topChecks: Type.Array(Type.Object({
    checkId: Str('The check'), title: Str("The check's title"), category: Str("The check's category"), severity: literals(SEVERITIES, "The check's severity"),
    nodes: Type.Integer({ description: 'Nodes it fails on' }), findings: Int('Its findings in this state'),
  }), { description: 'Failing checks (not warnings) with findings in this state on the most nodes' }),
};

/** One cluster's own summary, in the summary across clusters. */
export const ClusterSummary = Type.Object({
  uid: Str("The cluster's uid (its kube-system namespace's UID); empty for a collector without a Kubernetes API"),
  name: Str("The cluster's display name"),
  own: Type.Boolean({ description: "This collector's own cluster (the only one it writes)" }),
  summary: Type.Object(SummaryFields, { description: 'Its summary, as GET /summary?cluster=<its uid> answers it' }),
});

export const Summary = Type.Object({
  ...SummaryFields,
  clusters: Type.Optional(Type.Array(ClusterSummary, {
    description: 'With cluster=* only: each cluster\'s own summary, in fleet order (the collector\'s own first). The counts above are then their sums; byNode and topChecks are ranked across clusters (a check\'s nodes summed over them)',
  })),
  unreadable: Unreadable('counts'),
});

const ClusterCounts = {
  nodes: Type.Object({ total: Int('Nodes known'), connected: Int('Nodes whose agent is connected to its collector') }, { description: 'Nodes' }),
  openFindings: Type.Object({ total: Int('Open findings'), bySeverity: BySeverity }, { description: 'Open findings (node and cluster findings), by severity' }),
  unexpectedProcesses: Int('Open unexpected processes (open proc-unexpected findings: the rows of GET /processes/unexpected)'),
};

export const ClustersQuery = Type.Object({
  counts: Type.Boolean({ default: true, description: 'false: the clusters alone, without their counts or readable (no store is read: what a cluster selector needs)' }),
}, { additionalProperties: false });

export const ClusterList = Type.Object({
  items: Type.Array(Type.Object({
    uid: Str("The cluster's uid (its kube-system namespace's UID); empty for a collector without a Kubernetes API: pass its name then"),
    name: Str("The cluster's display name (cluster.name in its collector's configuration)"),
    own: Type.Boolean({ description: "This collector's own cluster: the only one it writes (suppress, allow, delete); ask another cluster's collector to change that cluster" }),
    readable: Type.Optional(Type.Boolean({ description: "Its store answered this time. false: another cluster's store failed the read (a revoked grant, an unreachable database); its counts are zeros and left out of totals, and the collector's log says why. Absent with counts=false" })),
    nodes: Type.Optional(ClusterCounts.nodes),
    openFindings: Type.Optional(ClusterCounts.openFindings),
    unexpectedProcesses: Type.Optional(ClusterCounts.unexpectedProcesses),
  }), { description: 'Every cluster this collector can read, its own first, then the others by name, then uid; with their counts unless counts=false' }),
  totals: Type.Optional(Type.Object(ClusterCounts, { description: 'The same counts summed over every readable cluster; absent with counts=false' })),
});

export const AuditQuery = Type.Object({
  actor: Type.Optional(Type.String({ maxLength: 64, description: 'Only the records of this caller (a token name)' })),
  action: Type.Optional(Type.String({ maxLength: 64, description: 'Only the records of this action, e.g. finding.suppress' })),
  target: Type.Optional(Type.String({ maxLength: 253, description: 'Only the records of calls on this target (a finding id, a node name, a baseline key)' })),
  since: Type.Optional(Time('At or after (RFC 3339)')),
  limit: Limit(1000, 100),
  cursor: Cursor,
}, { additionalProperties: false });

export const AuditRecord = Type.Object({
  id: Int('The record (newest first)'), at: Str('When the call was made'), actor: Str('The token name that called; empty for a caller nobody authenticated'),
  role: Str("The caller's role; empty for a caller nobody authenticated"), action: Str('What was asked, e.g. finding.suppress, baseline.allow, ui.login, api.auth'),
  target: Str('What it acted on: a finding id, a node name, a baseline key'), detail: Type.Record(Type.String(), Type.Unknown(), { description: 'What the call carried that matters (a reason, executables, a refusal reason)' }),
  status: Int('The HTTP status it was answered with'), remote: Str('The source address'),
  count: Type.Integer({ description: 'Calls the record stands for: 1, except for refusals of unauthenticated callers, which are one record per source, action, reason and hour' }),
  lastAt: Type.String({ description: 'The last of them (at is the first)' }),
});

export const AuditPage = Page(AuditRecord, 'audit records');

/** A baseline key part: a namespace, a workload kind or name, a container name. */
const KEY_PART = '[A-Za-z0-9][A-Za-z0-9._-]{0,252}';

export const ProcessesQuery = Type.Object({
  node: Type.Optional(Type.String({ minLength: 1, maxLength: 253, description: 'Only the processes of this node (its name)' })),
  namespace: Type.Optional(Type.String({ pattern: `^${KEY_PART}$`, description: 'Only processes in pods of this namespace' })),
  workload: Type.Optional(Type.String({ pattern: `^(${KEY_PART}/)?${KEY_PART}$`, description: 'Only this workload: Kind/name (Deployment/web) or a name of any kind' })),
  state: Type.Union(FINDING_STATES.map((x) => Type.Literal(x)), { default: 'open', description: 'State of the findings behind the rows: open (default), resolved (the executable was allowed) or suppressed' }),
  since: Type.Optional(Time('Last seen at or after (RFC 3339)')),
  limit: Limit(1000, 100),
  cursor: Cursor,
  cluster: ClusterParam,
}, { additionalProperties: false });

export const UnexpectedProcess = Type.Object({
  ...ClusterOf('the process'),
  id: Type.String({ description: 'The proc-unexpected finding behind the row' }),
  node: Str('The node it ran on'), state: literals(FINDING_STATES, "The finding's state"), severity: literals(SEVERITIES, "The finding's severity"),
  baseline: Type.String({ description: 'host/control-plane, host/worker (host from older agents), <namespace>/<Kind>/<name>/<container>, or container:<id>' }),
  executable: Str('The executable (absolute path)'), exeDeleted: Type.Boolean({ description: 'The executable had been deleted from disk while it ran' }),
  namespace: Str("The pod's namespace; empty on the host"), workload: Type.String({ description: 'Kind/name; empty on the host' }), container: Str('The container name; empty on the host'),
  containerId: Str('The container id; empty on the host'), pod: Str('The pod name; empty on the host'),
  pid: Type.Union([Type.Integer(), Type.Null()], { description: 'Of the last occurrence' }),
  user: Str('The user it ran as'), cmdline: Type.String({ description: 'As the node reported it: redacted, escaped and bounded by the agent; untrusted' }),
  parents: Type.Array(Type.String(), { description: 'Executables of the parent, grandparent, ... up to the container boundary' }),
  seen: Type.String({ description: 'How the last occurrence was seen: event or scan' }), partial: Type.Boolean({ description: 'The last occurrence was read after the process had gone: some fields missing' }),
  firstSeen: Str('When it was first seen'), lastSeen: Str('When it was last seen'), count: Type.Integer({ description: 'Occurrences, all told' }),
});

export const UnexpectedProcessPage = PageAcross(UnexpectedProcess, 'unexpected processes');

// --- Central baselines ---------------------------------------------------------------------

const BaselineKeyText = Type.String({ minLength: 1, maxLength: 1100, description: 'host/control-plane, host/worker (host from older agents), <namespace>/<Kind>/<workload>/<container> or container:<id>' });

export const BaselinesQuery = Type.Object({
  key: Type.Optional(BaselineKeyText),
  namespace: Type.Optional(Type.String({ maxLength: 253, description: 'Only the baselines of workloads in this namespace' })),
  workload: Type.Optional(Type.String({ maxLength: 253, description: "The workload's name" })),
  state: Type.Optional(literals(BASELINE_STATES, 'Only the baselines in this state')),
  chargedTo: Type.Optional(Type.String({ minLength: 1, maxLength: 253, description: "Only the baselines charged to this node's own limit" })),
  limit: Limit(100, 20),
  cursor: Cursor,
}, { additionalProperties: false });

export const Baseline = Type.Object({
  key: Str('host/control-plane, host/worker, <namespace>/<Kind>/<workload>/<container> or container:<id>'), namespace: Str("The workload's namespace; empty for the host"),
  workload: Type.Union([Type.Object({ kind: Str('Its kind (Deployment, DaemonSet ...)'), name: Str('Its name') }), Type.Null()], { description: 'The workload; null for the host and for a container no pod claims' }),
  container: Str('The container name; empty for the host'), state: literals(BASELINE_STATES, 'learning: executables seen are learned; locked: one outside it is a finding'),
  lockedBy: Type.Union([Type.Literal('operator'), Type.Literal('node'), Type.Null()], { description: 'Who locked it: an operator, or a node whose learning window ended; null while learning' }),
  lockedByName: Type.String({ description: 'The operator (token name) or the node that locked it' }),
  lockedAt: Type.Union([Type.String(), Type.Null()], { description: 'When it locked; null while learning' }),
  version: Int('Goes up with every change; agents adopt a version'), createdAt: Str('When it was created'), updatedAt: Str('When it last changed'),
  items: Type.Array(Type.Object({
    path: Str('The executable (absolute path)'), source: literals(ITEM_SOURCES, 'How it joined the baseline'),
    addedBy: Str('The node that taught it first, or the operator who allowed it'), firstSeen: Str('When it joined'), lastSeen: Str('When a node last reported it'),
    taughtBy: Type.Array(Type.String(), { description: 'Nodes that taught it (the first 32)' }),
    singleNode: Type.Boolean({ description: 'Exactly one node ever taught it' }),
    anyContent: Type.Boolean({ description: 'An operator allowed it with any content: its contents are not judged' }),
    inlineCode: Type.Boolean({ description: 'The interpreter ran inline code (-c, -e, ...) while the baseline learned: its inline code is not a finding' }),
    digests: Type.Array(Type.Object({
      sha256: Type.String({ description: 'SHA-256 of the content, 64 lowercase hex characters' }),
      source: literals(DIGEST_SOURCES, 'How it joined: learned, startup, operator, package (an upgrade the node\'s package manager recorded), image (the first content of a new container image), first-sight (the first content of an item from before contents)'),
      image: Type.String({ description: 'The container image it ran in; empty on the host' }),
      addedBy: Type.String({ description: 'The node that taught it first, or the operator who allowed it' }),
      firstSeen: Str('When it joined'), lastSeen: Str('When a node last reported it'),
      taughtBy: Type.Array(Type.String(), { description: 'Nodes that taught it (the first 32)' }),
    }), { description: 'The contents that ran at this path and belong to the baseline (at most 8; none: the item predates contents, and agents learn its first on first sight)' }),
  }), { description: 'The executables it allows' }),
  removed: Type.Array(Type.Object({ path: Str('The executable'), removedBy: Str('The operator who removed it'), removedAt: Str('When') }), { description: 'Executables an operator removed: never learned again until allowed' }),
  itemsDropped: Type.Integer({ description: 'Items nodes reported beyond the per-baseline bound' }),
  chargedTo: Type.String({ description: "The node whose own limit on baselines it counts against: it created it, and the pod watch could not vouch for it ('' for none)" }),
  listens: Type.Array(Type.Object({
    listen: Str('`<tcp|udp>/<address>:<port>` as bound (`tcp/0.0.0.0:8080`, `udp/[::]:53`), or an operator\'s `<tcp|udp>/<class>:<port>` (`tcp/private:9090`: the port on any address of the class)'),
    source: literals(['learned', 'operator'] as const, 'learned: a node reported it; operator: an operator allowed it'),
    firstNode: Str('The node that first reported it, or the operator who allowed it'),
    firstSeen: Str('When it was first reported (allowed)'), lastSeen: Str('When it was last reported'),
  }), { description: "What the baseline's processes listened on while it learned, on any node, and the listens operators allowed (at most 256; docs/exposure.md); once locked, a listener outside them is exposure-new-listener. Agents adopting the baseline take the whole set" }),
});

export const BaselineDeleteBody = Type.Object({ key: BaselineKeyText }, { additionalProperties: false });

export const BaselineDeleteResult = Type.Object({ key: Str('The baseline'), deleted: Type.Boolean({ description: 'Always true (a baseline that is not there is a 404)' }) });

export const NodeDeleteResult = Type.Object({
  node: Str('The node deleted'),
  findingsResolved: Type.Integer({ description: "The node's open and suppressed findings, now resolved" }),
  baselinesDeleted: Type.Integer({ description: 'Baselines charged to the node that no other node taught and no operator changed' }),
});

export const BaselinePage = Page(Baseline, 'baselines');

export const BaselineChangeBody = Type.Object({
  key: BaselineKeyText,
  executables: Type.Optional(Type.Array(Type.String({ minLength: 1, maxLength: 1024 }), { maxItems: 100, description: 'Absolute paths (allow and remove)' })),
  content: Type.Optional(literals(ALLOW_CONTENTS, 'allow only: what of each executable is allowed. seen (the default): the contents (SHA-256) its open proc-unexpected and proc-modified-binary findings saw (409 when none did); any: any content at that path')),
}, { additionalProperties: false });

export const BaselineAllowListenBody = Type.Object({
  key: BaselineKeyText,
  listen: Type.String({ minLength: 1, maxLength: LISTEN_TEXT_MAX, description: 'The listen to allow: `<tcp|udp>/<address>:<port>` (an IPv6 address in brackets: `tcp/0.0.0.0:8080`, `udp/[::1]:53`), or `<tcp|udp>/<class>:<port>` for the port on any address of a class (loopback, link-local, private, public; a socket bound to every address has the most exposed class of its node\'s addresses)' }),
}, { additionalProperties: false });

export const BaselineAllowListenResult = Type.Object({
  key: Str('The baseline changed'), listen: Str('The listen allowed, as stored (an IPv6 address in its canonical text)'),
  version: Int('Its version after the change'), pushed: Type.Integer({ description: 'Connected agents the change was pushed to' }),
  baseline: Type.Object(Baseline.properties, { description: 'The baseline after the change' }),
});

export const BaselineChangeResult = Type.Object({
  action: literals(BASELINE_ACTIONS, 'The change made'), key: Str('The baseline changed'), version: Int('Its version after the change'),
  pushed: Type.Integer({ description: 'Connected agents the change was pushed to' }),
  baseline: Type.Object(Baseline.properties, { description: 'The baseline after the change' }),
});

// --- Cluster posture -----------------------------------------------------------------------

/** Bounds of who-can's fields: Kubernetes names are at most 253 characters, namespaces 63. */
export const WhoCanQuery = Type.Object({
  verb: Type.String({ minLength: 1, maxLength: 64, description: 'The verb: get, list, watch, create, update, patch, delete, deletecollection, or another a rule may name (escalate, bind, impersonate, approve, use); * asks who holds the verb *' }),
  resource: Type.Optional(Type.String({ maxLength: 253, description: 'The resource, plural and lowercase (pods, secrets, deployments); give it or nonResourceURL' })),
  subresource: Type.Optional(Type.String({ maxLength: 253, description: 'The subresource (exec, log, scale, proxy, token, approval); absent for the resource itself' })),
  apiGroup: Type.Optional(Type.String({ maxLength: 253, description: 'The API group: empty or absent for the core group (pods, secrets), apps, batch, rbac.authorization.k8s.io ...' })),
  namespace: Type.Optional(Type.String({ maxLength: 63, description: 'The namespace; absent for a cluster-scoped resource or for every namespace at once (then only ClusterRoleBindings grant)' })),
  name: Type.Optional(Type.String({ maxLength: 253, description: "The object's name: a rule limited by resourceNames grants only the objects it names; absent for list, create and other requests without a name" })),
  nonResourceURL: Type.Optional(Type.String({ maxLength: 1024, description: 'A path that is not a resource (/metrics, /healthz, /logs/x), instead of resource; it takes no apiGroup, subresource, namespace or name' })),
}, { additionalProperties: false });

const RbacRef = (description: string, cluster: string, namespaced: string) => Type.Object({
  kind: Str(`${cluster} or ${namespaced}`),
  namespace: Str(`Its namespace; empty for a ${cluster}`),
  name: Str('Its name'),
}, { description });

const Strings = (description: string) => Type.Array(Type.String(), { description });

export const WhoCanAnswer = Type.Object({
  request: Type.Object({
    verb: Str('The verb asked about'), apiGroup: Str('The API group; empty for the core group'), resource: Str('The resource; empty for a non-resource request'),
    subresource: Str('The subresource; empty for none'), namespace: Str('The namespace; empty for cluster-scoped or every namespace'),
    name: Str("The object's name; empty for none"), nonResourceURL: Str('The non-resource path; empty for a resource request'),
  }, { description: 'The request answered, each field absent from the query as empty' }),
  subjects: Type.Array(Type.Object({
    subject: Type.Object({
      kind: literals(['User', 'Group', 'ServiceAccount'], 'User, Group or ServiceAccount'),
      name: Str('The user, group or ServiceAccount name, as the binding names it (untrusted text)'),
      namespace: Str("The ServiceAccount's namespace; empty for users and groups"),
    }, { description: 'Who is granted it, as a binding names them' }),
    means: Str('Who the subject stands for when Kubernetes fills the group or names the user (e.g. every ServiceAccount in namespace shop); empty otherwise'),
    grants: Type.Array(Type.Object({
      binding: RbacRef('The binding that grants it', 'ClusterRoleBinding', 'RoleBinding'),
      role: RbacRef('The role the binding refers to', 'ClusterRole', 'Role'),
      ruleIndex: Int("The rule's index in the role's rules, as served"),
      rule: Type.Object({
        verbs: Strings('Verbs'), apiGroups: Strings('API groups (empty string: the core group)'), resources: Strings('Resources'),
        resourceNames: Strings('Object names it is limited to; empty: any object'), nonResourceURLs: Strings('Non-resource paths'),
      }, { description: 'The rule that grants it, as served' }),
      namespace: Str("Where the grant holds: the RoleBinding's namespace; empty for a ClusterRoleBinding, which grants everywhere"),
      forms: Type.Array(literals(GRANT_FORMS), {
        description: 'How the grant reaches the request: resourceNames (the rule names the object), subresource (it names the subresource), wildcard (a * matched, see wildcards), '
          + 'roleBindingToClusterRole (a RoleBinding lends a ClusterRole in its namespace), serviceAccountGroup (the subject is system:serviceaccounts or system:serviceaccounts:<ns>), nonResourceURL',
      }),
      wildcards: Type.Array(literals(WILDCARD_FIELDS), { description: 'The rule lists whose * (or */subresource, or a path ending in *) matched where the requested value is not listed' }),
    }), { description: 'Every binding and rule that grants it, by binding then rule' }),
  }), { description: 'The subjects RBAC grants the request to, sorted by kind and name; empty when no binding grants it' }),
  caveats: Type.Array(Type.Object({
    id: literals(CAVEATS.map((c) => c.id), 'system-masters, node-authorizer, other-authorizers or identities'),
    text: Str('What RBAC objects cannot show, in words'),
  }), { description: 'What an answer from RBAC alone cannot see: the same in every answer' }),
});

export const PostureStatus = Type.Object({
  enabled: Type.Boolean({ description: "The collector watches the cluster's RBAC objects; false when it runs without the Kubernetes API (who-can answers 503)" }),
  synced: Type.Boolean({ description: 'Every RBAC kind has been listed in full: who-can answers from all of them' }),
  kinds: Type.Array(Type.Object({
    kind: Str('ClusterRole, Role, ClusterRoleBinding or RoleBinding'),
    synced: Type.Boolean({ description: 'Its first list has been read in full' }),
    objects: Int('Objects of the kind held'),
    refused: Int('Objects of the kind refused as unreadable (each grants nothing); counted'),
  }), { description: 'Per RBAC kind; empty when posture is off' }),
});

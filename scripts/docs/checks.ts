// docs/checks.md, rendered from the check catalog (agent/checks/: CATALOG, read through
// describe.ts), the process checks (agent/processes/findings.ts), the agent's exec coverage
// check and the collector's agent-stale finding. Checks are grouped by category, in catalog
// order. A check's benchmark references are the catalog's (CheckMeta.references: every control
// it decides, `cis-1.12:4.2.1`); the process checks and agent-stale name none.
import { CATALOG } from '../../agent/checks/index.js';
import { checkExpects, checkReads } from '../../agent/checks/describe.js';
import { EXEC_COVERAGE } from '../../agent/checks/exec-coverage.js';
import { PROCESS_CHECKS } from '../../agent/processes/findings.js';
import { CIS_BENCHMARK as BENCHMARK } from '../../proto/benchmark-refs.js';
import { AGENT_STALE } from '../../collector/pipeline/commit.js';
import { postureCheckEntries } from '../../collector/posture/describe.js';
import { code, slug, table, text } from './markdown.js';
import { benchmarksMarkdown } from './benchmarks.js';

export interface CheckEntry {
  readonly id: string;
  readonly title: string;
  readonly category: string;
  readonly severity: string;
  /** true: a failure is `fail`; false: manual, a failure is `warn`; null: not a scan check. */
  readonly scored: boolean | null;
  readonly references: readonly string[];
  readonly reads: string;
  readonly expects: string | null;
  readonly remediation: string;
  /** Who raises it, when not the agent's scan. */
  readonly raisedBy: string;
}

const severityName = (s: string): string => s.replace(/^SEVERITY_/, '').toLowerCase();

/** Every check nodeward can report, in reference order. */
export function checkEntries(): CheckEntry[] {
  const scan: CheckEntry[] = CATALOG.map((c) => ({
    id: c.id, title: c.title, category: c.category, severity: c.severity, scored: c.scored, references: [...c.references],
    reads: checkReads(c), expects: checkExpects(c), remediation: c.remediation, raisedBy: '',
  }));
  const processes: CheckEntry[] = PROCESS_CHECKS.map((c) => ({
    id: c.id, title: c.title, category: c.category, severity: severityName(c.severity), scored: null, references: [],
    reads: c.reads, expects: null, remediation: c.remediation, raisedBy: "the agent's process monitor",
  }));
  const agent: CheckEntry[] = [
    {
      id: EXEC_COVERAGE.id, title: EXEC_COVERAGE.title, category: EXEC_COVERAGE.category, severity: EXEC_COVERAGE.severity, scored: EXEC_COVERAGE.scored,
      references: [...EXEC_COVERAGE.references], reads: EXEC_COVERAGE.reads, expects: null, remediation: EXEC_COVERAGE.remediation, raisedBy: "the agent, in its scan reports",
    },
    {
      id: AGENT_STALE.id, title: AGENT_STALE.title, category: AGENT_STALE.category, severity: AGENT_STALE.severity, scored: null,
      references: [], reads: AGENT_STALE.reads, expects: null, remediation: AGENT_STALE.remediation, raisedBy: 'the collector',
    },
  ];
  const posture: CheckEntry[] = postureCheckEntries().map((c) => ({
    id: c.id, title: c.title, category: c.category, severity: c.severity, scored: null, references: [...c.references],
    reads: c.reads, expects: null, remediation: c.remediation, raisedBy: 'the collector, from the Kubernetes API, as a cluster finding',
  }));
  return [...scan, ...processes, ...agent, ...posture];
}

/** Sections in this order; a category not named here comes after them, under its own name. */
const CATEGORY_ORDER = ['control-plane', 'etcd', 'kubelet', 'host', 'version', 'certificate', 'process', 'agent', 'rbac', 'pod-security', 'network-policy', 'secrets', 'general', 'namespace'];

const CATEGORY_TITLES: Readonly<Record<string, string>> = {
  'control-plane': 'Control plane',
  etcd: 'etcd',
  kubelet: 'Kubelet and kube-proxy',
  host: 'Host',
  version: 'Kubernetes version',
  certificate: 'Certificates and keys',
  process: 'Processes',
  agent: 'The agent itself',
  rbac: 'Cluster posture: RBAC and service accounts',
  'pod-security': 'Cluster posture: Pod Security',
  'network-policy': 'Cluster posture: network policies',
  secrets: 'Cluster posture: Secrets',
  general: 'Cluster posture: general policies',
  namespace: 'Cluster posture: namespaces',
};

const CATEGORY_PROSE: Readonly<Record<string, string>> = {
  'control-plane': `These checks find the components by their program name (argv[0]: \`kube-apiserver\`,
\`kube-controller-manager\`, \`kube-scheduler\`, \`etcd\`, \`hyperkube <component>\`), never by a
text search. (\`grep etcd\` also matches the API server's \`--etcd-*\` flags.) When a component
is not running, they read the static pod manifests the kubelet runs: its \`staticPodPath\`,
then the distribution's directory.

They judge the effective value:

- the last occurrence of a flag, in either form (\`--flag value\` or \`--flag=value\`);
- booleans as Go's flag parser reads them (\`--profiling false\` is \`true\`);
- kube-scheduler's \`--config\`, and the structured \`--authorization-config\` and
  \`--authentication-config\`;
- lists element by element (\`Node\` is not \`NodeRestriction\`);
- each component's real default (the controller manager and scheduler listen on
  \`0.0.0.0\` without \`--bind-address\`).

Paths a static pod names are translated through its hostPath mounts before they are read.
The encryption configuration is reduced to its structure as it is read: its keys reach no
fact, log or report. The audit policy is walked rule by rule, as the API server matches
requests (the first matching rule wins).

Encryption at rest goes past the first provider. Every aescbc and aesgcm key must decode to
32 bytes: a 16- or 24-byte key fails. secretbox needs 32. A secret that is not valid base64
is an \`error\`. A kms provider without \`apiVersion: v2\` is a \`warn\`. The configuration file
holds the keys, so it must be mode 600 or stricter and owned by root. Only the decoded length
of each key is kept, never a key.

Where host paths live is data (\`agent/facts/layouts.ts\`: kubeadm, k3s, rke2). On k3s, a
single \`k3s server\` process sets most component flags internally. A value given through
\`--kube-apiserver-arg\` or \`/etc/rancher/k3s/config.yaml\` (and \`config.yaml.d\`, where
\`key+\` appends) is judged. Anything else is a \`warn\` that says it cannot be seen, never a
guess. On a node without a component, its checks are \`skip\`, with the reason.`,
  etcd: `etcd's flags are read like the other components', plus its \`ETCD_*\` variables (only
those are kept from its environment) and its \`--config-file\`, which makes etcd ignore every
flag.

What etcd does is also checked on the wire, as part of the checks of its settings (one
problem, one result). For each client URL etcd advertises on this node (loopback,
\`localhost\` or the node's own addresses, as written; at most \`etcdProbe.maxUrls\`), the
agent opens a TLS connection that presents no client certificate, and a plain-text
connection, and asks \`GET /version\` on each. It never presents a certificate, key or token
it finds on the host.

- \`cis-2.2\` fails as critical when etcd answers the connection without a certificate, whatever
  its flags say, and when neither \`--client-cert-auth\` nor a \`--trusted-ca-file\` is set
  (etcd then asks nobody for one). etcd requires client certificates when either is set, so
  the wire can pass where the flag CIS 2.2 asks for is missing; the result still fails on the
  flag.
- \`cis-2.1\` fails as critical when etcd answers in clear text.

What the probe sees otherwise (a refusal, a URL that cannot be reached, names another machine
or is a host name) joins the result's reason; it never makes a failing setting pass. With
\`--no-probe\` (or \`etcdProbe.enabled: false\`) the settings alone decide.

\`cis-2.3\` and \`cis-2.6\` say what etcd does with auto TLS, and whether a certificate of its
own shadows it today. \`cis-2.7\` compares etcd's trusted CA with the cluster CA and the API
server's client CA by content (SHA-256 of each certificate), not only by path.`,
  kubelet: `Worker checks (CIS 4.1, 4.2, 4.3) judge what the kubelet and kube-proxy really use:

- the kubelet's systemd unit and every drop-in systemd applies;
- the client CA from \`--client-ca-file\` or the config file;
- kube-proxy's kubeconfig and metrics address, from its own flags or \`--config\` (read
  inside its pod's root);
- Go durations (\`0s\` on the command line turns the streaming timeout off);
- the parsed \`--feature-gates\` map;
- the kubelet's real defaults (\`rotateCertificates\` and \`seccompDefault\` off,
  \`podPidsLimit\` -1). With \`--config\`, the config file's defaults apply (anonymous auth
  off); without it, the flag defaults.

When no kubelet process is visible (the agent does not share the host's PID namespace), the
kubelet is taken from the command line its unit starts (\`ExecStart=\`, expanded with
\`Environment=\` and \`EnvironmentFile=\`), and every result says so.

\`cis-4.2.1\` and \`cis-4.2.4\` also ask the kubelet's ports themselves (\`kubeletProbe.*\`
settings). An anonymous \`GET /pods\` the kubelet answers fails \`cis-4.2.1\` as critical, and
a read-only port that accepts a connection fails \`cis-4.2.4\` as high, whatever the settings
say. What the probe sees otherwise joins the reason; with \`--no-probe\` the settings alone
decide.

On a kubeadm control plane the kubelet's client CA is the PKI's \`ca.crt\`. There
\`cis-1.1.20\` and \`cis-1.1.19\` judge it, carrying \`cis-1.12:4.1.7\` and \`cis-1.12:4.1.8\`,
and \`cis-4.1.7\` and \`cis-4.1.8\` skip the file and say so.`,
  version: `The table of supported releases is \`agent/checks/catalog/k8s-versions.ts\`: keep it current.`,
  certificate: `Certificate checks judge the files themselves, one result per file; the file's host path is
the subject. The files are:

- every certificate and key etcd names (\`--cert-file\`, \`--key-file\`, \`--trusted-ca-file\`
  and the \`--peer-*\` ones, from flags, \`ETCD_*\` variables or its \`--config-file\`);
- the API server's etcd client, serving, kubelet client and front-proxy pairs and CA files;
- the controller manager's signing CA;
- the kubelet's serving pair, client CA and the certificates it rotates into its
  \`--cert-dir\`;
- every \`*.crt\`, \`*.pem\` and \`*.key\` under the PKI directories (at most 256 files).

A file a flag names that is missing is an \`error\` that says so. Leaf keys are read only to
learn whether they match their certificate: one boolean is kept, and the bytes are zeroed.
CA and service-account keys are stat'ed and never opened. A renewal that never came turns a
\`cert-expiry\` warning into a critical, \`escalated\` finding.`,
  process: `The agent watches processes against a learned whitelist, one baseline per workload
container and one for the host ([architecture.md](architecture.md#processes-and-baselines)).
These findings come from that watch, not from the scan. What is checked and how to answer:
[process-identity.md](process-identity.md) and [interpreters.md](interpreters.md).`,
  agent: `Findings about nodeward's own view of the node.`,
  rbac: `The collector judges these from the API server's objects, read-only, and raises cluster
findings (\`scope: cluster\`, no node); what a fresh kubeadm cluster and nodeward hold on purpose is
reported as expected, with the reason. See [cluster-posture.md](cluster-posture.md), which also
covers who-can and what RBAC cannot see.`,
};

const scoredText = (s: boolean | null): string =>
  s === null ? '' : s ? 'scored: a failure is `fail`' : 'manual: a failure is `warn`, for a person to review';

function entrySection(e: CheckEntry): string {
  const facts = [
    `Severity: ${code(e.severity)}`,
    scoredText(e.scored),
    e.references.length > 0 ? `references: ${e.references.map(code).join(', ')}` : '',
    e.raisedBy ? `raised by ${e.raisedBy}` : '',
  ].filter(Boolean).join('; ');
  return [
    `### ${e.id}`,
    '',
    `**${text(e.title)}**`,
    '',
    `${facts}.`,
    '',
    `- Reads: ${text(e.reads)}`,
    ...(e.expects ? [`- Expects: ${text(e.expects)}`] : []),
    `- Remediation: ${text(e.remediation)}`,
    '',
  ].join('\n');
}

export function checksMarkdown(entries: readonly CheckEntry[] = checkEntries()): string {
  const ids = new Set<string>();
  const anchors = new Set<string>();
  for (const e of entries) {
    if (ids.has(e.id)) throw new Error(`check ${e.id} is listed twice`);
    if (anchors.has(slug(e.id))) throw new Error(`check ${e.id} has the same anchor as another check`);
    ids.add(e.id);
    anchors.add(slug(e.id));
  }
  const categories = [...CATEGORY_ORDER.filter((c) => entries.some((e) => e.category === c)), ...[...new Set(entries.map((e) => e.category))].filter((c) => !CATEGORY_ORDER.includes(c))];
  const sections = categories.map((cat) => {
    const mine = entries.filter((e) => e.category === cat);
    const index = table(['check', 'severity', 'references', 'title'], mine.map((e) => [`[${e.id}](#${slug(e.id)})`, e.severity, e.references.join(', '), text(e.title)]));
    const prose = CATEGORY_PROSE[cat];
    return [`## ${CATEGORY_TITLES[cat] ?? cat}`, '', ...(prose ? [prose, ''] : []), index, '', ...mine.map(entrySection)].join('\n');
  });
  const counts = categories.map((c) => `${CATEGORY_TITLES[c] ?? c}: ${entries.filter((e) => e.category === c).length}`).join(', ');
  return `# Check reference

Generated from the check catalog (\`agent/checks/\`) and the posture checks (\`collector/posture/\`)
by \`npm run gen:docs\`; do not edit by hand. ${entries.length} checks (${counts}).

${INTRO}
${sections.join('\n')}
${benchmarksMarkdown()}`;
}

const INTRO = `## Reading a result

A check yields one result per subject: the flag, file, certificate or executable it judged.

- \`pass\`: the check holds.
- \`fail\`: a scored (automated) check failed.
- \`warn\`: a manual check failed, or a person must look.
- \`skip\`: the check does not apply on this node (no etcd on a worker). The reason says why.
- \`error\`: the check could not be judged. The reason says why. A missing fact is never a
  silent pass.

Each result gives the effective value and where it came from: \`flag\`, \`config\` (with the
file), \`dropin\` (with the file), \`env\`, \`manifest\`, or \`default\` (the component's real
built-in default). A result may raise its check's severity: a certificate 7 days from expiry
is critical. A \`fail\` or \`warn\` is a finding for the collector. A finding's state is
\`open\`, \`resolved\` or \`suppressed\`.

References name the benchmark and its control, e.g. \`${BENCHMARK}:4.2.1\`: every control a
check decides, so one problem is one result whichever benchmarks name it. A check may leave
a reference off the results it does not apply to (\`cert-key-file\` carries
\`${BENCHMARK}:1.1.21\` only on the \`*.key\` files of the PKI directories). Select checks by
id, by section or by reference: \`./bin/nodeward scan --checks 4.2,cis-4.1.5\`, or
\`scan.checks\` in the agent's configuration. Checks that were merged into others, and what
became of their findings, are in [one-finding-per-problem.md](one-finding-per-problem.md).

## Broken or hostile host files

A broken or hostile host file costs one result, never the agent. Every YAML or JSON document
read from the host first goes through one linear pre-scan. This covers the kubelet config and
drop-ins, static pod manifests, audit, encryption, authentication, authorization and
component configs, k3s and rke2 config, and a container's OCI \`config.json\`. A document
over 256 KiB, nested more than 64 levels, or holding more than 64 aliases or 10,000 elements
is refused before parsing. Aliases that expand too far are refused the same way. The checks
that need it are \`error\`, with the limit in the reason, e.g. \`nested more than 64 levels deep
(at line 1): refused before parsing\`.

The agent counts the host documents it refuses at every scan and watch re-evaluation. It
reports the count and the last one (path and limit) in its stats: \`hostDocumentsRefused\` in
\`GET /api/v1/nodes\` (a container's \`config.json\` is not among them).

The agent reads at most 256 KiB of a process's command line. A longer one still identifies
its process. But a flag past the cut could override what is seen (the last occurrence wins),
so every flag check of that component is \`error\`. The agent never falls back to the value in
the systemd unit or static pod manifest.
`;

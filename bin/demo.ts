// The demo nodes of `npm start -- --demo`: real agents (their own client certificate from the
// dev CA, their own mTLS gRPC stream, spool and state) that scan fixture host trees instead of
// this machine, so the dashboard and the API show a real triage in the first minute.
//
// The trees are the tests' kubeadm-style fixtures (test/fixtures/hostroot), copied afresh under
// <data>/demo/<node>/host at every start with the modes (and, as root, the owners) git does not
// keep, plus what no checkout should hold: a PKI generated at start (placeholders in the
// fixtures), one certificate of it five days from expiry. Reusing the fixtures keeps one copy
// of each tree, maintained by the tests that read it; test/bin/dev-demo.test.ts fails when a
// change to them takes the demo's triage away.
//
// What the demo shows (as root; run as another user, the files are that user's and the
// ownership checks add findings):
//   demo-control-plane  kubeadm control plane: the API server's serving certificate expires in
//                       5 days (critical), and the findings a default kubeadm install has
//   demo-worker-1       a kubelet with AlwaysAllow authorization (critical), anonymous auth
//                       (high), an end-of-life version (high), loose file modes
//   demo-worker-2       kubeadm's defaults on a worker: passes
//
// Demo agents do not watch processes (they would all see this machine's), do not probe the
// kubelet's or etcd's ports (those would be this machine's), and serve no health endpoint.
import { chmod, cp, mkdir, rm, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { createCa, issueClientCertificate, issueServerCertificate, type CertificateAuthority, type KeyPurpose } from '../collector/pki/pki.js';
import { applyModes, copyHostTree, FIXTURES_DIR } from './host-tree.js';

/** A certificate authority of a demo tree. */
interface DemoCa {
  readonly id: string;
  readonly cn: string;
  /** Host paths of its certificate and key; no key: only the certificate is on the host. */
  readonly cert: string;
  readonly key?: string;
}

/** A leaf certificate of a demo tree, issued by one of its CAs. */
interface DemoLeaf {
  readonly ca: string;
  readonly cn: string;
  /** DNS names and IP addresses (subject alternative names). */
  readonly hosts?: readonly string[];
  readonly usages: readonly KeyPurpose[];
  readonly cert: string;
  /** The key's own file; absent: the key follows the certificate in `cert` (the kubelet's rotated pem). */
  readonly key?: string;
  /** Default 365. */
  readonly validDays?: number;
}

export interface DemoNode {
  readonly name: string;
  /** The fixture tree (test/fixtures/hostroot/<scenario>). */
  readonly scenario: string;
  /** What it shows, for the start-up message and the tree's os-release. */
  readonly what: string;
  readonly cas: readonly DemoCa[];
  readonly leaves: readonly DemoLeaf[];
  /** Host paths of private keys that no certificate goes with (the service-account signing key). */
  readonly keys?: readonly string[];
  /** Files the scenario lacks, copied from another fixture (mode kept). */
  readonly borrow?: ReadonlyArray<{ readonly from: string; readonly path: string }>;
}

const PKI = '/etc/kubernetes/pki';
/** The kubeadm-cp fixture's node and its addresses (its etcd and API server flags name them). */
const CP_HOSTS = ['cp-1', 'localhost', '192.168.1.10', '127.0.0.1', '::1'];
/** The API server's serving certificate on demo-control-plane: inside the 7 days that make expiry critical. */
export const DEMO_EXPIRING_DAYS = 5;

export const DEMO_NODES: readonly DemoNode[] = [
  {
    name: 'demo-control-plane', scenario: 'kubeadm-cp',
    what: 'kubeadm control plane; its API server certificate expires within a week',
    cas: [
      { id: 'ca', cn: 'kubernetes', cert: `${PKI}/ca.crt`, key: `${PKI}/ca.key` },
      { id: 'etcd', cn: 'etcd-ca', cert: `${PKI}/etcd/ca.crt`, key: `${PKI}/etcd/ca.key` },
      { id: 'front-proxy', cn: 'front-proxy-ca', cert: `${PKI}/front-proxy-ca.crt`, key: `${PKI}/front-proxy-ca.key` },
    ],
    leaves: [
      {
        ca: 'ca', cn: 'kube-apiserver', hosts: ['cp-1', 'kubernetes', 'kubernetes.default', 'kubernetes.default.svc', '10.96.0.1', '192.168.1.10'],
        usages: ['serverAuth'], cert: `${PKI}/apiserver.crt`, key: `${PKI}/apiserver.key`, validDays: DEMO_EXPIRING_DAYS,
      },
      { ca: 'ca', cn: 'kube-apiserver-kubelet-client', usages: ['clientAuth'], cert: `${PKI}/apiserver-kubelet-client.crt`, key: `${PKI}/apiserver-kubelet-client.key` },
      { ca: 'etcd', cn: 'kube-apiserver-etcd-client', usages: ['clientAuth'], cert: `${PKI}/apiserver-etcd-client.crt`, key: `${PKI}/apiserver-etcd-client.key` },
      { ca: 'front-proxy', cn: 'front-proxy-client', usages: ['clientAuth'], cert: `${PKI}/front-proxy-client.crt`, key: `${PKI}/front-proxy-client.key` },
      { ca: 'etcd', cn: 'cp-1', hosts: CP_HOSTS, usages: ['serverAuth', 'clientAuth'], cert: `${PKI}/etcd/server.crt`, key: `${PKI}/etcd/server.key` },
      { ca: 'etcd', cn: 'cp-1', hosts: CP_HOSTS, usages: ['serverAuth', 'clientAuth'], cert: `${PKI}/etcd/peer.crt`, key: `${PKI}/etcd/peer.key` },
      { ca: 'etcd', cn: 'kube-etcd-healthcheck-client', usages: ['clientAuth'], cert: `${PKI}/etcd/healthcheck-client.crt`, key: `${PKI}/etcd/healthcheck-client.key` },
      { ca: 'ca', cn: 'system:node:cp-1', usages: ['clientAuth'], cert: '/var/lib/kubelet/pki/kubelet-client-current.pem' },
    ],
    keys: [`${PKI}/sa.key`],
    // The kubelet's binary, whose version the agent reads (the control-plane fixture has none).
    borrow: [{ from: 'kubeadm-worker-defaults', path: '/usr/bin/kubelet' }],
  },
  {
    name: 'demo-worker-1', scenario: 'insecure-worker',
    what: 'a kubelet that authorizes every request (AlwaysAllow), anonymous access on, an end-of-life version',
    cas: [{ id: 'ca', cn: 'kubernetes', cert: `${PKI}/ca.crt` }],
    leaves: [{ ca: 'ca', cn: 'system:node:worker-2', usages: ['clientAuth'], cert: '/var/lib/kubelet/pki/kubelet-client-2026.pem' }],
  },
  {
    name: 'demo-worker-2', scenario: 'kubeadm-worker-defaults',
    what: "kubeadm's defaults on a worker",
    cas: [{ id: 'ca', cn: 'kubernetes', cert: `${PKI}/ca.crt` }],
    leaves: [],
  },
];

export const DEMO_NODE_NAMES: readonly string[] = DEMO_NODES.map((n) => n.name);

/** Where a demo node's files live under the data directory. */
export function demoPaths(dataDir: string, node: string): { dir: string; host: string; state: string; config: string; log: string } {
  const dir = join(dataDir, 'demo', node);
  return { dir, host: join(dir, 'host'), state: join(dir, 'state'), config: join(dir, 'agent.yaml'), log: join(dir, 'agent.log') };
}

async function writeHostFile(root: string, hostPath: string, content: string, mode: number): Promise<void> {
  const path = join(root, hostPath);
  await mkdir(dirname(path), { recursive: true });
  // A fixture's placeholder (or a link to one) goes; the file written is a plain file.
  await rm(path, { force: true });
  await writeFile(path, content, { mode });
  // writeFile's mode is filtered by the umask: set it exactly.
  await chmod(path, mode);
}

/**
 * The node's host tree, afresh: the fixture copied with its modes and owners, its PKI
 * generated now (so it never rots), and an os-release saying what it is.
 */
export async function prepareDemoTree(node: DemoNode, root: string, now = new Date()): Promise<void> {
  await rm(root, { recursive: true, force: true });
  await mkdir(dirname(root), { recursive: true, mode: 0o700 });
  await copyHostTree(node.scenario, root);
  for (const b of node.borrow ?? []) {
    await mkdir(dirname(join(root, b.path)), { recursive: true });
    await cp(join(FIXTURES_DIR, b.from, b.path), join(root, b.path), { preserveTimestamps: true });
  }
  const cas = new Map<string, CertificateAuthority>();
  for (const ca of node.cas) {
    const made = await createCa(null, { commonName: ca.cn, now });
    cas.set(ca.id, made);
    await writeHostFile(root, ca.cert, made.certPem, 0o644);
    if (ca.key) await writeHostFile(root, ca.key, made.keyPem, 0o600);
  }
  for (const leaf of node.leaves) {
    const ca = cas.get(leaf.ca);
    if (!ca) throw new Error(`${node.name}: ${leaf.cert} names CA ${leaf.ca}, which the node does not have`);
    const opts = { commonName: leaf.cn, extendedKeyUsages: leaf.usages, validDays: leaf.validDays ?? 365, now };
    // A certificate without names (a client's): issued as the node's client certificate is, with the leaf's CN and no SAN.
    const issued = leaf.hosts && leaf.hosts.length > 0
      ? await issueServerCertificate(ca, leaf.hosts, opts)
      : await issueClientCertificate(ca, node.name, { ...opts, dnsNames: [] });
    if (leaf.key) {
      await writeHostFile(root, leaf.cert, issued.certPem, 0o644);
      await writeHostFile(root, leaf.key, issued.keyPem, 0o600);
    } else {
      await writeHostFile(root, leaf.cert, issued.certPem + issued.keyPem, 0o600);
    }
  }
  for (const key of node.keys ?? []) {
    const ca = await createCa(null, { commonName: 'service-account-key', now });
    await writeHostFile(root, key, ca.keyPem, 0o600);
  }
  await writeHostFile(root, '/etc/os-release', [
    `PRETTY_NAME="nodeward demo node: ${node.what.replace(/["\\$`]/g, '')} (fixture ${node.scenario})"`,
    'NAME="nodeward demo"', 'ID=nodeward-demo', '',
  ].join('\n'), 0o644);
  // The fixture's modes win over the defaults above for the files it lists.
  await applyModes(node.scenario, root);
}

/** The agent configuration of a demo node: the tree, its own state, no processes, no probes, no health port. */
export function demoAgentConfig(node: string, paths: ReturnType<typeof demoPaths>, collector: { address: string; caFile: string; certFile: string; keyFile: string }): string {
  return [
    '# Written by `npm start -- --demo` at every start: a demo node, an agent scanning a fixture tree.',
    `node: ${node}`,
    `hostRoot: ${JSON.stringify(paths.host)}`,
    `procRoot: ${JSON.stringify(join(paths.host, 'proc'))}`,
    `stateDir: ${JSON.stringify(paths.state)}`,
    'collector:',
    `  address: ${collector.address}`,
    `  caFile: ${JSON.stringify(collector.caFile)}`,
    `  certFile: ${JSON.stringify(collector.certFile)}`,
    `  keyFile: ${JSON.stringify(collector.keyFile)}`,
    'scan:',
    '  intervalSeconds: 60',
    '# They would all see (and learn) this machine\'s processes and ports.',
    'processes:',
    '  enabled: false',
    'kubeletProbe:',
    '  enabled: false',
    'etcdProbe:',
    '  enabled: false',
    'health:',
    '  enabled: false',
    '',
  ].join('\n');
}

// A kubeadm control plane (the kubeadm-cp fixture) with a complete PKI generated when the
// test runs: the CAs, every leaf kubeadm issues, and the client certificate the kubelet
// rotates into its --cert-dir. Nothing is checked in, so nothing rots.
import { chmod, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { createTestCa, issueTestCert, type TestCa, type TestCert } from './certs.js';
import { prepareFixture, writeCmdline } from './fixture.js';

export const PKI = 'etc/kubernetes/pki';
/** The fixture's etcd process. */
export const ETCD_PID = 1104;
export const ETCD_SANS = { dns: ['cp-1', 'localhost'], ips: ['192.168.1.10', '127.0.0.1', '::1'] };

export interface BasePki {
  readonly ca: TestCa;
  readonly etcdCa: TestCa;
  readonly frontProxyCa: TestCa;
  /** Host-root-relative path -> PEM, as kubeadm lays the files out. */
  readonly files: Readonly<Record<string, string>>;
}

/** A complete, healthy kubeadm PKI (plus the kubelet's rotated client certificate). Made once per run. */
async function makePki(): Promise<BasePki> {
  const [ca, etcdCa, frontProxyCa] = await Promise.all([
    createTestCa({ cn: 'kubernetes' }), createTestCa({ cn: 'etcd-ca' }), createTestCa({ cn: 'front-proxy-ca' }),
  ]);
  const pair = (name: string, c: TestCert): Record<string, string> => ({ [`${PKI}/${name}.crt`]: c.certPem, [`${PKI}/${name}.key`]: c.keyPem });
  const [apiserver, kubeletClient, etcdClient, proxyClient, server, peer, health, node] = await Promise.all([
    issueTestCert(ca, { cn: 'kube-apiserver', dns: ['cp-1', 'kubernetes', 'kubernetes.default', 'kubernetes.default.svc'], ips: ['10.96.0.1', '192.168.1.10'], usages: ['serverAuth'], key: 'rsa-2048' }),
    issueTestCert(ca, { cn: 'kube-apiserver-kubelet-client', usages: ['clientAuth'] }),
    issueTestCert(etcdCa, { cn: 'kube-apiserver-etcd-client', usages: ['clientAuth'] }),
    issueTestCert(frontProxyCa, { cn: 'front-proxy-client', usages: ['clientAuth'] }),
    issueTestCert(etcdCa, { cn: 'cp-1', ...ETCD_SANS, usages: ['serverAuth', 'clientAuth'] }),
    issueTestCert(etcdCa, { cn: 'cp-1', ...ETCD_SANS, usages: ['serverAuth', 'clientAuth'] }),
    issueTestCert(etcdCa, { cn: 'kube-etcd-healthcheck-client', usages: ['clientAuth'] }),
    issueTestCert(ca, { cn: 'system:node:cp-1', usages: ['clientAuth'] }),
  ]);
  return {
    ca, etcdCa, frontProxyCa,
    files: {
      [`${PKI}/ca.crt`]: ca.certPem, [`${PKI}/ca.key`]: ca.keyPem,
      [`${PKI}/etcd/ca.crt`]: etcdCa.certPem, [`${PKI}/etcd/ca.key`]: etcdCa.keyPem,
      [`${PKI}/front-proxy-ca.crt`]: frontProxyCa.certPem, [`${PKI}/front-proxy-ca.key`]: frontProxyCa.keyPem,
      ...pair('apiserver', apiserver), ...pair('apiserver-kubelet-client', kubeletClient), ...pair('apiserver-etcd-client', etcdClient),
      ...pair('front-proxy-client', proxyClient), ...pair('etcd/server', server), ...pair('etcd/peer', peer),
      ...pair('etcd/healthcheck-client', health),
      [`${PKI}/sa.key`]: (await issueTestCert(ca, { cn: 'sa', usages: [] })).keyPem,
      'var/lib/kubelet/pki/kubelet-client-current.pem': node.certPem + node.keyPem,
    },
  };
}

let basePki: Promise<BasePki> | undefined;
const base = (): Promise<BasePki> => (basePki ??= makePki());

export interface Tree {
  readonly root: string;
  readonly procRoot: string;
  readonly pki: BasePki;
  /** Writes a file under the host root: certificates 0644, anything with a key 0600. */
  write(rel: string, content: string, mode?: number): Promise<void>;
  /** Rewrites a process's argv with `edit` applied to its current arguments. */
  editArgv(pid: number, edit: (argv: string[]) => string[]): Promise<void>;
}

export async function prepareKubeadmTree(): Promise<{ tree: Tree; cleanup: () => Promise<void> }> {
  const fx = await prepareFixture('kubeadm-cp');
  const pki = await base();
  const write = async (rel: string, content: string, mode?: number): Promise<void> => {
    const path = join(fx.root, rel);
    await mkdir(dirname(path), { recursive: true });
    await rm(path, { force: true });
    await writeFile(path, content);
    await chmod(path, mode ?? (content.includes('PRIVATE KEY') ? 0o600 : 0o644));
  };
  for (const [rel, pem] of Object.entries(pki.files)) await write(rel, pem);
  const editArgv = async (pid: number, edit: (argv: string[]) => string[]): Promise<void> => {
    const argv = (await readFile(join(fx.procRoot, String(pid), 'cmdline'), 'utf8')).split('\0').filter((a) => a !== '');
    await writeCmdline(fx.procRoot, pid, edit(argv));
  };
  return { tree: { root: fx.root, procRoot: fx.procRoot, pki, write, editArgv }, cleanup: fx.cleanup };
}


// The built kustomization as plain objects: `kubectl kustomize manifests/` (offline), its
// YAML stream parsed, plus small accessors the deploy tests share.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { fileURLToPath } from 'node:url';
import { parseAllDocuments } from 'yaml';
import { executable, needs } from '../helpers/requirements.js';

/** The repository root (this file runs as dist/test/deploy/manifests.js). */
export const REPO_ROOT = fileURLToPath(new URL('../../../', import.meta.url));
export const MANIFESTS_DIR = `${REPO_ROOT}manifests`;
export const KUBECTL = '/usr/bin/kubectl';

/** Tests that build the kustomization: kubectl (with its kustomize) is on the machine image. */
export const kubectlTest = needs({ what: 'kubectl with kustomize', packages: ['kubectl'], check: () => executable(KUBECTL) });

export interface KubeObject {
  readonly apiVersion: string;
  readonly kind: string;
  readonly metadata: { readonly name: string; readonly namespace?: string; readonly labels?: Record<string, string> };
  readonly [field: string]: unknown;
}

// Loose views of the fields the tests read; the schema test holds the objects to the real types.
export interface Container {
  readonly name: string;
  readonly image?: string;
  readonly args?: string[];
  readonly env?: Array<{ name: string; value?: string; valueFrom?: { fieldRef?: { fieldPath: string } } }>;
  readonly ports?: Array<{ name?: string; containerPort: number; hostPort?: number }>;
  readonly resources?: { requests?: Record<string, string>; limits?: Record<string, string> };
  readonly securityContext?: SecurityContext;
  readonly volumeMounts?: VolumeMount[];
  readonly livenessProbe?: Probe;
  readonly readinessProbe?: Probe;
  readonly startupProbe?: Probe;
}
export interface Probe {
  readonly httpGet?: { host?: string; path?: string; port: number | string; scheme?: string };
  readonly tcpSocket?: { host?: string; port: number | string };
  readonly grpc?: { port: number };
  readonly exec?: { command: string[] };
}
export interface SecurityContext {
  readonly privileged?: boolean;
  readonly allowPrivilegeEscalation?: boolean;
  readonly readOnlyRootFilesystem?: boolean;
  readonly runAsNonRoot?: boolean;
  readonly runAsUser?: number;
  readonly runAsGroup?: number;
  readonly procMount?: string;
  readonly capabilities?: { add?: string[]; drop?: string[] };
  readonly seccompProfile?: { type: string; localhostProfile?: string };
  readonly appArmorProfile?: { type: string };
  readonly seLinuxOptions?: { type?: string; user?: string; role?: string; level?: string };
  readonly windowsOptions?: { hostProcess?: boolean };
}
export interface VolumeMount {
  readonly name: string;
  readonly mountPath: string;
  readonly readOnly?: boolean;
  readonly recursiveReadOnly?: string;
  readonly mountPropagation?: string;
}
export interface Volume {
  readonly name: string;
  readonly hostPath?: { path: string; type?: string };
  readonly [source: string]: unknown;
}
export interface PodSpec {
  readonly hostPID?: boolean;
  readonly hostNetwork?: boolean;
  readonly hostIPC?: boolean;
  readonly hostUsers?: boolean;
  readonly dnsPolicy?: string;
  readonly serviceAccountName?: string;
  readonly automountServiceAccountToken?: boolean;
  readonly priorityClassName?: string;
  readonly tolerations?: Array<{ key?: string; operator?: string; effect?: string }>;
  readonly securityContext?: SecurityContext & { sysctls?: Array<{ name: string; value: string }>; fsGroup?: number };
  readonly containers: Container[];
  readonly initContainers?: Container[];
  readonly ephemeralContainers?: Container[];
  readonly volumes?: Volume[];
}

export interface Workload {
  readonly object: KubeObject;
  readonly pod: PodSpec;
}

const built = new Map<string, Promise<KubeObject[]>>();

/** Runs `kubectl kustomize DIR` and parses every document; cached per directory. */
export function buildKustomization(dir = MANIFESTS_DIR): Promise<KubeObject[]> {
  let p = built.get(dir);
  if (!p) {
    p = kustomize(dir);
    built.set(dir, p);
  }
  return p;
}

async function kustomize(dir: string): Promise<KubeObject[]> {
  const { stdout } = await promisify(execFile)(KUBECTL, ['kustomize', dir], { maxBuffer: 16 * 1024 * 1024, timeout: 60_000 });
  return parseYamlStream(stdout);
}

export function parseYamlStream(text: string): KubeObject[] {
  const objects: KubeObject[] = [];
  for (const doc of parseAllDocuments(text)) {
    if (doc.errors.length > 0) throw new Error(`YAML: ${doc.errors.map((e) => e.message).join('; ')}`);
    const value = doc.toJS() as unknown;
    if (value === null || value === undefined) continue;
    objects.push(value as KubeObject);
  }
  return objects;
}

/** Pod templates of the workloads (DaemonSet, StatefulSet, Deployment, Job, Pod, ...). */
export function workloads(objects: readonly KubeObject[]): Workload[] {
  const out: Workload[] = [];
  for (const o of objects) {
    if (o.kind === 'Pod') out.push({ object: o, pod: o.spec as PodSpec });
    const spec = o.spec as { template?: { spec?: PodSpec }; jobTemplate?: { spec?: { template?: { spec?: PodSpec } } } } | undefined;
    const pod = spec?.template?.spec ?? spec?.jobTemplate?.spec?.template?.spec;
    if (pod) out.push({ object: o, pod });
  }
  return out;
}

export function allContainers(pod: PodSpec): Container[] {
  return [...(pod.initContainers ?? []), ...pod.containers, ...(pod.ephemeralContainers ?? [])];
}

export function findObject(objects: readonly KubeObject[], kind: string, name: string): KubeObject {
  const o = objects.find((x) => x.kind === kind && x.metadata.name === name);
  if (!o) throw new Error(`no ${kind} ${name} in the built manifests`);
  return o;
}

export function findWorkload(objects: readonly KubeObject[], kind: string, name: string): Workload {
  const w = workloads(objects).find((x) => x.object.kind === kind && x.object.metadata.name === name);
  if (!w) throw new Error(`no ${kind} ${name} in the built manifests`);
  return w;
}

/** A deep copy to mutate in a test that shows a check can fail. */
export function clone<T>(value: T): T {
  return structuredClone(value);
}

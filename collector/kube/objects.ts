// Named Secrets and ConfigMaps the collector keeps its cluster PKI in (pki/cluster.ts): a get
// and an update guarded by resourceVersion, and nothing else. RBAC cannot limit `create` to
// a name, so the manifests create these objects (empty) and the collector only fills them:
// it needs get and update on exactly those names (manifests/collector/rbac.yaml).
//
// An update carries the resourceVersion the caller read; when someone else wrote in between
// (another replica, an operator), the API server answers 409 and the caller reads again.
import { kubeRequest, readJson, statusError, KubeApiError, type KubeConnection } from './connection.js';

export type ObjectKind = 'Secret' | 'ConfigMap';

export interface ObjectRef {
  readonly kind: ObjectKind;
  readonly namespace: string;
  readonly name: string;
}

/** What the collector reads of a Secret or ConfigMap. Secret values are decoded from base64. */
export interface StoredObject {
  readonly ref: ObjectRef;
  readonly resourceVersion: string;
  readonly data: Readonly<Record<string, string>>;
  readonly annotations: Readonly<Record<string, string>>;
  /** The object as read: an update sends it back whole (labels, owners, type), changing only the data and annotations. */
  readonly raw: Readonly<Record<string, unknown>>;
}

/** The API server refused the call for lack of a permission: names the verb and the object. */
export class KubeForbiddenError extends KubeApiError {
  override readonly code = 'KUBE_API';
  readonly forbidden = true;
  constructor(readonly verb: 'get' | 'update', readonly ref: ObjectRef, detail: string) {
    super(`the collector's ServiceAccount may not ${verb} ${describe(ref)} (HTTP 403${detail ? `: ${detail}` : ''}); ` +
      `grant "${verb}" on ${resourceOf(ref.kind)} "${ref.name}" in namespace "${ref.namespace}" (manifests/collector/rbac.yaml)`, false, 403);
  }
}

/** The object does not exist: the manifests create it (empty) before the collector starts. */
export class KubeMissingError extends KubeApiError {
  constructor(readonly ref: ObjectRef) {
    super(`${describe(ref)} does not exist: the manifests create it empty (kubectl apply the release's install.yaml, or manifests/)`, false, 404);
  }
}

export interface KubeObjects {
  get(ref: ObjectRef): Promise<StoredObject>;
  /**
   * Replaces the object's data (and the given annotations) if it is still at
   * `from.resourceVersion`; 'conflict' when it changed since (read it again).
   */
  update(from: StoredObject, data: Readonly<Record<string, string>>, annotations?: Readonly<Record<string, string>>): Promise<StoredObject | 'conflict'>;
}

const MAX_RESPONSE_BYTES = 1024 * 1024;

export function describe(ref: ObjectRef): string {
  return `${ref.kind} ${ref.namespace}/${ref.name}`;
}

function resourceOf(kind: ObjectKind): string {
  return kind === 'Secret' ? 'secrets' : 'configmaps';
}

function pathOf(ref: ObjectRef): string {
  return `/api/v1/namespaces/${encodeURIComponent(ref.namespace)}/${resourceOf(ref.kind)}/${encodeURIComponent(ref.name)}`;
}

function message(json: unknown): string {
  const m = (json as { message?: unknown } | undefined)?.message;
  return typeof m === 'string' ? m.slice(0, 300) : '';
}

function strings(v: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  if (typeof v !== 'object' || v === null) return out;
  for (const [k, x] of Object.entries(v)) if (typeof x === 'string') out[k] = x;
  return out;
}

function parse(ref: ObjectRef, json: unknown): StoredObject {
  const o = (typeof json === 'object' && json !== null ? json : {}) as { metadata?: { resourceVersion?: unknown; annotations?: unknown }; data?: unknown };
  const resourceVersion = o.metadata?.resourceVersion;
  if (typeof resourceVersion !== 'string' || resourceVersion === '') throw new KubeApiError(`${describe(ref)}: the API server's answer has no resourceVersion`, true);
  const raw = strings(o.data);
  const data: Record<string, string> = {};
  for (const [k, v] of Object.entries(raw)) data[k] = ref.kind === 'Secret' ? Buffer.from(v, 'base64').toString('utf8') : v;
  return { ref, resourceVersion, data, annotations: strings(o.metadata?.annotations), raw: o as Record<string, unknown> };
}

export function createKubeObjects(conn: KubeConnection): KubeObjects {
  return {
    async get(ref) {
      const res = await kubeRequest(conn, 'GET', pathOf(ref));
      const json = await readJson(res, MAX_RESPONSE_BYTES, `get ${describe(ref)}`);
      if (res.status === 403) throw new KubeForbiddenError('get', ref, message(json));
      if (res.status === 404) throw new KubeMissingError(ref);
      if (res.status !== 200) throw statusError(`get ${describe(ref)}`, res.status, json);
      return parse(ref, json);
    },
    async update(from, data, annotations) {
      const { ref } = from;
      const encoded: Record<string, string> = {};
      for (const [k, v] of Object.entries(data)) encoded[k] = ref.kind === 'Secret' ? Buffer.from(v, 'utf8').toString('base64') : v;
      // The object as read, with the new data: what a PUT leaves out is removed, so labels,
      // owners and the rest go back as they were; resourceVersion makes it conditional.
      const metadata = (from.raw.metadata ?? {}) as Record<string, unknown>;
      const body = {
        ...from.raw,
        apiVersion: 'v1',
        kind: ref.kind,
        metadata: { ...metadata, resourceVersion: from.resourceVersion, annotations: { ...from.annotations, ...annotations } },
        data: encoded,
      };
      const res = await kubeRequest(conn, 'PUT', pathOf(ref), { body });
      const json = await readJson(res, MAX_RESPONSE_BYTES, `update ${describe(ref)}`);
      if (res.status === 409) return 'conflict';
      if (res.status === 403) throw new KubeForbiddenError('update', ref, message(json));
      if (res.status === 404) throw new KubeMissingError(ref);
      if (res.status !== 200) throw statusError(`update ${describe(ref)}`, res.status, json);
      return parse(ref, json);
    },
  };
}

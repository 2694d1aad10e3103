// The cluster's RBAC objects as one immutable model (pure): the roles and bindings that were
// read, keyed as the API keys them, and the objects that were refused and why. A change is a
// new model that shares everything it did not touch (one map is copied per change).
import {
  describeObject, objectKey, readRbacObject, DEFAULT_RBAC_LIMITS,
  type BindingKind, type RbacBinding, type RbacKind, type RbacLimits, type RbacRole, type RefusalCode, type RoleKind,
} from './rbac-objects.js';

export interface RbacModel {
  /** By name. */
  readonly clusterRoles: ReadonlyMap<string, RbacRole>;
  /** By namespace/name. */
  readonly roles: ReadonlyMap<string, RbacRole>;
  readonly clusterRoleBindings: ReadonlyMap<string, RbacBinding>;
  readonly roleBindings: ReadonlyMap<string, RbacBinding>;
}

/** An object that is not in the model, and why. */
export interface Refusal {
  readonly kind: RbacKind;
  /** `namespace/name` or `name` when the object said so readably, else ''. */
  readonly key: string;
  readonly code: RefusalCode;
  readonly reason: string;
}

export interface RawRbacObject {
  readonly kind: RbacKind;
  readonly object: unknown;
}

export const EMPTY_MODEL: RbacModel = { clusterRoles: new Map(), roles: new Map(), clusterRoleBindings: new Map(), roleBindings: new Map() };

/** The model of these objects; what cannot be read is refused, counted by code, never thrown. */
export function buildModel(objects: readonly RawRbacObject[], limits: RbacLimits = DEFAULT_RBAC_LIMITS): { model: RbacModel; refusals: Refusal[] } {
  const maps = { ClusterRole: new Map<string, RbacRole>(), Role: new Map<string, RbacRole>(), ClusterRoleBinding: new Map<string, RbacBinding>(), RoleBinding: new Map<string, RbacBinding>() };
  const refusals: Refusal[] = [];
  for (const { kind, object } of objects) {
    const read = readRbacObject(kind, object, limits);
    if (read.kind === 'invalid') {
      refusals.push({ kind, key: keyOfRaw(object), code: read.code, reason: read.reason });
      continue;
    }
    (maps[kind] as Map<string, RbacRole | RbacBinding>).set(read.key, read.value);
  }
  return { model: { clusterRoles: maps.ClusterRole, roles: maps.Role, clusterRoleBindings: maps.ClusterRoleBinding, roleBindings: maps.RoleBinding }, refusals };
}

/** Counts of refusals by code, for a metric or a summary line. */
export function refusalCounts(refusals: readonly Refusal[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const r of refusals) out[r.code] = (out[r.code] ?? 0) + 1;
  return out;
}

function keyOfRaw(raw: unknown): string {
  const meta = typeof raw === 'object' && raw !== null ? (raw as { metadata?: unknown }).metadata : undefined;
  if (typeof meta !== 'object' || meta === null) return '';
  const { name, namespace } = meta as { name?: unknown; namespace?: unknown };
  if (typeof name !== 'string' || name.length === 0 || name.length > 253) return '';
  return typeof namespace === 'string' && namespace.length > 0 && namespace.length <= 253 ? `${namespace}/${name}` : name;
}

/** `ClusterRole/<name>` or `Role/<namespace>/<name>`: the role a binding refers to. */
export function roleKeyOf(binding: RbacBinding): string {
  return binding.roleRef.kind === 'ClusterRole' ? `ClusterRole/${binding.roleRef.name}` : `Role/${binding.namespace}/${binding.roleRef.name}`;
}

export const roleKey = (role: RbacRole): string => describeObject(role);
export const bindingKey = (binding: RbacBinding): string => describeObject(binding);

/** The role a binding refers to, when it exists (a binding to a missing role grants nothing). */
export function roleOf(model: RbacModel, binding: RbacBinding): RbacRole | undefined {
  return binding.roleRef.kind === 'ClusterRole' ? model.clusterRoles.get(binding.roleRef.name) : model.roles.get(objectKey(binding.namespace, binding.roleRef.name));
}

export function* allBindings(model: RbacModel): Iterable<RbacBinding> {
  yield* model.clusterRoleBindings.values();
  yield* model.roleBindings.values();
}

/** One watch event, already read: an object added or changed, or the key of one deleted. */
export type RbacChange =
  | { readonly type: 'upsert'; readonly value: RbacRole | RbacBinding }
  | { readonly type: 'delete'; readonly kind: RbacKind; readonly key: string };

/** The model after one change; the maps the change does not touch are shared. */
export function applyChange(model: RbacModel, change: RbacChange): RbacModel {
  const kind = change.type === 'upsert' ? change.value.kind : change.kind;
  const field = FIELD[kind];
  const next = new Map(model[field] as ReadonlyMap<string, RbacRole | RbacBinding>);
  if (change.type === 'upsert') next.set(objectKey(change.value.namespace, change.value.name), change.value);
  else next.delete(change.key);
  return { ...model, [field]: next };
}

const FIELD: Readonly<Record<RbacKind, keyof RbacModel>> = {
  ClusterRole: 'clusterRoles',
  Role: 'roles',
  ClusterRoleBinding: 'clusterRoleBindings',
  RoleBinding: 'roleBindings',
};

export const isRoleKind = (k: RbacKind): k is RoleKind => k === 'ClusterRole' || k === 'Role';
export const isBindingKind = (k: RbacKind): k is BindingKind => !isRoleKind(k);

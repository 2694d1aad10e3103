// RBAC object sets for the posture tests and bench: test/fixtures/posture/<name>.json, a
// kubectl-style list whose items carry their kind.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { buildModel, type RawRbacObject } from '../../collector/posture/rbac-model.js';
import { RBAC_KINDS, type RbacKind } from '../../collector/posture/rbac-objects.js';
import type { PostureView } from '../../collector/posture/view.js';

/** test/fixtures/posture in the source tree (this file runs from dist/test/helpers/). */
export const POSTURE_FIXTURES_DIR = fileURLToPath(new URL('../../../test/fixtures/posture/', import.meta.url));

export function loadPostureFixture(name: string): RawRbacObject[] {
  const doc = JSON.parse(readFileSync(`${POSTURE_FIXTURES_DIR}${name}.json`, 'utf8')) as { items: { kind: RbacKind }[] };
  return doc.items.map((o) => ({ kind: o.kind, object: o }));
}

/**
 * A posture view over these objects, as the posture watch will hand it to the API once every
 * kind has synced; `synced: false` stands for a watch still listing its bindings (no model yet).
 */
export function postureView(objects: readonly RawRbacObject[], opts: { synced?: boolean } = {}): PostureView {
  const { model, refusals } = buildModel(objects);
  const synced = opts.synced ?? true;
  const objectCounts: Record<RbacKind, number> = { ClusterRole: model.clusterRoles.size, Role: model.roles.size, ClusterRoleBinding: model.clusterRoleBindings.size, RoleBinding: model.roleBindings.size };
  // Roles list first; while syncing, the bindings are still being listed.
  const kinds = RBAC_KINDS.map((kind) => ({ kind, synced: synced || kind === 'ClusterRole' || kind === 'Role', objects: objectCounts[kind], refused: refusals.filter((r) => r.kind === kind).length }));
  return { rbacModel: () => (synced ? model : undefined), status: () => ({ synced, kinds }) };
}

/** A posture view over fixture sets (test/fixtures/posture/<name>.json). */
export function fixtureView(names: readonly string[], opts: { synced?: boolean } = {}): PostureView {
  return postureView(names.flatMap((n) => loadPostureFixture(n)), opts);
}

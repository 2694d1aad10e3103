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
 * A posture view over fixture sets, as the posture watch will hand it to the API once every
 * kind has synced; `synced: false` stands for a watch still listing (no model yet).
 */
export function fixtureView(names: readonly string[], opts: { synced?: boolean } = {}): PostureView {
  const { model, refusals } = buildModel(names.flatMap((n) => loadPostureFixture(n)));
  const synced = opts.synced ?? true;
  const objects: Record<RbacKind, number> = { ClusterRole: model.clusterRoles.size, Role: model.roles.size, ClusterRoleBinding: model.clusterRoleBindings.size, RoleBinding: model.roleBindings.size };
  const kinds = RBAC_KINDS.map((kind, i) => ({ kind, synced: synced || i < 2, objects: objects[kind], refused: refusals.filter((r) => r.kind === kind).length }));
  return { rbacModel: () => (synced ? model : undefined), status: () => ({ synced, kinds }) };
}

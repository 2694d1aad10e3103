// RBAC object sets for the posture tests and bench: test/fixtures/posture/<name>.json, a
// kubectl-style list whose items carry their kind.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { RawRbacObject } from '../../collector/posture/rbac-model.js';
import type { RbacKind } from '../../collector/posture/rbac-objects.js';

/** test/fixtures/posture in the source tree (this file runs from dist/test/helpers/). */
export const POSTURE_FIXTURES_DIR = fileURLToPath(new URL('../../../test/fixtures/posture/', import.meta.url));

export function loadPostureFixture(name: string): RawRbacObject[] {
  const doc = JSON.parse(readFileSync(`${POSTURE_FIXTURES_DIR}${name}.json`, 'utf8')) as { items: { kind: RbacKind }[] };
  return doc.items.map((o) => ({ kind: o.kind, object: o }));
}

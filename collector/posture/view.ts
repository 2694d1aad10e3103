// What the API reads of the cluster posture watch: the RBAC model as last judged and how far
// each RBAC kind has synced. The posture watch (the informers over ClusterRoles, Roles,
// ClusterRoleBindings and RoleBindings) provides it; the API takes it as an optional
// dependency and answers 503 while it is absent (the collector does not watch the Kubernetes
// API) or not synced (an answer from half the bindings would leave out subjects silently).
import type { RbacModel } from './rbac-model.js';

export interface PostureKindStatus {
  readonly kind: string;
  /** The kind's first list has been read in full. */
  readonly synced: boolean;
  /** Objects of the kind in the model. */
  readonly objects: number;
  /** Objects of the kind refused as unreadable (rbac-objects.ts), counted. */
  readonly refused: number;
}

export interface PostureView {
  /** The RBAC model as last judged; undefined until every RBAC kind has synced. */
  rbacModel(): RbacModel | undefined;
  /** Per kind: synced, objects held, refused (counted). */
  status(): { readonly synced: boolean; readonly kinds: readonly PostureKindStatus[] };
}

/** The model to answer from, or why there is none: posture off (no view), or not synced yet. */
export type PostureRead =
  | { readonly model: RbacModel; readonly problem: '' }
  | { readonly model: undefined; readonly problem: string; readonly syncing: boolean };

export function readPosture(view: PostureView | undefined): PostureRead {
  if (!view) {
    return {
      model: undefined, syncing: false,
      problem: 'cluster posture is off: this collector does not watch the Kubernetes API (it runs outside a cluster, '
        + 'or without the posture watch), so it has no RBAC objects to answer from',
    };
  }
  const status = view.status();
  const model = status.synced ? view.rbacModel() : undefined;
  if (model) return { model, problem: '' };
  const waiting = status.kinds.filter((k) => !k.synced).map((k) => k.kind);
  return {
    model: undefined, syncing: true,
    problem: `cluster posture is not synced yet: the first list of ${waiting.length > 0 ? waiting.join(', ') : 'the RBAC objects'} `
      + 'has not been read in full, and an answer from part of the bindings would leave subjects out; retry in a few seconds',
  };
}

/** What the view reads of the posture watch (posture-watch.ts): its counters and the RBAC judge's state. */
export interface PostureWatchLike {
  stats(): { readonly synced: boolean; readonly kinds: readonly (PostureKindStatus & { readonly served: boolean })[] };
  state(judgeId: string): unknown;
}

/**
 * The view of a running posture watch: the RBAC judge's model (rbac-posture.ts, id `rbac`)
 * once every kind has listed and been judged; the kinds the API server serves, with their
 * counts. The model is the one last judged, so it trails a watch event by the debounce.
 */
export function watchView(watch: PostureWatchLike): PostureView {
  return {
    rbacModel: () => (watch.state('rbac') as { readonly model?: RbacModel } | undefined)?.model,
    status: () => {
      const s = watch.stats();
      return { synced: s.synced, kinds: s.kinds.filter((k) => k.served).map(({ kind, synced, objects, refused }) => ({ kind, synced, objects, refused })) };
    },
  };
}

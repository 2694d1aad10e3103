// The enrollment decision, pure: given what the API server said about a token and about
// the pod that token belongs to, may this caller get a certificate for `node`?
//
// A ServiceAccount token bound to a pod (what a projected volume holds) carries the pod's
// name and uid in the TokenReview's user.extra; recent API servers add the node's name.
// The node named in the CSR must be the node that pod runs on, according to the pod
// object itself, read fresh: a stolen token only ever yields a certificate for the node
// its pod runs on, and none once the pod is gone (the token stops validating then too).
import type { PodFacts, TokenReviewStatus } from './kube-api.js';

export const EXTRA_POD_NAME = 'authentication.kubernetes.io/pod-name';
export const EXTRA_POD_UID = 'authentication.kubernetes.io/pod-uid';
export const EXTRA_NODE_NAME = 'authentication.kubernetes.io/node-name';

export interface EnrollPolicy {
  /** The audience the agents' projected tokens are minted for. */
  readonly audience: string;
  readonly agentNamespace: string;
  readonly agentServiceAccount: string;
}

export type Decision =
  | { readonly ok: true; readonly pod: string }
  | { readonly ok: false; readonly status: 401 | 403; readonly reason: string };

const deny = (status: 401 | 403, reason: string): Decision => ({ ok: false, status, reason });

const only = (extra: TokenReviewStatus['extra'], key: string): string | undefined => {
  const v = extra[key];
  return v && v.length === 1 ? v[0] : undefined;
};

/** Step 1: the token alone. Returns the pod to look up, or a refusal. */
export function checkToken(review: TokenReviewStatus, policy: EnrollPolicy): { ok: true; podName: string; podUid: string } | Extract<Decision, { ok: false }> {
  if (!review.authenticated) return { ok: false, status: 401, reason: `token not accepted${review.error ? `: ${review.error}` : ''}` };
  // The TokenReview asked for our audience; an API server that understood the question says
  // which of it the token carries. An empty list means the token is good for the API server's
  // own audiences (or the authenticator ignores audiences): not a token minted for us.
  if (!review.audiences.includes(policy.audience)) {
    return {
      ok: false, status: 401,
      reason: review.audiences.length === 0
        ? `token is not for audience ${policy.audience} (the TokenReview names no audience: a token for the API server)`
        : `token is not for audience ${policy.audience}`,
    };
  }
  const expected = `system:serviceaccount:${policy.agentNamespace}:${policy.agentServiceAccount}`;
  if (review.username !== expected) return { ok: false, status: 403, reason: `${review.username || 'the token'} is not ${expected}` };
  const podName = only(review.extra, EXTRA_POD_NAME);
  const podUid = only(review.extra, EXTRA_POD_UID);
  if (!podName || !podUid) return { ok: false, status: 403, reason: 'the token is not bound to a pod (use a projected ServiceAccount token)' };
  return { ok: true, podName, podUid };
}

/** Step 2: the pod the token belongs to, against the node the CSR names. */
export function checkPod(review: TokenReviewStatus, pod: PodFacts | undefined, node: string, policy: EnrollPolicy): Decision {
  const podName = only(review.extra, EXTRA_POD_NAME) ?? '';
  const where = `pod ${policy.agentNamespace}/${podName}`;
  if (!pod) return deny(403, `${where} does not exist`);
  if (pod.uid !== only(review.extra, EXTRA_POD_UID)) return deny(403, `${where} is not the pod the token was issued to (uid differs)`);
  if (pod.namespace !== policy.agentNamespace || pod.serviceAccountName !== policy.agentServiceAccount) {
    return deny(403, `${where} does not run as ${policy.agentNamespace}/${policy.agentServiceAccount}`);
  }
  if (pod.deleting || pod.phase === 'Succeeded' || pod.phase === 'Failed') return deny(403, `${where} is terminating or finished`);
  if (!pod.nodeName) return deny(403, `${where} is not scheduled on a node`);
  if (pod.nodeName !== node) return deny(403, `${where} runs on node ${pod.nodeName}, not ${node}`);
  const tokenNode = only(review.extra, EXTRA_NODE_NAME);
  if (tokenNode !== undefined && tokenNode !== node) return deny(403, `the token was issued on node ${tokenNode}, not ${node}`);
  return { ok: true, pod: `${pod.namespace}/${pod.name}` };
}

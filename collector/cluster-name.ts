// The display name of the collector's cluster (`cluster.name`): what the API's `cluster`
// parameter, the dashboard and fleet listings show. Operators choose it; left empty it is
// derived from the cluster's UID (the kube-system namespace's, kube/cluster-identity.ts) so a
// fleet of unnamed clusters still tells them apart, and `local` without a Kubernetes API.
// Pure: config.ts validates with it, and the identity is named with it at start.

/** The longest name: a DNS label's bound. */
export const MAX_CLUSTER_NAME = 63;

/** Letters, digits, '-', '.' and '_', starting and ending with a letter or digit. */
const NAME = /^[A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?$/;

/** Why a configured name is refused, or undefined when it is acceptable ('' is: it means "derive"). */
export function clusterNameProblem(name: string): string | undefined {
  if (name === '') return undefined;
  if (name.length > MAX_CLUSTER_NAME) return `${name.length} characters; at most ${MAX_CLUSTER_NAME}`;
  if (!NAME.test(name)) return `${JSON.stringify(name.slice(0, MAX_CLUSTER_NAME + 1))} is not a name: use letters, digits, '-', '.' and '_', starting and ending with a letter or digit (a DNS label such as prod-eu-1)`;
  return undefined;
}

/** The name shown: the configured one, else the UID's first 8 characters, else `local` (no UID). */
export function clusterDisplayName(configured: string, uid: string): string {
  if (configured !== '') return configured;
  if (uid !== '') return uid.slice(0, 8);
  return 'local';
}

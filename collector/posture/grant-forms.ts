// How one grant of a who-can answer reaches the request (pure): the forms of RBAC an operator
// reads past most easily. A grant may take several forms at once.
//
//   resourceNames             the rule names objects: it grants the named one only
//   subresource               the rule names the subresource (`pods/exec`, `*/scale`)
//   wildcard                  a `*` matched where the request's own value is not listed
//                             (which lists: `wildcards`); a trailing `*` in a URL counts
//   roleBindingToClusterRole  a RoleBinding lends a ClusterRole's rules in its namespace
//   serviceAccountGroup       the subject is system:serviceaccounts or system:serviceaccounts:<ns>
//   nonResourceURL            the request is a path, not a resource
import type { PolicyRule, Subject } from './rbac-objects.js';
import type { AccessRequest, ObjectRef } from './who-can.js';

export const GRANT_FORMS = ['resourceNames', 'subresource', 'wildcard', 'roleBindingToClusterRole', 'serviceAccountGroup', 'nonResourceURL'] as const;
export type GrantForm = (typeof GRANT_FORMS)[number];

/** The rule lists where a wildcard matched: `*`, `*` before a subresource, or a path ending in `*`. */
export const WILDCARD_FIELDS = ['verbs', 'apiGroups', 'resources', 'nonResourceURLs'] as const;
export type WildcardField = (typeof WILDCARD_FIELDS)[number];

export interface GrantHow {
  readonly forms: readonly GrantForm[];
  readonly wildcards: readonly WildcardField[];
}

const SA_GROUP = /^system:serviceaccounts(:.+)?$/;

/** The forms of a grant that `whoCan` returned for `req` (the rule is known to allow it). */
export function grantHow(req: AccessRequest, subject: Subject, binding: ObjectRef, role: ObjectRef, rule: PolicyRule): GrantHow {
  const url = req.nonResourceURL ?? '';
  const sub = req.subresource ?? '';
  const resource = req.resource ?? '';
  const wildcards: WildcardField[] = [];
  if (!rule.verbs.includes(req.verb)) wildcards.push('verbs');
  if (url !== '') {
    if (!rule.nonResourceURLs.includes(url)) wildcards.push('nonResourceURLs');
  } else {
    if (!rule.apiGroups.includes(req.apiGroup ?? '')) wildcards.push('apiGroups');
    if (!rule.resources.includes(sub === '' ? resource : `${resource}/${sub}`)) wildcards.push('resources');
  }
  const forms: GrantForm[] = [];
  if (url === '' && rule.resourceNames.length > 0) forms.push('resourceNames');
  if (sub !== '' && (rule.resources.includes(`${resource}/${sub}`) || rule.resources.includes(`*/${sub}`))) forms.push('subresource');
  if (wildcards.length > 0) forms.push('wildcard');
  if (binding.kind === 'RoleBinding' && role.kind === 'ClusterRole') forms.push('roleBindingToClusterRole');
  if (subject.kind === 'Group' && SA_GROUP.test(subject.name)) forms.push('serviceAccountGroup');
  if (url !== '') forms.push('nonResourceURL');
  return { forms, wildcards };
}

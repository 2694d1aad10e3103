// `nodeward who-can VERB [RESOURCE[.GROUP][/SUBRESOURCE]]`: who the cluster's RBAC lets do this
// (GET /api/v1/posture/who-can). The table has one row per grant: the subject, the binding
// and role with the rule's index, where it holds and how it reaches the request (`*`,
// resourceNames, a RoleBinding to a ClusterRole ...); then what RBAC cannot see, which is
// part of every answer. `-o json` prints the API's answer. Exit codes as for `nodeward
// query`: 0 answered, 1 the call failed (posture off or not synced is a 503: 1), 2 usage error.
import { Option, type Command } from 'commander';
import { getOk } from './client.js';
import { QueryUsageError, runQuery, withConnection, writeOut, type ConnectionFlags, type Output, type QueryIo } from './command.js';
import { renderTable, type Column } from './table.js';

interface Ref { kind: string; namespace: string; name: string }
interface GrantLike { binding: Ref; role: Ref; ruleIndex: number; namespace: string; forms: string[]; wildcards: string[] }
interface AnswerLike {
  subjects: Array<{ subject: Ref; means: string; grants: GrantLike[] }>;
  caveats: Array<{ id: string; text: string }>;
}

export interface ResourceArgument { readonly resource: string; readonly subresource: string; readonly apiGroup: string | undefined }

/**
 * `pods`, `pods/exec`, `deployments.apps`, `deployments.apps/scale`: kubectl's way of writing
 * a resource, its group after the first dot and its subresource after the slash.
 */
export function parseResourceArgument(text: string): ResourceArgument {
  const slash = text.indexOf('/');
  const head = slash < 0 ? text : text.slice(0, slash);
  const subresource = slash < 0 ? '' : text.slice(slash + 1);
  if (head === '' || (slash >= 0 && subresource === '')) throw new QueryUsageError(`resource ${JSON.stringify(text)}: write RESOURCE[.GROUP][/SUBRESOURCE], e.g. pods/exec or deployments.apps/scale`);
  const dot = head.indexOf('.');
  return dot < 0 ? { resource: head, subresource, apiGroup: undefined } : { resource: head.slice(0, dot), subresource, apiGroup: head.slice(dot + 1) };
}

const describe = (r: Ref): string => `${r.kind} ${r.namespace ? `${r.namespace}/` : ''}${r.name}`;

const FORM_WORDS: Readonly<Record<string, string>> = {
  resourceNames: 'named objects only', subresource: 'subresource', roleBindingToClusterRole: 'RoleBinding to ClusterRole',
  serviceAccountGroup: 'ServiceAccount group', nonResourceURL: 'non-resource path',
};

/** How a grant reaches the request, in words: `* in verbs, resources; RoleBinding to ClusterRole`. */
export function howText(g: Pick<GrantLike, 'forms' | 'wildcards'>): string {
  return g.forms.map((f) => (f === 'wildcard' ? `* in ${g.wildcards.join(', ')}` : FORM_WORDS[f] ?? f)).join('; ');
}

type Row = { subject: Ref; grant: GrantLike };

const COLUMNS: ReadonlyArray<Column<Row>> = [
  { title: 'Subject', value: (r) => describe(r.subject), max: 60 },
  // A Role is always in its RoleBinding's namespace: named once.
  { title: 'Via', value: (r) => `${describe(r.grant.binding)} -> ${r.grant.role.kind} ${r.grant.role.name} rule #${r.grant.ruleIndex}`, max: 160 },
  { title: 'Scope', value: (r) => (r.grant.namespace ? `namespace ${r.grant.namespace}` : 'cluster-wide'), max: 80 },
  { title: 'How', value: (r) => howText(r.grant), max: 80 },
];

/** The table, then the caveats. */
export function renderWhoCan(a: AnswerLike): string {
  const rows = a.subjects.flatMap((s) => s.grants.map((grant) => ({ subject: s.subject, grant })));
  const head = rows.length === 0 ? 'RBAC grants this to no subject.\n' : renderTable(rows, COLUMNS);
  return `${head}\nWhat RBAC cannot see:\n${a.caveats.map((c) => `- ${c.text}`).join('\n')}\n`;
}

export function addWhoCanCommand(program: Command, io: QueryIo): Command {
  return withConnection(program.command('who-can').description("who the cluster's RBAC lets do this: each subject with the binding, role and rule that grant it, then what RBAC cannot see"))
    .argument('<verb>', 'get, list, watch, create, update, patch, delete, escalate, bind, impersonate, ...')
    .argument('[resource]', 'RESOURCE[.GROUP][/SUBRESOURCE]: pods, pods/exec, secrets, deployments.apps/scale (leave it out with --non-resource-url)')
    .option('-n, --namespace <ns>', 'in this namespace (default: cluster-scoped, or every namespace at once: only ClusterRoleBindings grant that)')
    .option('--name <name>', "the object's name (rules limited by resourceNames grant only the objects they name)")
    .option('--api-group <group>', 'the API group (default: the core group, or the one after the dot in RESOURCE)')
    .option('--non-resource-url <path>', 'a path that is not a resource, e.g. /metrics, instead of RESOURCE')
    .addOption(new Option('--format <format>', 'the same as -o').choices(['table', 'json']).hideHelp().conflicts('output'))
    .action(async (verb: string, resourceText: string | undefined, o: ConnectionFlags & { namespace?: string; name?: string; apiGroup?: string; nonResourceUrl?: string; format?: Output }) => {
      const parsed = resourceText === undefined ? undefined : parseResourceArgument(resourceText);
      if (parsed?.apiGroup !== undefined && o.apiGroup !== undefined) throw new QueryUsageError(`the group is given twice: in ${JSON.stringify(resourceText)} and --api-group`);
      if ((parsed === undefined) === (o.nonResourceUrl === undefined)) throw new QueryUsageError('give a RESOURCE or --non-resource-url, not both or neither');
      const output = o.format ?? o.output;
      await runQuery(o, io, async (conn) => {
        const answer = await getOk<AnswerLike>(conn, '/api/v1/posture/who-can', {
          verb, resource: parsed?.resource, subresource: parsed?.subresource, apiGroup: parsed?.apiGroup ?? o.apiGroup,
          namespace: o.namespace, name: o.name, nonResourceURL: o.nonResourceUrl,
        });
        writeOut(io, output === 'json' ? JSON.stringify(answer, null, 2) : renderWhoCan(answer));
      });
    });
}

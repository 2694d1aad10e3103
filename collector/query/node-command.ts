// `nodeward node delete NAME`: an operator forgets a node (decommissioned, renamed, or one that
// only ever sent junk) through the collector's API (admin token). Its open findings resolve
// (history and webhooks say so), the baselines only it created go, and its inventory row goes.
// A connected node is refused (its agent would bring it back). Exit codes as for
// `nodeward query`: 0 done, 1 the call failed, 2 usage error.
import type { Command } from 'commander';
import { deleteOk } from './client.js';
import { resolveConnection, usageOrFailure, withConnection, type ConnectionFlags, type QueryIo } from './command.js';

interface Deleted { node: string; findingsResolved: number; baselinesDeleted: number }

export function addNodeCommand(program: Command, io: QueryIo): Command {
  const node = program.command('node').description('manage the nodes the collector knows (needs an admin token)');
  withConnection(node.command('delete').description('delete a node that is not connected: its open findings resolve, the baselines only it created go'))
    .argument('<name>', 'the node name')
    .action(async (name: string, o: ConnectionFlags) => {
      const conn = resolveConnection(o, io.env);
      let r: Deleted;
      try {
        r = await deleteOk<Deleted>(conn, `/api/v1/nodes/${encodeURIComponent(name)}`);
      } catch (err) {
        usageOrFailure(err);
      }
      io.stdout.write(o.output === 'json' ? `${JSON.stringify(r, null, 2)}\n`
        : `${r.node}: deleted; ${r.findingsResolved} finding${r.findingsResolved === 1 ? '' : 's'} resolved, ${r.baselinesDeleted} baseline${r.baselinesDeleted === 1 ? '' : 's'} deleted\n`);
    });
  return node;
}

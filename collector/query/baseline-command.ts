// `nodeward baseline allow|remove|lock|unlock --key K [--exe PATH...]`: an operator's change to
// a central baseline through the collector's API (admin token). An allow allows the contents
// (SHA-256) the executables' open findings saw, or with `--any-content` any content at the path. The collector stores it and
// pushes it to every connected agent. `nodeward baseline delete --key K` deletes one (junk a
// node reported, or a workload that is gone). `nodeward baseline allow-listen --key K --listen
// tcp/0.0.0.0:8080` (or tcp/private:8080, the port on any private address) adds a listen to the
// baseline's listen set; its exposure-new-listener findings resolve (docs/exposure.md). Exit codes as for `nodeward query`: 0 done, 1 the call
// failed, 2 usage error (including a parameter the API refused with 400).
import type { Command } from 'commander';
import { postOk } from './client.js';
import { resolveConnection, usageOrFailure, withConnection, QueryUsageError, type ConnectionFlags, type QueryIo } from './command.js';

interface ChangeResult {
  action: string; key: string; version: number; pushed: number;
  baseline: { state: string; items: unknown[]; removed: unknown[] };
}

const ACTIONS = {
  allow: 'allow executables in a baseline, with the contents their open findings saw (or --any-content); those findings resolve on every node',
  remove: 'remove executables from a baseline; they are never learned again',
  lock: 'lock a baseline: every agent adopts it as the collector holds it now',
  unlock: 'unlock a baseline: agents learn again for a fresh window',
} as const;

export function addBaselineCommand(program: Command, io: QueryIo): Command {
  const baseline = program.command('baseline').description('change a central process baseline (needs an admin token)');
  for (const [action, description] of Object.entries(ACTIONS)) {
    const takesExe = action === 'allow' || action === 'remove';
    const cmd = withConnection(baseline.command(action).description(description))
      .requiredOption('--key <key>', 'the baseline key: host/control-plane, host/worker, <namespace>/<Kind>/<workload>/<container> or container:<id> (host: agents older than node roles)');
    if (takesExe) cmd.option('--exe <path...>', 'absolute path of an executable (repeat for more)');
    if (action === 'allow') cmd.option('--any-content', 'allow any content at these paths, not only the contents (SHA-256) their findings saw');
    cmd.action(async (o: ConnectionFlags & { key: string; exe?: string[]; anyContent?: boolean }) => {
      if (takesExe && !o.exe?.length) throw new QueryUsageError(`baseline ${action} needs at least one --exe PATH`);
      const conn = resolveConnection(o, io.env);
      let r: ChangeResult;
      try {
        r = await postOk<ChangeResult>(conn, `/api/v1/baselines/${action}`, {
          key: o.key, ...(takesExe ? { executables: o.exe } : {}), ...(o.anyContent ? { content: 'any' } : {}),
        });
      } catch (err) {
        usageOrFailure(err);
      }
      if (o.output === 'json') {
        io.stdout.write(`${JSON.stringify(r, null, 2)}\n`);
        return;
      }
      io.stdout.write(`${r.key}: ${action} done (version ${r.version}); now ${r.baseline.state} with ${r.baseline.items.length} executables`
        + ` and ${r.baseline.removed.length} removed; pushed to ${r.pushed} connected agent${r.pushed === 1 ? '' : 's'}\n`);
    });
  }
  withConnection(baseline.command('allow-listen').description("allow a listen in a baseline's listen set; its open exposure-new-listener findings resolve on every node"))
    .requiredOption('--key <key>', 'the baseline key')
    .requiredOption('--listen <listen>', '<tcp|udp>/<address>:<port> as the finding names it (tcp/0.0.0.0:8080, udp/[::1]:53), or <tcp|udp>/<class>:<port> for the port on any address of a class (loopback, link-local, private, public)')
    .action(async (o: ConnectionFlags & { key: string; listen: string }) => {
      const conn = resolveConnection(o, io.env);
      let r: { key: string; listen: string; version: number; pushed: number; baseline: { state: string; listens: unknown[] } };
      try {
        r = await postOk<typeof r>(conn, '/api/v1/baselines/allow-listen', { key: o.key, listen: o.listen });
      } catch (err) {
        usageOrFailure(err);
      }
      if (o.output === 'json') {
        io.stdout.write(`${JSON.stringify(r, null, 2)}\n`);
        return;
      }
      io.stdout.write(`${r.key}: ${r.listen} allowed (version ${r.version}); ${r.baseline.state} with ${r.baseline.listens.length} listens;`
        + ` pushed to ${r.pushed} connected agent${r.pushed === 1 ? '' : 's'}\n`);
    });
  withConnection(baseline.command('delete').description('delete a central baseline: its executables, removals and state (agents keep theirs)'))
    .requiredOption('--key <key>', 'the baseline key')
    .action(async (o: ConnectionFlags & { key: string }) => {
      const conn = resolveConnection(o, io.env);
      let r: { key: string; deleted: boolean };
      try {
        r = await postOk<{ key: string; deleted: boolean }>(conn, '/api/v1/baselines/delete', { key: o.key });
      } catch (err) {
        usageOrFailure(err);
      }
      io.stdout.write(o.output === 'json' ? `${JSON.stringify(r, null, 2)}\n` : `${r.key}: deleted\n`);
    });
  return baseline;
}

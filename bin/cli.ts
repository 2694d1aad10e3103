// The `nodeward` command. Parses arguments and hands over; no logic of its own beyond
// exit codes: 0 done, 1 --fail-on matched or a run failed, 2 usage or configuration error.
import { Command, CommanderError, InvalidArgumentError, Option, type ErrorOptions, type HelpContext } from 'commander';
import { readFileSync } from 'node:fs';
import { ConfigError } from '../proto/support/config-loader.js';
import type { Logger } from '../proto/support/logger.js';
import { SEVERITIES } from '../proto/domain.js';
import { addQueryCommand } from '../collector/query/command.js';
import { addBaselineCommand } from '../collector/query/baseline-command.js';
import { addNodeCommand } from '../collector/query/node-command.js';
import { addFindingsCommand } from '../collector/query/findings-command.js';
import { addAuditCommand } from '../collector/query/audit-command.js';
import { addWebhooksCommand } from '../collector/query/webhooks-command.js';
import { addWhoCanCommand } from '../collector/query/who-can-command.js';
import { addStoreCommand } from '../collector/store/pg/copy-command.js';
import { DEV_PORTS, duplicatePorts, portValueProblem } from './dev-ports.js';
import { SCAN_FORMATS, SCAN_FORMAT_NAMES, type ScanFormat } from '../agent/scan-formats/index.js';
import { DISTRIBUTION_NAMES } from '../agent/facts/layouts.js';

const VERSION = (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version;

class UsageError extends Error {}

/**
 * Commander's command with usage errors in one line: the command, what is wrong, and where its
 * help is (`nodeward query findings: unknown option '--sevrity' (see nodeward query findings --help)`),
 * instead of the whole help after the error. A group run without its subcommand names them.
 */
class CliCommand extends Command {
  override createCommand(name?: string): CliCommand {
    return new CliCommand(name);
  }

  /** `nodeward query findings`: the names from the program down to this command. */
  commandPath(): string {
    const names: string[] = [];
    for (let c: Command | null = this; c; c = c.parent) names.unshift(c.name());
    return names.join(' ');
  }

  override error(message: string, errorOptions?: ErrorOptions): never {
    const what = message.replace(/^error: /, '').replace(/\s*\(Did you mean (.*?)\?\)/, '; did you mean $1?').replace(/\s*\n\s*/g, ' ').trim();
    return super.error(`${this.commandPath()}: ${what} (see ${this.commandPath()} --help)`, errorOptions);
  }

  override help(context?: HelpContext): never;
  override help(cb: (str: string) => string): never;
  override help(context?: HelpContext | ((str: string) => string)): never {
    if (typeof context === 'object' && context.error) {
      const names = this.commands.filter((c) => !(c as Command & { _hidden?: boolean })._hidden).map((c) => c.name());
      this.error(`needs a command: ${names.join(', ')}`, { code: 'nodeward.missingCommand', exitCode: 2 });
    }
    return super.help(context as HelpContext);
  }
}

/** Stops a long-running part on SIGTERM/SIGINT, within the pod's grace period; says so in its log. */
function runUntilSignal(log: Logger, part: { start(): Promise<void>; stop(): Promise<void> }): Promise<void> {
  return new Promise((resolve, reject) => {
    let stopping = false;
    const stop = (signal: string): void => {
      if (stopping) return;
      stopping = true;
      log.info({ signal }, `${signal}, stopping`);
      const force = setTimeout(() => process.exit(1), 25_000);
      force.unref();
      part.stop().then(resolve, reject);
    };
    process.once('SIGTERM', () => stop('SIGTERM'));
    process.once('SIGINT', () => stop('SIGINT'));
    part.start().catch(async (err: unknown) => {
      await part.stop().catch(() => undefined);
      reject(err);
    });
  });
}

function buildProgram(): Command {
  const program = new CliCommand('nodeward')
    .description('Kubernetes node security agent and collector')
    .version(VERSION)
    .exitOverride();

  program.command('scan')
    .description('scan this node once and print a report (no collector needed)')
    .option('--host-root <dir>', "where the host's files are read", '/')
    .option('--proc-root <dir>', "where the host's processes are read", '/proc')
    .option('--node <name>', 'node name for the report (default: the host name)')
    .addOption(new Option('-o, --output <format>', `output format (default text): ${SCAN_FORMAT_NAMES.map((f) => `${f}: ${SCAN_FORMATS[f].what}`).join('; ')}`).choices(SCAN_FORMAT_NAMES))
    .addOption(new Option('--format <format>', 'the older name of --output').choices(SCAN_FORMAT_NAMES).hideHelp().conflicts('output'))
    .option('--checks <ids>', 'comma-separated check ids or sections, e.g. 4.2,cis-4.1.5')
    .option('--benchmark <name>', "judge and label results under this benchmark (auto: the one the node's distribution names); e.g. cis-1.12, cis-eks-1.7", 'auto')
    .addOption(new Option('--fail-on <severity>', 'exit 1 when a failing check has at least this severity, listing those checks on stderr').choices([...SEVERITIES]))
    .option('--dump-facts', 'print the collected facts as JSON instead of a report')
    .option('--no-probe', "do not connect to the kubelet's ports on 127.0.0.1 (10250, 10255) or to etcd's client URLs")
    .addOption(new Option('--distribution <name>', "the distribution layout to read the node's files with, instead of detecting it (docs/distributions.md)").choices(['auto', ...DISTRIBUTION_NAMES]))
    .action(async (opts: { hostRoot: string; procRoot: string; node?: string; output?: ScanFormat; format?: ScanFormat; checks?: string; benchmark: string; failOn?: (typeof SEVERITIES)[number]; dumpFacts?: boolean; probe: boolean; distribution?: string }) => {
      const { runScanCommand } = await import('../agent/scan-command.js');
      process.exitCode = await runScanCommand({
        hostRoot: opts.hostRoot, procRoot: opts.procRoot, node: opts.node, format: opts.output ?? opts.format ?? 'text', toolVersion: VERSION,
        checks: opts.checks ? opts.checks.split(',').map((s) => s.trim()).filter(Boolean) : [],
        benchmark: opts.benchmark, failOn: opts.failOn, dumpFacts: opts.dumpFacts === true, probe: opts.probe, distribution: opts.distribution,
      }, process.stdout, process.stderr);
    });

  program.command('agent')
    .description('run the node agent: scan, watch, and stream findings to the collector')
    .option('--config <file>', 'YAML configuration file (NODEWARD_* environment variables override it)')
    .action(async (opts: { config?: string }) => {
      const { loadAgentConfig } = await import('../agent/config.js');
      const { createAgent } = await import('../agent/main.js');
      const config = loadAgentConfig({ file: opts.config, env: process.env }, { needCollector: true });
      const { createLogger } = await import('../proto/support/logger.js');
      const log = createLogger('agent', config.log.level);
      await runUntilSignal(log, createAgent(config, { version: VERSION, log }));
    });

  program.command('collector')
    .description('run the collector: gRPC ingest, SQLite store, query API')
    .option('--config <file>', 'YAML configuration file (NODEWARD_* environment variables override it)')
    .action(async (opts: { config?: string }) => {
      const { loadCollectorConfig } = await import('../collector/config.js');
      const { createCollector } = await import('../collector/main.js');
      const config = loadCollectorConfig({ file: opts.config, env: process.env });
      const { createLogger } = await import('../proto/support/logger.js');
      const log = createLogger('collector', config.log.level);
      await runUntilSignal(log, createCollector(config, { log }));
    });

  const io = { env: process.env, stdout: process.stdout, stderr: process.stderr };
  addQueryCommand(program, io);
  addFindingsCommand(program, io);
  addAuditCommand(program, io);
  addWebhooksCommand(program, io);
  addBaselineCommand(program, io);
  addNodeCommand(program, io);
  addWhoCanCommand(program, io);
  addStoreCommand(program, io);

  program.command('pki')
    .description('certificates for small installs, npm start and tests')
    .command('init <dir>')
    .description('create a CA, a collector server certificate and one client certificate per node')
    .option('--node <name...>', 'node names to issue agent certificates for', [])
    .option('--host <name...>', 'names and addresses the collector is reached at', ['localhost', '127.0.0.1', '::1'])
    .action(async (dir: string, opts: { node: string[]; host: string[] }) => {
      const { initPki } = await import('../collector/pki/pki.js');
      const paths = await initPki(dir, { nodes: opts.node, collectorHosts: opts.host });
      process.stdout.write(`PKI in ${paths.dir}: CA ${paths.caCert}, collector ${paths.collectorCert}, agents: ${Object.keys(paths.agents).join(', ') || '(none)'}\n`);
    });

  const dev = program.command('dev', { hidden: true })
    .description('the whole system on this machine with embedded defaults (what `npm start` runs; `npm start -- --api-port 9443`)')
    .option('--data <dir>', 'where PKI, database, token and logs go', './data')
    .option('--demo', 'also run demo nodes: agents scanning fixture host trees (labelled demo), so the dashboard shows a full triage');
  for (const spec of DEV_PORTS) {
    dev.addOption(new Option(`${spec.flag} <port>`, `a port on 127.0.0.1 for ${spec.what}`)
      .env(spec.env)
      .default(spec.defaultPort)
      .argParser((raw: string) => {
        const problem = portValueProblem(raw);
        if (problem) throw new InvalidArgumentError(problem);
        return Number(raw);
      }));
  }
  dev.action(async (opts: { data: string; demo?: boolean; grpcPort: number; apiPort: number; healthPort: number }) => {
    const ports = { grpc: opts.grpcPort, api: opts.apiPort, health: opts.healthPort };
    const duplicates = duplicatePorts(ports);
    if (duplicates.length > 0) throw new UsageError(duplicates.join('; '));
    const { runDev } = await import('./dev.js');
    await runDev(opts.data, VERSION, ports, { demo: opts.demo === true });
  });

  return program;
}

export async function main(argv: readonly string[]): Promise<void> {
  const program = buildProgram();
  try {
    await program.parseAsync([...argv], { from: 'user' });
  } catch (err) {
    if (err instanceof CommanderError) {
      process.exitCode = err.exitCode === 0 ? 0 : 2;
      return;
    }
    if (err instanceof ConfigError || err instanceof UsageError) {
      process.stderr.write(`nodeward: ${err.message}\n`);
      process.exitCode = 2;
      return;
    }
    const e = err as Error & { code?: string };
    process.stderr.write(`nodeward: ${e.code === 'USAGE' ? '' : 'error: '}${e.message}\n`);
    process.exitCode = e.code === 'USAGE' ? 2 : 1;
  }
}

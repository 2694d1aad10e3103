// `nodeward scan`: one pass of facts -> checks -> report, printed. No collector needed.
import { hostname } from 'node:os';
import { existsSync } from 'node:fs';
import type { Severity } from '../proto/domain.js';
import { collectFacts } from './facts/index.js';
import { exposureCollector } from './exposure/wiring.js';
import { DEFAULT_KUBELET_PROBE } from './facts/kubelet-probe.js';
import { DEFAULT_ETCD_PROBE } from './facts/etcd-probe.js';
import { probesFor } from './checks/wire-evidence.js';
import { CATALOG, selectChecks } from './checks/index.js';
import { evaluate } from './checks/evaluate.js';
import { AUTO_BENCHMARK, benchmarkFor, detectedBenchmark, isBenchmarkName, judgeUnder, UnknownBenchmarkError } from './checks/benchmarks/index.js';
import { buildScanReport, failOnMatches, formatFailOn } from './scan-report.js';
import { renderScan, type ScanFormat } from './scan-formats/index.js';

export interface ScanCommandOptions {
  readonly hostRoot: string;
  readonly procRoot: string;
  readonly node?: string | undefined;
  readonly format: ScanFormat;
  /** nodeward's version (SARIF names the tool with it). */
  readonly toolVersion?: string;
  readonly checks: readonly string[];
  readonly failOn?: Severity | undefined;
  readonly dumpFacts: boolean;
  /**
   * The benchmark to judge under (agent/checks/benchmarks/): a name, or `auto` (the default)
   * for the one the node's distribution names.
   */
  readonly benchmark?: string;
  /** Probe the kubelet's ports and etcd's client URLs on this node (default true; `--no-probe` turns it off). */
  readonly probe?: boolean;
  /** `auto` (the default) or a distribution layout's name: the layout the node's files are read with. */
  readonly distribution?: string | undefined;
}

function usage(message: string): Error {
  return Object.assign(new Error(message), { code: 'USAGE' });
}

/**
 * Runs the scan and writes the report to `out`; returns the exit code. When --fail-on matches,
 * the matching results are listed on `stderr` (stdout stays the report, whatever its format).
 */
export async function runScanCommand(opts: ScanCommandOptions, out: NodeJS.WritableStream, stderr: NodeJS.WritableStream): Promise<number> {
  for (const [flag, dir] of [['--host-root', opts.hostRoot], ['--proc-root', opts.procRoot]] as const) {
    if (!existsSync(dir)) throw usage(`${flag} ${dir} does not exist`);
  }
  const setting = opts.benchmark ?? AUTO_BENCHMARK;
  if (setting !== AUTO_BENCHMARK && !isBenchmarkName(setting)) throw usage(new UnknownBenchmarkError(setting).message);
  let specs;
  try {
    specs = opts.checks.length > 0 ? selectChecks(CATALOG, opts.checks) : CATALOG;
  } catch (err) {
    throw usage((err as Error).message);
  }
  // The network probe runs only for the checks that judge it (and --dump-facts), never when turned off.
  const probes = probesFor(specs);
  const probe = opts.probe !== false && (opts.dumpFacts || probes.kubelet);
  const etcdProbe = opts.probe !== false && (opts.dumpFacts || probes.etcd);
  const facts = await collectFacts({
    hostRoot: opts.hostRoot, procRoot: opts.procRoot, distribution: opts.distribution ?? 'auto',
    kubeletProbe: probe ? DEFAULT_KUBELET_PROBE : null, etcdProbe: etcdProbe ? DEFAULT_ETCD_PROBE : null,
    exposure: exposureCollector({ procRoot: opts.procRoot, hostRoot: opts.hostRoot, ranges: [], maxListeners: 4096, walkBudgetMs: 2000 }, () => undefined),
  });
  if (opts.dumpFacts) {
    out.write(`${JSON.stringify(facts, null, 2)}\n`);
    return 0;
  }
  const now = new Date();
  const benchmark = benchmarkFor(setting, detectedBenchmark(facts));
  const judging = judgeUnder(benchmark, specs);
  const results = evaluate(facts, judging.specs, now).map(judging.relabel);
  const report = buildScanReport({
    node: opts.node ?? hostname().toLowerCase(), scannedAt: now, benchmark: benchmark.name,
    scope: specs.map((s) => s.id), results,
  });
  out.write(renderScan(opts.format, {
    report, checks: judging.specs, toolVersion: opts.toolVersion ?? '0.0.0',
    ...(facts.distribution === undefined ? {} : { distribution: facts.distribution }),
  }));
  if (!opts.failOn) return 0;
  const matches = failOnMatches(report, opts.failOn);
  if (matches.length === 0) return 0;
  stderr.write(formatFailOn(matches, opts.failOn));
  return 1;
}

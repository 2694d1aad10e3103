// The benchmarks part of docs/checks.md, rendered from agent/checks/benchmarks/: for each
// benchmark other than CIS Kubernetes, every control of its node section with the check that
// decides it, whether it is the same CIS Kubernetes control, where the benchmark asks another
// test or audits another file, and the controls no check decides.
import { AUTO_BENCHMARK, BENCHMARKS, type Benchmark, type BenchmarkControl } from '../../agent/checks/benchmarks/index.js';
import { CIS_BENCHMARK } from '../../proto/benchmark-refs.js';
import { code, slug, table, text } from './markdown.js';

const testText = (c: BenchmarkControl): string =>
  c.test === undefined ? '' : c.test.op === 'bitmask-mode-at-most' ? `asks mode ${c.test.value} or stricter` : `asks ${c.test.op}`;

function benchmarkSection(b: Benchmark): string {
  const rows = b.controls.map((c) => [
    code(`${b.name}:${c.control}`),
    `[${c.check}](#${slug(c.check)})`,
    c.cis === undefined ? 'no' : code(`${CIS_BENCHMARK}:${c.cis}`),
    c.scored ? 'automated' : 'manual',
    text(c.title),
    text(testText(c)),
    text(c.audits ?? ''),
  ]);
  const uncovered = b.notCovered.length === 0
    ? 'Every control of its node section is decided by a nodeward check.'
    : ['Not covered (a report judged under it says so):', '', ...b.notCovered.map((u) => `- ${code(`${b.name}:${u.control}`)} ${text(u.title)}: ${text(u.why)}`)].join('\n');
  return [
    `### ${b.name}`,
    '',
    `**${text(b.title)}**: control ids, automated or manual, and audit targets from ${text(b.source)}; titles and remediation are ours.`,
    '',
    table(['control', 'decided by', 'same CIS Kubernetes control', 'benchmark', 'title', 'its own test', 'where it looks'], rows),
    '',
    uncovered,
    '',
  ].join('\n');
}

export function benchmarksMarkdown(): string {
  const others = BENCHMARKS.filter((b) => !b.native);
  return [
    '## Benchmarks',
    '',
    `A node is judged under one benchmark: the agent setting \`benchmark\` (\`${AUTO_BENCHMARK}\`, the default, takes the one`,
    'the node\'s distribution names, CIS Kubernetes when none is recognised) or `./bin/nodeward scan --benchmark NAME`.',
    `Known: ${BENCHMARKS.map((b) => code(b.name)).join(', ')}. Under CIS Kubernetes (${code(CIS_BENCHMARK)}) results carry the`,
    'references listed with each check above. Under another benchmark, the checks that decide its controls',
    'carry its reference (`cis-eks-1.7:3.2.1`), its title and a remediation in its distribution\'s terms, and',
    'the CIS Kubernetes reference only where the problem and the test are the same; where it asks another',
    'test (a file mode of 644 where CIS Kubernetes asks 600) the check judges with that test. Every other',
    'check still runs and keeps its CIS Kubernetes references. Result ids stay the check ids, so a finding',
    'keeps its identity whichever benchmark judges the node. A report names its benchmark (`benchmark`).',
    '',
    ...others.map(benchmarkSection),
  ].join('\n');
}

// The runtime sensor's check ids are defined once, in proto/process-checks.ts: the agent sends
// findings under them and the collector reads them back, so a second spelling in either app
// is a contract that can drift. Code in agent/ and collector/ names them through the import.
// The collector's own check (agent-stale, proto/collector-checks.ts) is held to the same rule.
import test from 'ava';
import { readdir, readFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  EXEC_COVERAGE_CHECK, PROC_FAKE_CONTAINER_CGROUP_CHECK, PROC_INLINE_CODE_CHECK, PROC_MODIFIED_BINARY_CHECK, PROC_REVERSE_SHELL_CHECK,
  PROC_UNEXPECTED_CHECK, PROC_UNVERIFIED_BINARY_CHECK, PROCESS_DETAIL_CHECK_IDS,
} from '../../proto/process-checks.js';
import { EXEC_COVERAGE } from '../../agent/checks/exec-coverage.js';
import {
  PROC_FAKE_CONTAINER_CGROUP, PROC_INLINE_CODE, PROC_MODIFIED_BINARY, PROC_REVERSE_SHELL, PROC_UNEXPECTED,
} from '../../agent/processes/findings.js';
import { AGENT_MISSING_CHECK, AGENT_STALE_CHECK } from '../../proto/collector-checks.js';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const IDS = [
  PROC_UNEXPECTED_CHECK, PROC_FAKE_CONTAINER_CGROUP_CHECK, EXEC_COVERAGE_CHECK, PROC_REVERSE_SHELL_CHECK, PROC_INLINE_CODE_CHECK, PROC_MODIFIED_BINARY_CHECK,
  PROC_UNVERIFIED_BINARY_CHECK, AGENT_STALE_CHECK, AGENT_MISSING_CHECK,
].map((c) => c.id);

async function sources(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(dir, { withFileTypes: true, recursive: true })) {
    if (e.isFile() && /\.(ts|tsx|js|html)$/.test(e.name)) out.push(join(e.parentPath, e.name));
  }
  return out;
}

test('no source in agent/ or collector/ spells a process check id as a string literal', async (t) => {
  const found: string[] = [];
  for (const file of [...await sources(join(ROOT, 'agent')), ...await sources(join(ROOT, 'collector'))]) {
    const text = await readFile(file, 'utf8');
    for (const id of IDS) {
      for (const q of ["'", '"']) if (text.includes(`${q}${id}${q}`)) found.push(`${relative(ROOT, file)}: ${q}${id}${q}`);
    }
  }
  t.deepEqual(found, []);
});

test('the agent and the collector use the contract\'s ids, categories and severities', (t) => {
  t.like(PROC_UNEXPECTED, { id: 'proc-unexpected', category: 'process', severity: 'SEVERITY_HIGH' });
  t.like(PROC_FAKE_CONTAINER_CGROUP, { id: 'proc-fake-container-cgroup', category: 'process', severity: 'SEVERITY_HIGH' });
  t.like(EXEC_COVERAGE, { id: 'agent-exec-coverage', category: 'agent', severity: 'medium' });
  t.like(PROC_REVERSE_SHELL, { id: 'proc-reverse-shell', category: 'process', severity: 'SEVERITY_CRITICAL' });
  t.like(PROC_INLINE_CODE, { id: 'proc-inline-code', category: 'process', severity: 'SEVERITY_MEDIUM' });
  t.like(PROC_MODIFIED_BINARY, { id: 'proc-modified-binary', category: 'process', severity: 'SEVERITY_CRITICAL' });
  // Findings of every process check carry a ProcessDetail, which the collector accepts for them.
  t.deepEqual([...PROCESS_DETAIL_CHECK_IDS].sort(), ['proc-fake-container-cgroup', 'proc-inline-code', 'proc-modified-binary', 'proc-reverse-shell', 'proc-unexpected', 'proc-unverified-binary']);
  t.like(AGENT_STALE_CHECK, { id: 'agent-stale', category: 'agent', severity: 'high' });
  t.like(AGENT_MISSING_CHECK, { id: 'agent-missing', category: 'agent', severity: 'high' });
});

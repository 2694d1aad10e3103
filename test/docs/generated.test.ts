// The generated references under docs/ are what the generators write today (so a new setting,
// check or API call cannot ship undocumented), and they document everything their sources hold.
import test from 'ava';
import { RBAC_CHECKS } from '../../collector/posture/rbac-checks.js';
import { WORKLOAD_CHECKS } from '../../collector/posture/workload-checks.js';
import { readFileSync } from 'node:fs';
import { AgentConfigSchema } from '../../agent/config.js';
import { CATALOG } from '../../agent/checks/index.js';
import { CollectorConfigSchema } from '../../collector/config.js';
import { AGENT_STALE_CHECK } from '../../proto/collector-checks.js';
import { EXEC_COVERAGE_CHECK, PROCESS_DETAIL_CHECK_IDS } from '../../proto/process-checks.js';
import { envSettings } from '../../proto/support/config-loader.js';
import { checksMarkdown, type CheckEntry } from '../../scripts/docs/checks.js';
import { RETIRED_CHECKS } from '../../proto/retired-checks.js';
import { GENERATED_DOCS, generatedDocs } from '../../scripts/docs/generated.js';

const doc = (name: string): string => readFileSync(new URL(`../../../docs/${name}`, import.meta.url), 'utf8');

/** The first line where two texts differ, for a message a person can act on. */
function firstDifference(committed: string, current: string): string {
  const a = committed.split('\n');
  const b = current.split('\n');
  const i = a.findIndex((line, n) => line !== b[n]);
  const at = i === -1 ? a.length : i;
  return `line ${at + 1}: committed ${JSON.stringify(a[at] ?? '(end of file)')}, generated ${JSON.stringify(b[at] ?? '(end of file)')}`;
}

test('every generated reference in docs/ is what npm run gen:docs writes now', async (t) => {
  const current = await generatedDocs();
  t.deepEqual(Object.keys(current).sort(), [...GENERATED_DOCS].sort());
  for (const name of GENERATED_DOCS) {
    const committed = doc(name);
    t.true(committed === current[name], `docs/${name} is out of date: run npm run gen:docs (${firstDifference(committed, current[name])})`);
  }
});

test('the generators are deterministic: two runs write the same text', async (t) => {
  t.deepEqual(await generatedDocs(), await generatedDocs());
});

test('the configuration reference documents every agent and collector setting with its environment variable, type and default', (t) => {
  const text = doc('configuration.md');
  const agentPart = text.slice(text.indexOf('## Agent'), text.indexOf('## Collector'));
  const collectorPart = text.slice(text.indexOf('## Collector'));
  for (const [part, schema, least] of [[agentPart, AgentConfigSchema, 40], [collectorPart, CollectorConfigSchema, 60]] as const) {
    const settings = envSettings(schema, 'NODEWARD');
    t.true(settings.length >= least, `only ${settings.length} settings found`);
    for (const s of settings) {
      const row = part.split('\n').find((l) => l.startsWith(`| \`${s.path}\` |`));
      if (!row) {
        t.fail(`no row for ${s.path}: run npm run gen:docs`);
        continue;
      }
      t.true(row.includes(`\`${s.env}\``), `${s.path}: the row names ${s.env}`);
      if (s.default !== undefined) t.true(row.includes(`\`${JSON.stringify(s.default)}\``.replace(/\|/g, '\\|')), `${s.path}: the row gives the default ${JSON.stringify(s.default)}`);
      if (s.description) t.true(row.length > s.path.length + s.env.length + 20, `${s.path}: the row has its description`);
    }
  }
});

test('the check reference has a section for every check nodeward reports, saying what it reads', (t) => {
  const text = doc('checks.md');
  // The collector's posture checks too (cluster findings), straight from their data.
  const ids = [...CATALOG.map((c) => c.id), ...PROCESS_DETAIL_CHECK_IDS, EXEC_COVERAGE_CHECK.id, AGENT_STALE_CHECK.id,
    ...new Set([...RBAC_CHECKS, ...WORKLOAD_CHECKS].map((c) => c.id))];
  t.true(ids.length > 100);
  for (const id of ids) {
    const start = text.indexOf(`\n### ${id}\n`);
    if (start < 0) {
      t.fail(`docs/checks.md has no section for ${id}: run npm run gen:docs`);
      continue;
    }
    const section = text.slice(start, text.indexOf('\n### ', start + 1) === -1 ? undefined : text.indexOf('\n### ', start + 1));
    t.regex(section, /\n- Reads: \S/, `${id} says what it reads`);
    t.regex(section, /\n- Remediation: \S/, `${id} says how to fix it`);
    t.regex(section, /Severity: `(info|low|medium|high|critical)`/, `${id} gives its severity`);
  }
  t.regex(text, /\n### cis-4\.2\.1\n[^#]*references: `cis-1\.12:4\.2\.1`/, 'a CIS check names its benchmark and control');
});

test("the check reference gives every check the catalog's benchmark references, and no check that was merged into another", (t) => {
  const text = doc('checks.md');
  const sectionOf = (id: string): string => {
    const start = text.indexOf(`\n### ${id}\n`);
    const end = text.indexOf('\n### ', start + 1);
    return start < 0 ? '' : text.slice(start, end === -1 ? undefined : end);
  };
  let shown = 0;
  for (const c of CATALOG) {
    const facts = sectionOf(c.id).split('\n').find((l) => l.startsWith('Severity: ')) ?? '';
    if (c.references.length === 0) {
      t.false(facts.includes('references:'), `${c.id} names no reference it does not have`);
      continue;
    }
    t.true(facts.includes(`references: ${c.references.map((r) => `\`${r}\``).join(', ')}.`), `${c.id} shows ${c.references.join(', ')}: ${facts}`);
    shown++;
  }
  t.true(shown > 80, `${shown} checks with references`);
  // cert-key-file took over CIS 1.1.21 (issue 17): its section names the control beyond its own id.
  t.regex(sectionOf('cert-key-file'), /references: [^\n]*`cis-1\.12:1\.1\.21`/);
  for (const r of RETIRED_CHECKS) t.is(sectionOf(r.id), '', `${r.id} was merged into ${r.into.map((x) => x.checkId).join(', ')}: no section of its own`);
});

test('the API reference gives each call the role its route requires', (t) => {
  const text = doc('api.md');
  const roleOf = (call: string): string | undefined => {
    const start = text.indexOf(`### \`${call}\``);
    return start < 0 ? undefined : /Role: `([a-z]+)`/.exec(text.slice(start))?.[1];
  };
  t.is(roleOf('GET /api/v1/findings'), 'reader');
  t.is(roleOf('POST /api/v1/findings/{id}/suppress'), 'admin');
  t.is(roleOf('DELETE /api/v1/nodes/{name}'), 'admin');
  t.is(roleOf('GET /api/v1/audit'), 'admin');
});

const entry = (over: Partial<CheckEntry>): CheckEntry => ({
  id: 'x-1', title: 'A check', category: 'kubelet', severity: 'low', scored: true, references: [], reads: 'something', expects: null,
  remediation: 'fix it', raisedBy: '', ...over,
});

test("the check reference takes checks it does not know yet: another benchmark's references, a new category", (t) => {
  const md = checksMarkdown([entry({ id: 'net-1', category: 'network', references: ['eks-1.5:3.1.1'] }), entry({ id: 'kub-1' })]);
  t.regex(md, /\n## network\n/, 'an unknown category gets its own section');
  t.true(md.indexOf('## Kubelet and kube-proxy') < md.indexOf('## network'), 'known categories come first');
  t.regex(md, /\n### net-1\n[^#]*references: `eks-1\.5:3\.1\.1`/);
  t.throws(() => checksMarkdown([entry({ id: 'a' }), entry({ id: 'a' })]), { message: /listed twice/ });
});

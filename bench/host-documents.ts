// What the bounded pre-scan (agent/facts/document-limits.ts) costs on the documents a node
// really has, against the yaml parser alone on the same text (the baseline, measured in the
// same run), and what a hostile document costs now that it is refused before parsing. The
// parser alone is not run on the hostile ones: 10 KB of brackets aborts the process and
// 1 MiB of them peaked at 627 MB.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseDocument } from 'yaml';
import { parseHostYaml } from '../agent/facts/config-file.js';
import { FIXTURES_DIR } from '../test/helpers/fixture.js';

export interface HostDocumentsBenchResult {
  readonly real: ReadonlyArray<{ name: string; bytes: number; parseOnlyUs: number; withPrescanUs: number }>;
  readonly hostile: ReadonlyArray<{ name: string; bytes: number; refusedUs: number; message: string }>;
}

const REAL = [
  ['kubelet config', 'kubeadm-worker-defaults/var/lib/kubelet/config.yaml'],
  ['API server manifest', 'kubeadm-cp-hardened/etc/kubernetes/manifests/kube-apiserver.yaml'],
  ['audit policy', 'kubeadm-cp-hardened/etc/kubernetes/audit-policy.yaml'],
] as const;

function perCallUs(rounds: number, fn: () => unknown): number {
  for (let i = 0; i < Math.min(rounds, 50); i++) fn();
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < rounds; i++) fn();
  return Number(process.hrtime.bigint() - t0) / 1000 / rounds;
}

export async function benchHostDocuments(o: { rounds: number }): Promise<HostDocumentsBenchResult> {
  const real = [];
  for (const [name, rel] of REAL) {
    const text = await readFile(join(FIXTURES_DIR, rel), 'utf8');
    const parseOnlyUs = perCallUs(o.rounds, () => parseDocument(text, { uniqueKeys: true }).toJS({ maxAliasCount: 100 }));
    const withPrescanUs = perCallUs(o.rounds, () => parseHostYaml(text, { quiet: true }));
    real.push({ name, bytes: Buffer.byteLength(text), parseOnlyUs, withPrescanUs });
  }
  const hostile = [
    ['10 KB nested brackets', `${'['.repeat(5000)}${']'.repeat(5000)}`],
    ['256 KiB nested brackets', `${'['.repeat(128 * 1024)}${']'.repeat(128 * 1024)}`],
    ['5,000-key flat mapping', Array.from({ length: 5000 }, (_, i) => `k${i}: ${i}`).join('\n')],
    ['alias bomb (50 aliases)', ['a: &a [x,x,x,x,x,x,x,x,x,x]', ...'bcdef'.split('').map((k, i) => `${k}: &${k} [${Array(10).fill(`*${'abcde'[i]}`).join(',')}]`)].join('\n')],
  ].map(([name, text]) => {
    let message = '';
    const refusedUs = perCallUs(Math.max(5, Math.floor(o.rounds / 20)), () => {
      const r = parseHostYaml(text as string, { quiet: true });
      message = r.ok ? 'accepted' : r.message;
    });
    return { name: name as string, bytes: Buffer.byteLength(text as string), refusedUs, message };
  });
  return { real, hostile };
}

export function formatHostDocumentsBench(r: HostDocumentsBenchResult): string {
  const us = (n: number): string => `${n.toFixed(0)} us`;
  return [
    'host documents: yaml parse alone (baseline) vs the same through the pre-scan',
    ...r.real.map((d) => `  ${d.name} (${d.bytes} B): ${us(d.parseOnlyUs)} -> ${us(d.withPrescanUs)}, ratio ${(d.withPrescanUs / d.parseOnlyUs).toFixed(2)}`),
    'hostile documents, refused (the parser alone: a process abort, or 627 MB at 1 MiB)',
    ...r.hostile.map((d) => `  ${d.name} (${d.bytes} B): ${us(d.refusedUs)}: ${d.message}`),
    '',
  ].join('\n');
}

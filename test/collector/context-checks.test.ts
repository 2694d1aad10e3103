// The context checks of a learned program (proc-reverse-shell, proc-inline-code) and the
// identity check (proc-modified-binary) are process checks: their findings carry the typed
// ProcessDetail, which the collector accepts for them, stores and serves back, over the real wire.
import test from 'ava';
import { PROC_INLINE_CODE, PROC_MODIFIED_BINARY, PROC_REVERSE_SHELL, processFinding } from '../../agent/processes/findings.js';
import { workloadKeyOf } from '../../proto/baseline-key.js';
import { connect, fp, ok, withCollector } from '../helpers/agent-session.js';
import { processDetail } from '../helpers/process-finding.js';

const WEB = workloadKeyOf({ namespace: 'shop', kind: 'Deployment', name: 'web', container: 'app' });

test('findings of the new process checks are stored with their detail and severity', (t) => withCollector(async (tc) => {
  const at = Date.now() - 1000;
  const sent = [
    processFinding(PROC_REVERSE_SHELL, processDetail(WEB, '/usr/bin/bash', { cmdline: 'bash -i' }), 1, at),
    processFinding(PROC_INLINE_CODE, processDetail(WEB, '/usr/bin/python3.11', { cmdline: 'python3 -c import socket' }), 2, at),
    processFinding(PROC_MODIFIED_BINARY, processDetail(WEB, '/usr/bin/curl'), 1, at),
  ];
  const a = await connect(tc, 'node-a');
  await a.batch(sent);
  for (const [f, severity] of [[sent[0]!, 'critical'], [sent[1]!, 'medium'], [sent[2]!, 'critical']] as const) {
    const got = await ok(tc, `/api/v1/findings/${fp('node-a', f.checkId!, f.subject!)}`);
    t.like(got, { checkId: f.checkId, severity, category: 'process', count: f.occurrences, title: f.title });
    t.like(got.detail, { exe: f.process!.exe, baseline: WEB, cmdline: f.process!.cmdline });
  }
  a.close();
}));

// An ack promises the agent that its batch is on disk: the agent drops it from its spool
// when the ack arrives. The collector runs as its own process under strace, and the order
// of its system calls shows that every commit's write-ahead log is synced (fdatasync or
// fsync) before the next byte goes out on a socket, i.e. before the ack can leave.
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { initPki } from '../../collector/pki/pki.js';
import { connect, proc } from '../helpers/agent-session.js';
import type { TestCollector } from '../helpers/collector.js';
import { startNodeward, type NodewardProcess } from '../helpers/process.js';
import { commandSucceeds, needs } from '../helpers/requirements.js';

const straceTest = needs({ what: 'strace', packages: ['strace'], check: () => commandSucceeds('strace', ['-V']) });

interface Syscall { readonly name: string; readonly target: string }

/** The main thread's syscalls from `strace -f -y` output, in order. */
function mainThreadCalls(log: string, pid: number): Syscall[] {
  const calls: Syscall[] = [];
  for (const line of log.split('\n')) {
    const m = /^(\d+)\s+(\w+)\((\d+)<([^>]*)>/.exec(line);
    if (m && Number(m[1]) === pid) calls.push({ name: m[2] as string, target: m[4] as string });
  }
  return calls;
}

/**
 * For each commit (a run of writes to the WAL), whether a sync of the WAL came before the
 * next write to a socket. Returns one boolean per commit that was followed by a socket write.
 */
function walSyncedBeforeSend(calls: readonly Syscall[]): boolean[] {
  const verdicts: boolean[] = [];
  let pending: 'none' | 'written' | 'synced' = 'none';
  for (const c of calls) {
    const wal = c.target.endsWith('.db-wal');
    if (wal && /^(pwrite64|write|pwritev2?|writev)$/.test(c.name)) pending = 'written';
    else if (wal && /^(fdatasync|fsync)$/.test(c.name) && pending === 'written') pending = 'synced';
    else if (c.target.startsWith('socket:') && /^(write|writev|sendmsg|sendto)$/.test(c.name) && pending !== 'none') {
      verdicts.push(pending === 'synced');
      pending = 'none';
    }
  }
  return verdicts;
}

straceTest('every commit of an agent batch is synced to disk before the ack is sent', async (t) => {
  t.timeout(90_000);
  const dir = await mkdtemp(join(tmpdir(), 'nodeward-durable-'));
  let collector: NodewardProcess | undefined;
  t.teardown(async () => {
    await collector?.kill('SIGKILL');
    await rm(dir, { recursive: true, force: true });
  });
  const pki = await initPki(join(dir, 'pki'), { nodes: ['node-a'], collectorHosts: ['localhost'] });
  const config = join(dir, 'collector.yaml');
  await writeFile(config, JSON.stringify({
    dataDir: join(dir, 'data'),
    grpc: { listen: '127.0.0.1:0', caFile: pki.caCert, certFile: pki.collectorCert, keyFile: pki.collectorKey },
    api: { listen: '127.0.0.1:0' },
  }));
  const log = join(dir, 'strace.log');
  collector = startNodeward(['collector', '--config', config], {}, [
    'strace', '-f', '-y', '-e', 'trace=pwrite64,pwritev,pwritev2,write,writev,sendmsg,sendto,fsync,fdatasync', '-o', log,
  ]);
  const grpcLine = await collector.waitFor((l) => l.msg === 'gRPC listening', { timeoutMs: 60_000 });
  const pid = grpcLine.pid as number;

  const agent = await connect({ pki, grpcAddress: `localhost:${grpcLine.port as number}` } as unknown as TestCollector, 'node-a');
  const batches = 5;
  for (let i = 0; i < batches; i++) await agent.batch([proc(`/opt/durable/tool-${i}`)]);
  agent.close();
  // Stop the collector itself (strace then exits with it) so the log is complete.
  process.kill(pid, 'SIGKILL');
  await collector.kill('SIGTERM');

  const calls = mainThreadCalls(await readFile(log, 'utf8'), pid);
  const verdicts = walSyncedBeforeSend(calls);
  // The hello and each batch are commits followed by a send; all must have been synced.
  t.true(verdicts.length >= batches, `${verdicts.length} commits followed by a send were seen (expected at least ${batches}); ${calls.length} calls traced`);
  t.deepEqual(verdicts.filter((v) => !v), [], `commits sent before their WAL was synced: ${verdicts.filter((v) => !v).length} of ${verdicts.length}`);
});

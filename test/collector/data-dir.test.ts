// The collector's data directory and database are its own: the directory 0700 (an existing
// looser one tightened at start, with a warning), nodeward.db and its -wal and -shm 0600.
import test from 'ava';
import { chmodSync, mkdirSync, statSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadCollectorConfig } from '../../collector/config.js';
import { createCollector } from '../../collector/main.js';
import { captureLog } from '../enroll/helpers.js';

test('the data directory is tightened from 0755 to 0700 at start; the database and its -wal and -shm are 0600', async (t) => {
  const root = await mkdtemp(join(tmpdir(), 'nodeward-data-'));
  t.teardown(() => rm(root, { recursive: true, force: true }));
  const dataDir = join(root, 'var-lib-nodeward-collector');
  mkdirSync(dataDir);
  chmodSync(dataDir, 0o755);
  const logs = captureLog('collector');
  const config = loadCollectorConfig({
    env: {},
    overrides: { dataDir, 'grpc.insecure': true, 'grpc.listen': '127.0.0.1:0', 'api.insecure': true, 'api.listen': '127.0.0.1:0', 'pods.watch': 'off' },
  });
  const collector = createCollector(config, { log: logs.log });
  t.teardown(() => collector.stop());
  await collector.start();
  t.is(statSync(dataDir).mode & 0o777, 0o700);
  t.like(logs.lines.find((l) => l.msg === 'data directory was open to other users; tightened'), { dir: dataDir, mode: '0755', now: '0700', level: 'warn' });
  // Something written, so the WAL exists; read while open (a clean close removes -wal and -shm).
  await collector.store!.audit.record({ at: Date.now(), actor: 'a', role: 'admin', action: 'test', target: '', detail: {}, status: 200, remote: '' });
  for (const f of ['nodeward.db', 'nodeward.db-wal', 'nodeward.db-shm']) t.is(statSync(join(dataDir, f)).mode & 0o777, 0o600, f);
  await collector.stop();

  // A database that an older collector left 0644 is tightened too.
  chmodSync(join(dataDir, 'nodeward.db'), 0o644);
  const again = createCollector(config, { log: captureLog('collector').log });
  t.teardown(() => again.stop());
  await again.start();
  t.is(statSync(join(dataDir, 'nodeward.db')).mode & 0o777, 0o600);
});

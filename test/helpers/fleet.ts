// Two clusters' stores for the fleet tests (test/collector/fleet-api.test.ts, the dashboard's
// test/e2e/fleet-dashboard.test.ts): real SQLite stores, each with a worker-1 node said hello
// through the real pipeline and findings whose ids carry their cluster's uid (decision 2 of the
// fleet brief: SHA-256 of `${uid}\u0000${node}\n${checkId}\n${subject}`, computed here by hand).
import { createHash } from 'node:crypto';
import { openStore } from '../../collector/store/sqlite.js';
import type { Store } from '../../collector/store/store.js';
import type { Fleet, FleetMember, ClusterIdentity } from '../../collector/fleet.js';
import { createPipeline } from '../../collector/pipeline/pipeline.js';
import { createMetrics } from '../../collector/metrics.js';
import { createLogger } from '../../proto/support/logger.js';
import type { Severity } from '../../proto/domain.js';

export const NOW = Date.parse('2026-12-07T12:00:00Z');
export const WEST: ClusterIdentity = { uid: '0b9e4c1a-5f2d-4e8b-9a47-3c6d2e1f0a11', name: 'west' };
export const EAST: ClusterIdentity = { uid: '7f3a2b10-c4d5-4e6f-8a9b-0c1d2e3f4a55', name: 'east' };

/** A finding id with the cluster's uid (proto/fingerprint.ts, decision 2), computed here by hand. */
export const idOf = (uid: string, node: string, checkId: string, subject: string): string =>
  createHash('sha256').update(`${uid}\u0000${node}\n${checkId}\n${subject}`).digest('hex').slice(0, 32);

export interface Seeded {
  readonly checkId: string;
  readonly subject: string;
  readonly node: string;
  readonly severity: Severity;
  readonly category: string;
}

const STATS = {
  spoolEntries: 0, spoolBytes: 0, spoolDropped: 0, rejected: 0, execCoverage: 'scan', execSource: 'scan', execSourceReason: '', execRingLost: 0,
  execUnjudged: 0, execFakeContainer: 0, execHostNamespace: 0, execBatches: 0, hostDocumentsRefused: 0, hostDocumentRefusedPath: '',
  hostDocumentRefusedReason: '', execIdentityFailed: 0, execIdentityFailedReason: '', processEventsCapped: 0, processEventsLost: 0, execEventsLost: 0,
  execRecordsPartial: 0, baselineItemsDropped: 0, baselineKeysEvicted: 0, baselineReportDropped: 0, execEvents: 0, lastScanDurationMs: 0,
  exposureWalkPidLimitHits: 0, exposureWalkTimeLimitHits: 0, exposureWalkFdLimitHits: 0, exposureWalkUnreadable: 0, exposureRowsRefused: 0,
  exposureListenersDropped: 0, exposureNativeReader: false,
};

/** A node said hello (through the real pipeline), and `findings` stored with ids of cluster `uid`. */
export async function seed(store: Store, uid: string, nodes: readonly string[], findings: readonly Seeded[]): Promise<void> {
  const pipeline = createPipeline({ store, metrics: createMetrics(), log: createLogger('test', 'silent'), now: () => NOW });
  for (const node of nodes) {
    await pipeline.hello({
      node, agentVersion: 't', epoch: 'e', os: 'linux', kernel: '6.1', arch: 'x64', kubeletVersion: 'v1.31.0', cpus: 2, memoryBytes: 1 << 30, uptimeSeconds: 1, certificates: [],
    }, STATS);
  }
  await store.unit(async (u) => {
    for (const [i, f] of findings.entries()) {
      const at = NOW - (findings.length - i) * 1000;
      const isProc = f.checkId === 'proc-unexpected';
      await u.findings.save(undefined, {
        id: idOf(uid, f.node, f.checkId, f.subject), node: f.node, checkId: f.checkId, subject: f.subject, state: 'open', severity: f.severity,
        firstSeen: at, lastSeen: at, count: 1, resolvedAt: null, suppressedReason: null, suppressedUntil: null, suppressedBy: null, suppressedAt: null,
        fields: {
          cis: '', references: [], title: `Check ${f.checkId}`, category: f.category, severity: f.severity, status: 'fail', scored: false, actual: 'x',
          expected: 'y', source: 'flag', sourceFile: '', reason: '', remediation: '', seen: 'scan',
          detail: isProc ? JSON.stringify({ baseline: 'host', exe: f.subject.slice('host:'.length), pid: 7 }) : '{}',
        },
      }, at);
    }
  });
}

export const check = (checkId: string, node: string, severity: Severity, category = 'kubelet'): Seeded => ({ checkId, subject: `--flag-${checkId}`, node, severity, category });
export const proc = (exe: string, node: string): Seeded => ({ checkId: 'proc-unexpected', subject: `host:${exe}`, node, severity: 'high', category: 'process' });

export const WEST_FINDINGS: Seeded[] = [
  check('cis-4.2.1', 'worker-1', 'high'), check('cis-4.2.2', 'worker-1', 'critical'), check('cis-4.2.3', 'worker-1', 'medium'),
  check('cis-1.1.1', 'worker-1', 'low', 'control-plane'), proc('/usr/bin/nc', 'worker-1'), proc('/tmp/x', 'worker-1'),
];
export const EAST_FINDINGS: Seeded[] = [
  check('cis-4.2.1', 'worker-1', 'high'), check('cis-4.2.1', 'worker-2', 'high'), check('cis-4.2.6', 'worker-2', 'info'),
  proc('/usr/bin/socat', 'worker-1'), proc('/usr/bin/nc', 'worker-2'), proc('/bin/busybox', 'worker-2'), check('cis-4.2.9', 'worker-1', 'critical'),
];

export const fleetOf = (members: readonly FleetMember[]): Fleet => ({ members: async () => members, close: async () => undefined });

/** West (own) and east, seeded; `fleet` is west first. Close the stores when done. */
export async function twoClusters(): Promise<{ west: Store; east: Store; fleet: Fleet; close(): Promise<void> }> {
  const west = openStore({ path: ':memory:' });
  const east = openStore({ path: ':memory:' });
  await seed(west, WEST.uid, ['worker-1'], WEST_FINDINGS);
  await seed(east, EAST.uid, ['worker-1', 'worker-2'], EAST_FINDINGS);
  const members: FleetMember[] = [{ identity: WEST, own: true, store: west }, { identity: EAST, own: false, store: east }];
  return { west, east, fleet: fleetOf(members), close: async () => { await west.close(); await east.close(); } };
}

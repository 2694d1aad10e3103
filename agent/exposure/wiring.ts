// How the agent and `nodeward scan` make their exposure collector: the daemon hands over the
// process monitor's proc reader and attribution (one process table, one way to place a
// process); the one-shot scan, which has no monitor, makes its own of each.
import { createHostFs } from '../facts/host-fs.js';
import { createAttributor, type Attributor } from '../processes/attribution.js';
import { bundleLocations } from '../processes/oci.js';
import { createProcReader } from '../processes/proc-reader.js';
import { addressClasses, type RangeSpec } from './address-class.js';
import { collectExposure, type ExposureFacts, type ProcessLookup } from './collect.js';
import { placeWith } from './owner.js';
import type { BaselineState, ListenBaselines } from './listen-baseline.js';

export interface ExposureSettings {
  readonly procRoot: string;
  readonly hostRoot: string;
  readonly ranges: readonly RangeSpec[];
  readonly maxListeners: number;
  readonly walkBudgetMs: number;
  readonly containerdState?: string;
}

/** What the process monitor lends: its reader, its attribution and the node's host key. */
export interface MonitorParts {
  readonly reader: ProcessLookup;
  readonly attributor: Pick<Attributor, 'attribute'>;
  readonly hostKey: () => string;
  /** The process baseline's state of a key (null: none): the listen baselines follow it. */
  readonly baselineState?: (key: string) => BaselineState | null;
}

/**
 * A collector of the node's exposure. `monitor` is asked at each collection (it starts after
 * the first scan may have begun); `externalAddresses` gives the Node object's ExternalIPs as
 * the collector last sent them. The ranges were validated with the config.
 */
export function exposureCollector(
  s: ExposureSettings, monitor: () => MonitorParts | undefined, externalAddresses: () => readonly string[] = () => [],
  listens?: ListenBaselines,
): () => Promise<ExposureFacts> {
  const { classes } = addressClasses(s.ranges);
  let own: MonitorParts | undefined;
  const standalone = (): MonitorParts => {
    own ??= {
      reader: createProcReader(s.procRoot),
      attributor: createAttributor(createHostFs(s.hostRoot), { maxContainers: 1024, maxOwners: 1, retryMs: 10_000, locations: bundleLocations(s.containerdState) }),
      hostKey: () => 'host',
    };
    return own;
  };
  return async () => {
    const parts = monitor() ?? standalone();
    const facts = await collectExposure({
      procRoot: s.procRoot, classes, externalAddresses: externalAddresses(), processes: parts.reader,
      place: placeWith(parts.attributor, parts.hostKey), maxListeners: s.maxListeners,
      walkLimits: { maxPids: 65_536, maxFdsPerPid: 65_536, budgetMs: s.walkBudgetMs },
    });
    if (!listens || !parts.baselineState) return facts;
    const listenBaselines = listens.observe(facts.listeners, parts.baselineState);
    await listens.save();
    return { ...facts, listenBaselines };
  };
}

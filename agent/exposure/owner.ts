// Where a listening process runs, by the process monitor's own attribution (cgroup -> the
// runtime's bundle -> pod -> workload): a listener is placed exactly as a finding about the same
// process would be. A cgroup that only looks like a container's is the host's, as there.
import { containerFromCgroup } from '../processes/cgroup.js';
import { isNotAContainer, type Attributor } from '../processes/attribution.js';
import type { PlaceProcess } from './collect.js';

export function placeWith(attributor: Pick<Attributor, 'attribute'>, hostKey: () => string): PlaceProcess {
  return async (_pid, cgroup) => {
    const host = { key: hostKey(), namespace: '', pod: '', container: '', workload: '' };
    const c = containerFromCgroup(cgroup);
    if (c === null) return host;
    const a = await attributor.attribute(c);
    if (isNotAContainer(a)) return host;
    return {
      key: a.key, namespace: a.namespace, pod: a.pod, container: a.container?.name ?? '',
      workload: a.workload ? `${a.workload.kind}/${a.workload.name}` : '',
    };
  };
}

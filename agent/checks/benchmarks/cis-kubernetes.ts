// The CIS Kubernetes Benchmark the catalog is written against: the catalog's references are
// its controls already, so judging under it changes nothing. The section titles are ours.
import { CIS_BENCHMARK } from '../../../proto/benchmark-refs.js';
import type { Benchmark } from './types.js';

export const CIS_KUBERNETES: Benchmark = {
  name: CIS_BENCHMARK,
  title: 'CIS Kubernetes Benchmark 1.12',
  source: 'the catalog (agent/checks/catalog/): each check names its controls',
  sourceControls: [],
  parts: {
    1: { text: 'Control Plane Security Configuration', nodeType: 'master' },
    2: { text: 'Etcd Node Configuration', nodeType: 'etcd' },
    3: { text: 'Control Plane Configuration', nodeType: 'controlplane' },
    4: { text: 'Worker Node Security Configuration', nodeType: 'node' },
  },
  sections: {
    '1.1': 'Control plane node configuration files',
    '1.2': 'API server',
    '1.3': 'Controller manager',
    '1.4': 'Scheduler',
    '2': 'etcd',
    '3.1': 'Authentication and authorization',
    '3.2': 'Logging',
    '4.1': 'Worker node configuration files',
    '4.2': 'Kubelet',
    '4.3': 'kube-proxy',
  },
  controls: [],
  notCovered: [],
  native: true,
};

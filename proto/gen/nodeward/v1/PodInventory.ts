// Original file: proto/nodeward/v1/agent.proto

import type { Pod as _nodeward_v1_Pod, Pod__Output as _nodeward_v1_Pod__Output } from '../../nodeward/v1/Pod.js';

export interface PodInventory {
  'pods'?: (_nodeward_v1_Pod)[];
}

export interface PodInventory__Output {
  'pods': (_nodeward_v1_Pod__Output)[];
}

// Original file: proto/nodeward/v1/agent.proto

import type { PodContainer as _nodeward_v1_PodContainer, PodContainer__Output as _nodeward_v1_PodContainer__Output } from '../../nodeward/v1/PodContainer.js';

export interface Pod {
  'namespace'?: (string);
  'name'?: (string);
  'uid'?: (string);
  'ownerKind'?: (string);
  'ownerName'?: (string);
  'containers'?: (_nodeward_v1_PodContainer)[];
}

export interface Pod__Output {
  'namespace': (string);
  'name': (string);
  'uid': (string);
  'ownerKind': (string);
  'ownerName': (string);
  'containers': (_nodeward_v1_PodContainer__Output)[];
}

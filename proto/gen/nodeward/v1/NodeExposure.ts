// Original file: proto/nodeward/v1/agent.proto

import type { Listener as _nodeward_v1_Listener, Listener__Output as _nodeward_v1_Listener__Output } from '../../nodeward/v1/Listener.js';
import type { NodeAddress as _nodeward_v1_NodeAddress, NodeAddress__Output as _nodeward_v1_NodeAddress__Output } from '../../nodeward/v1/NodeAddress.js';

export interface NodeExposure {
  'listeners'?: (_nodeward_v1_Listener)[];
  'nodeAddresses'?: (_nodeward_v1_NodeAddress)[];
  'listenersDropped'?: (number);
  'unowned'?: (number);
  'walkCut'?: (string);
  'rowsRefused'?: (number);
}

export interface NodeExposure__Output {
  'listeners': (_nodeward_v1_Listener__Output)[];
  'nodeAddresses': (_nodeward_v1_NodeAddress__Output)[];
  'listenersDropped': (number);
  'unowned': (number);
  'walkCut': (string);
  'rowsRefused': (number);
}

// Original file: proto/nodeward/v1/agent.proto

import type { BaselineState as _nodeward_v1_BaselineState, BaselineState__Output as _nodeward_v1_BaselineState__Output } from '../../nodeward/v1/BaselineState.js';
import type { BaselineItem as _nodeward_v1_BaselineItem, BaselineItem__Output as _nodeward_v1_BaselineItem__Output } from '../../nodeward/v1/BaselineItem.js';
import type { Long } from '@grpc/proto-loader';

export interface AgentBaseline {
  'key'?: (string);
  'state'?: (_nodeward_v1_BaselineState);
  'learnUntilMs'?: (number | string | Long);
  'version'?: (number | string | Long);
  'lockedBy'?: (string);
  'items'?: (_nodeward_v1_BaselineItem)[];
  'removed'?: (string)[];
  'listens'?: (string)[];
}

export interface AgentBaseline__Output {
  'key': (string);
  'state': (_nodeward_v1_BaselineState__Output);
  'learnUntilMs': (number);
  'version': (number);
  'lockedBy': (string);
  'items': (_nodeward_v1_BaselineItem__Output)[];
  'removed': (string)[];
  'listens': (string)[];
}

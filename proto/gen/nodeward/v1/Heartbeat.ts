// Original file: proto/nodeward/v1/agent.proto

import type { AgentStats as _nodeward_v1_AgentStats, AgentStats__Output as _nodeward_v1_AgentStats__Output } from '../../nodeward/v1/AgentStats.js';
import type { Long } from '@grpc/proto-loader';

export interface Heartbeat {
  'sentAtMs'?: (number | string | Long);
  'stats'?: (_nodeward_v1_AgentStats | null);
}

export interface Heartbeat__Output {
  'sentAtMs': (number);
  'stats': (_nodeward_v1_AgentStats__Output | null);
}

// Original file: proto/nodeward/v1/agent.proto

import type { HostInfo as _nodeward_v1_HostInfo, HostInfo__Output as _nodeward_v1_HostInfo__Output } from '../../nodeward/v1/HostInfo.js';
import type { AgentStats as _nodeward_v1_AgentStats, AgentStats__Output as _nodeward_v1_AgentStats__Output } from '../../nodeward/v1/AgentStats.js';
import type { Long } from '@grpc/proto-loader';

export interface Hello {
  'node'?: (string);
  'agentVersion'?: (string);
  'epoch'?: (string);
  'host'?: (_nodeward_v1_HostInfo | null);
  'baselineVersion'?: (number | string | Long);
  'stats'?: (_nodeward_v1_AgentStats | null);
  'hostBaselineKey'?: (string);
}

export interface Hello__Output {
  'node': (string);
  'agentVersion': (string);
  'epoch': (string);
  'host': (_nodeward_v1_HostInfo__Output | null);
  'baselineVersion': (number);
  'stats': (_nodeward_v1_AgentStats__Output | null);
  'hostBaselineKey': (string);
}

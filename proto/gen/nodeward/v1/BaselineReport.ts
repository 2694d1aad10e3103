// Original file: proto/nodeward/v1/agent.proto

import type { AgentBaseline as _nodeward_v1_AgentBaseline, AgentBaseline__Output as _nodeward_v1_AgentBaseline__Output } from '../../nodeward/v1/AgentBaseline.js';
import type { Long } from '@grpc/proto-loader';

export interface BaselineReport {
  'baselines'?: (_nodeward_v1_AgentBaseline)[];
  'baselineVersion'?: (number | string | Long);
}

export interface BaselineReport__Output {
  'baselines': (_nodeward_v1_AgentBaseline__Output)[];
  'baselineVersion': (number);
}

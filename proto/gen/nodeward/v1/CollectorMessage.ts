// Original file: proto/nodeward/v1/agent.proto

import type { Ack as _nodeward_v1_Ack, Ack__Output as _nodeward_v1_Ack__Output } from '../../nodeward/v1/Ack.js';
import type { BaselineUpdate as _nodeward_v1_BaselineUpdate, BaselineUpdate__Output as _nodeward_v1_BaselineUpdate__Output } from '../../nodeward/v1/BaselineUpdate.js';

export interface CollectorMessage {
  'ack'?: (_nodeward_v1_Ack | null);
  'baselineUpdate'?: (_nodeward_v1_BaselineUpdate | null);
  'body'?: "ack"|"baselineUpdate";
}

export interface CollectorMessage__Output {
  'ack'?: (_nodeward_v1_Ack__Output | null);
  'baselineUpdate'?: (_nodeward_v1_BaselineUpdate__Output | null);
  'body'?: "ack"|"baselineUpdate";
}

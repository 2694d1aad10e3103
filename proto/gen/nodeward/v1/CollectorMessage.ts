// Original file: proto/nodeward/v1/agent.proto

import type { Ack as _nodeward_v1_Ack, Ack__Output as _nodeward_v1_Ack__Output } from '../../nodeward/v1/Ack.js';
import type { BaselineUpdate as _nodeward_v1_BaselineUpdate, BaselineUpdate__Output as _nodeward_v1_BaselineUpdate__Output } from '../../nodeward/v1/BaselineUpdate.js';
import type { PodInventory as _nodeward_v1_PodInventory, PodInventory__Output as _nodeward_v1_PodInventory__Output } from '../../nodeward/v1/PodInventory.js';
import type { NodeAddresses as _nodeward_v1_NodeAddresses, NodeAddresses__Output as _nodeward_v1_NodeAddresses__Output } from '../../nodeward/v1/NodeAddresses.js';

export interface CollectorMessage {
  'ack'?: (_nodeward_v1_Ack | null);
  'baselineUpdate'?: (_nodeward_v1_BaselineUpdate | null);
  'podInventory'?: (_nodeward_v1_PodInventory | null);
  'nodeAddresses'?: (_nodeward_v1_NodeAddresses | null);
  'body'?: "ack"|"baselineUpdate"|"podInventory"|"nodeAddresses";
}

export interface CollectorMessage__Output {
  'ack'?: (_nodeward_v1_Ack__Output | null);
  'baselineUpdate'?: (_nodeward_v1_BaselineUpdate__Output | null);
  'podInventory'?: (_nodeward_v1_PodInventory__Output | null);
  'nodeAddresses'?: (_nodeward_v1_NodeAddresses__Output | null);
  'body'?: "ack"|"baselineUpdate"|"podInventory"|"nodeAddresses";
}

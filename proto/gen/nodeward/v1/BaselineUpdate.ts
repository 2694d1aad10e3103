// Original file: proto/nodeward/v1/agent.proto

import type { BaselineItem as _nodeward_v1_BaselineItem, BaselineItem__Output as _nodeward_v1_BaselineItem__Output } from '../../nodeward/v1/BaselineItem.js';
import type { Long } from '@grpc/proto-loader';

// Original file: proto/nodeward/v1/agent.proto

export const _nodeward_v1_BaselineUpdate_Action = {
  ACTION_UNSPECIFIED: 'ACTION_UNSPECIFIED',
  ACTION_ALLOW: 'ACTION_ALLOW',
  ACTION_REMOVE: 'ACTION_REMOVE',
  ACTION_LOCK: 'ACTION_LOCK',
  ACTION_UNLOCK: 'ACTION_UNLOCK',
  ACTION_ADOPT: 'ACTION_ADOPT',
} as const;

export type _nodeward_v1_BaselineUpdate_Action =
  | 'ACTION_UNSPECIFIED'
  | 0
  | 'ACTION_ALLOW'
  | 1
  | 'ACTION_REMOVE'
  | 2
  | 'ACTION_LOCK'
  | 3
  | 'ACTION_UNLOCK'
  | 4
  | 'ACTION_ADOPT'
  | 5

export type _nodeward_v1_BaselineUpdate_Action__Output = typeof _nodeward_v1_BaselineUpdate_Action[keyof typeof _nodeward_v1_BaselineUpdate_Action]

export interface BaselineUpdate {
  'version'?: (number | string | Long);
  'key'?: (string);
  'allowed'?: (string)[];
  'removed'?: (string)[];
  'locked'?: (boolean);
  'action'?: (_nodeward_v1_BaselineUpdate_Action);
  'items'?: (_nodeward_v1_BaselineItem)[];
  'operatorLocked'?: (boolean);
  'allowedItems'?: (_nodeward_v1_BaselineItem)[];
  'listens'?: (string)[];
}

export interface BaselineUpdate__Output {
  'version': (number);
  'key': (string);
  'allowed': (string)[];
  'removed': (string)[];
  'locked': (boolean);
  'action': (_nodeward_v1_BaselineUpdate_Action__Output);
  'items': (_nodeward_v1_BaselineItem__Output)[];
  'operatorLocked': (boolean);
  'allowedItems': (_nodeward_v1_BaselineItem__Output)[];
  'listens': (string)[];
}

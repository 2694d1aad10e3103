// Original file: proto/nodeward/v1/agent.proto

import type { Long } from '@grpc/proto-loader';

export interface BaselineUpdate {
  'version'?: (number | string | Long);
  'key'?: (string);
  'allowed'?: (string)[];
  'removed'?: (string)[];
  'locked'?: (boolean);
}

export interface BaselineUpdate__Output {
  'version': (number);
  'key': (string);
  'allowed': (string)[];
  'removed': (string)[];
  'locked': (boolean);
}

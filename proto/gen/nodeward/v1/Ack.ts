// Original file: proto/nodeward/v1/agent.proto

import type { Long } from '@grpc/proto-loader';

export interface Ack {
  'sequence'?: (number | string | Long);
  'duplicate'?: (boolean);
  'code'?: (number);
  'message'?: (string);
}

export interface Ack__Output {
  'sequence': (number);
  'duplicate': (boolean);
  'code': (number);
  'message': (string);
}

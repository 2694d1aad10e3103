// Original file: proto/nodeward/v1/agent.proto

import type { Long } from '@grpc/proto-loader';

export interface ItemDigest {
  'sha256'?: (string);
  'source'?: (string);
  'image'?: (string);
  'firstSeenMs'?: (number | string | Long);
}

export interface ItemDigest__Output {
  'sha256': (string);
  'source': (string);
  'image': (string);
  'firstSeenMs': (number);
}

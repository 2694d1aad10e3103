// Original file: proto/nodeward/v1/agent.proto

import type { ItemSource as _nodeward_v1_ItemSource, ItemSource__Output as _nodeward_v1_ItemSource__Output } from '../../nodeward/v1/ItemSource.js';
import type { ItemDigest as _nodeward_v1_ItemDigest, ItemDigest__Output as _nodeward_v1_ItemDigest__Output } from '../../nodeward/v1/ItemDigest.js';
import type { Long } from '@grpc/proto-loader';

export interface BaselineItem {
  'path'?: (string);
  'source'?: (_nodeward_v1_ItemSource);
  'firstSeenMs'?: (number | string | Long);
  'digests'?: (_nodeward_v1_ItemDigest)[];
  'anyContent'?: (boolean);
  'inlineCode'?: (boolean);
}

export interface BaselineItem__Output {
  'path': (string);
  'source': (_nodeward_v1_ItemSource__Output);
  'firstSeenMs': (number);
  'digests': (_nodeward_v1_ItemDigest__Output)[];
  'anyContent': (boolean);
  'inlineCode': (boolean);
}

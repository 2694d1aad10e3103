// Original file: proto/nodeward/v1/agent.proto

import type { Finding as _nodeward_v1_Finding, Finding__Output as _nodeward_v1_Finding__Output } from '../../nodeward/v1/Finding.js';
import type { Long } from '@grpc/proto-loader';

export interface FindingBatch {
  'sequence'?: (number | string | Long);
  'node'?: (string);
  'findings'?: (_nodeward_v1_Finding)[];
}

export interface FindingBatch__Output {
  'sequence': (number);
  'node': (string);
  'findings': (_nodeward_v1_Finding__Output)[];
}

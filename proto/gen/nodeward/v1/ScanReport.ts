// Original file: proto/nodeward/v1/agent.proto

import type { Result as _nodeward_v1_Result, Result__Output as _nodeward_v1_Result__Output } from '../../nodeward/v1/Result.js';
import type { NodeExposure as _nodeward_v1_NodeExposure, NodeExposure__Output as _nodeward_v1_NodeExposure__Output } from '../../nodeward/v1/NodeExposure.js';
import type { Long } from '@grpc/proto-loader';

export interface ScanReport {
  'sequence'?: (number | string | Long);
  'node'?: (string);
  'scannedAtMs'?: (number | string | Long);
  'benchmark'?: (string);
  'scope'?: (string)[];
  'results'?: (_nodeward_v1_Result)[];
  'trigger'?: (string);
  'exposure'?: (_nodeward_v1_NodeExposure | null);
}

export interface ScanReport__Output {
  'sequence': (number);
  'node': (string);
  'scannedAtMs': (number);
  'benchmark': (string);
  'scope': (string)[];
  'results': (_nodeward_v1_Result__Output)[];
  'trigger': (string);
  'exposure': (_nodeward_v1_NodeExposure__Output | null);
}

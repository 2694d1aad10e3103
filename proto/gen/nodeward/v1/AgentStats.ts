// Original file: proto/nodeward/v1/agent.proto

import type { Long } from '@grpc/proto-loader';

export interface AgentStats {
  'spoolEntries'?: (number | string | Long);
  'spoolBytes'?: (number | string | Long);
  'spoolDropped'?: (number | string | Long);
  'rejected'?: (number | string | Long);
  'execCoverage'?: (string);
}

export interface AgentStats__Output {
  'spoolEntries': (number);
  'spoolBytes': (number);
  'spoolDropped': (number);
  'rejected': (number);
  'execCoverage': (string);
}

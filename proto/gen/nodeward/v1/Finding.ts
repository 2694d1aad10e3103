// Original file: proto/nodeward/v1/agent.proto

import type { Severity as _nodeward_v1_Severity, Severity__Output as _nodeward_v1_Severity__Output } from '../../nodeward/v1/Severity.js';
import type { Status as _nodeward_v1_Status, Status__Output as _nodeward_v1_Status__Output } from '../../nodeward/v1/Status.js';
import type { ProcessDetail as _nodeward_v1_ProcessDetail, ProcessDetail__Output as _nodeward_v1_ProcessDetail__Output } from '../../nodeward/v1/ProcessDetail.js';
import type { Long } from '@grpc/proto-loader';

export interface Finding {
  'checkId'?: (string);
  'subject'?: (string);
  'title'?: (string);
  'category'?: (string);
  'severity'?: (_nodeward_v1_Severity);
  'status'?: (_nodeward_v1_Status);
  'observedAtMs'?: (number | string | Long);
  'occurrences'?: (number);
  'seen'?: (string);
  'remediation'?: (string);
  'detailJson'?: (string);
  'process'?: (_nodeward_v1_ProcessDetail | null);
}

export interface Finding__Output {
  'checkId': (string);
  'subject': (string);
  'title': (string);
  'category': (string);
  'severity': (_nodeward_v1_Severity__Output);
  'status': (_nodeward_v1_Status__Output);
  'observedAtMs': (number);
  'occurrences': (number);
  'seen': (string);
  'remediation': (string);
  'detailJson': (string);
  'process': (_nodeward_v1_ProcessDetail__Output | null);
}

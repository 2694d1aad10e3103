// Original file: proto/nodeward/v1/agent.proto

import type { Status as _nodeward_v1_Status, Status__Output as _nodeward_v1_Status__Output } from '../../nodeward/v1/Status.js';
import type { Severity as _nodeward_v1_Severity, Severity__Output as _nodeward_v1_Severity__Output } from '../../nodeward/v1/Severity.js';

export interface Result {
  'checkId'?: (string);
  'cis'?: (string);
  'title'?: (string);
  'category'?: (string);
  'subject'?: (string);
  'status'?: (_nodeward_v1_Status);
  'severity'?: (_nodeward_v1_Severity);
  'scored'?: (boolean);
  'actual'?: (string);
  'expected'?: (string);
  'source'?: (string);
  'sourceFile'?: (string);
  'reason'?: (string);
  'remediation'?: (string);
  'occurrences'?: (number);
  'references'?: (string)[];
}

export interface Result__Output {
  'checkId': (string);
  'cis': (string);
  'title': (string);
  'category': (string);
  'subject': (string);
  'status': (_nodeward_v1_Status__Output);
  'severity': (_nodeward_v1_Severity__Output);
  'scored': (boolean);
  'actual': (string);
  'expected': (string);
  'source': (string);
  'sourceFile': (string);
  'reason': (string);
  'remediation': (string);
  'occurrences': (number);
  'references': (string)[];
}

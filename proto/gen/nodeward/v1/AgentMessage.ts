// Original file: proto/nodeward/v1/agent.proto

import type { Hello as _nodeward_v1_Hello, Hello__Output as _nodeward_v1_Hello__Output } from '../../nodeward/v1/Hello.js';
import type { ScanReport as _nodeward_v1_ScanReport, ScanReport__Output as _nodeward_v1_ScanReport__Output } from '../../nodeward/v1/ScanReport.js';
import type { FindingBatch as _nodeward_v1_FindingBatch, FindingBatch__Output as _nodeward_v1_FindingBatch__Output } from '../../nodeward/v1/FindingBatch.js';
import type { Heartbeat as _nodeward_v1_Heartbeat, Heartbeat__Output as _nodeward_v1_Heartbeat__Output } from '../../nodeward/v1/Heartbeat.js';
import type { BaselineReport as _nodeward_v1_BaselineReport, BaselineReport__Output as _nodeward_v1_BaselineReport__Output } from '../../nodeward/v1/BaselineReport.js';

export interface AgentMessage {
  'hello'?: (_nodeward_v1_Hello | null);
  'scanReport'?: (_nodeward_v1_ScanReport | null);
  'findingBatch'?: (_nodeward_v1_FindingBatch | null);
  'heartbeat'?: (_nodeward_v1_Heartbeat | null);
  'baselineReport'?: (_nodeward_v1_BaselineReport | null);
  'body'?: "hello"|"scanReport"|"findingBatch"|"heartbeat"|"baselineReport";
}

export interface AgentMessage__Output {
  'hello'?: (_nodeward_v1_Hello__Output | null);
  'scanReport'?: (_nodeward_v1_ScanReport__Output | null);
  'findingBatch'?: (_nodeward_v1_FindingBatch__Output | null);
  'heartbeat'?: (_nodeward_v1_Heartbeat__Output | null);
  'baselineReport'?: (_nodeward_v1_BaselineReport__Output | null);
  'body'?: "hello"|"scanReport"|"findingBatch"|"heartbeat"|"baselineReport";
}

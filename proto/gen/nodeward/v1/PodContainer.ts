// Original file: proto/nodeward/v1/agent.proto

import type { ExecProbe as _nodeward_v1_ExecProbe, ExecProbe__Output as _nodeward_v1_ExecProbe__Output } from '../../nodeward/v1/ExecProbe.js';

export interface PodContainer {
  'name'?: (string);
  'execProbes'?: (_nodeward_v1_ExecProbe)[];
}

export interface PodContainer__Output {
  'name': (string);
  'execProbes': (_nodeward_v1_ExecProbe__Output)[];
}

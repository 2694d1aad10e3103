// Original file: proto/nodeward/v1/agent.proto

import type { StdioFact as _nodeward_v1_StdioFact, StdioFact__Output as _nodeward_v1_StdioFact__Output } from '../../nodeward/v1/StdioFact.js';

export interface ExecContext {
  'stdio'?: (_nodeward_v1_StdioFact)[];
  'interpreter'?: (string);
  'inlineFlag'?: (string);
  'loader'?: (string);
  'loadedProgram'?: (string);
}

export interface ExecContext__Output {
  'stdio': (_nodeward_v1_StdioFact__Output)[];
  'interpreter': (string);
  'inlineFlag': (string);
  'loader': (string);
  'loadedProgram': (string);
}

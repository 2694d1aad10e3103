// Original file: proto/nodeward/v1/agent.proto


export interface StdioFact {
  'kind'?: (string);
  'family'?: (string);
}

export interface StdioFact__Output {
  'kind': (string);
  'family': (string);
}

// Original file: proto/nodeward/v1/agent.proto


export interface ProcessWorkload {
  'kind'?: (string);
  'name'?: (string);
  'source'?: (string);
}

export interface ProcessWorkload__Output {
  'kind': (string);
  'name': (string);
  'source': (string);
}

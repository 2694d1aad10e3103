// Original file: proto/nodeward/v1/agent.proto


export interface ProcessContainer {
  'id'?: (string);
  'name'?: (string);
  'runtime'?: (string);
}

export interface ProcessContainer__Output {
  'id': (string);
  'name': (string);
  'runtime': (string);
}

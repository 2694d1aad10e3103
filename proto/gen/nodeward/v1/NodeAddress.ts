// Original file: proto/nodeward/v1/agent.proto


export interface NodeAddress {
  'address'?: (string);
  'addressClass'?: (string);
  'source'?: (string);
}

export interface NodeAddress__Output {
  'address': (string);
  'addressClass': (string);
  'source': (string);
}

// Original file: proto/nodeward/v1/agent.proto


export interface NodeAddresses {
  'externalIps'?: (string)[];
}

export interface NodeAddresses__Output {
  'externalIps': (string)[];
}

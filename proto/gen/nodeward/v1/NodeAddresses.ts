// Original file: proto/nodeward/v1/agent.proto


export interface NodeAddresses {
  'externalIps'?: (string)[];
  'labels'?: ({[key: string]: string});
}

export interface NodeAddresses__Output {
  'externalIps': (string)[];
  'labels': ({[key: string]: string});
}

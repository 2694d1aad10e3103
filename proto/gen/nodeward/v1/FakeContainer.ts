// Original file: proto/nodeward/v1/agent.proto


export interface FakeContainer {
  'cgroupPath'?: (string);
  'id'?: (string);
  'reason'?: (string);
}

export interface FakeContainer__Output {
  'cgroupPath': (string);
  'id': (string);
  'reason': (string);
}

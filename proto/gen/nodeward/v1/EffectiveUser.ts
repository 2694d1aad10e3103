// Original file: proto/nodeward/v1/agent.proto


export interface EffectiveUser {
  'uid'?: (number);
  'user'?: (string);
}

export interface EffectiveUser__Output {
  'uid': (number);
  'user': (string);
}

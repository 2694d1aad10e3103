// Original file: proto/nodeward/v1/agent.proto


export interface ExecProbe {
  'command'?: (string)[];
}

export interface ExecProbe__Output {
  'command': (string)[];
}

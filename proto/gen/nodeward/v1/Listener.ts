// Original file: proto/nodeward/v1/agent.proto


export interface Listener {
  'protocol'?: (string);
  'address'?: (string);
  'port'?: (number);
  'addressClass'?: (string);
  'wildcard'?: (boolean);
  'pid'?: (number);
  'exe'?: (string);
  'baseline'?: (string);
  'namespace'?: (string);
  'pod'?: (string);
  'container'?: (string);
  'workload'?: (string);
  'uid'?: (number);
}

export interface Listener__Output {
  'protocol': (string);
  'address': (string);
  'port': (number);
  'addressClass': (string);
  'wildcard': (boolean);
  'pid': (number);
  'exe': (string);
  'baseline': (string);
  'namespace': (string);
  'pod': (string);
  'container': (string);
  'workload': (string);
  'uid': (number);
}

// Original file: proto/nodeward/v1/agent.proto

import type { Long } from '@grpc/proto-loader';

export interface KernelExecFacts {
  'filename'?: (string);
  'ino'?: (number | string | Long);
  'dev'?: (number | string | Long);
  'nlink'?: (number);
  'fsKind'?: (string);
  'cgroupId'?: (number | string | Long);
  'mntNs'?: (number | string | Long);
  'pidNs'?: (number | string | Long);
  'uid'?: (number);
  'gid'?: (number);
  'egid'?: (number);
  'comm'?: (string);
}

export interface KernelExecFacts__Output {
  'filename': (string);
  'ino': (number);
  'dev': (number);
  'nlink': (number);
  'fsKind': (string);
  'cgroupId': (number);
  'mntNs': (number);
  'pidNs': (number);
  'uid': (number);
  'gid': (number);
  'egid': (number);
  'comm': (string);
}

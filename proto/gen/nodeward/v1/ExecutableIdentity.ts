// Original file: proto/nodeward/v1/agent.proto

import type { Long } from '@grpc/proto-loader';

export interface ExecutableIdentity {
  'sha256'?: (string);
  'size'?: (number | string | Long);
  'error'?: (string);
  'errorDetail'?: (string);
  'baselineSha256'?: (string)[];
  'vouchedBy'?: (string);
  'notVouched'?: (string);
}

export interface ExecutableIdentity__Output {
  'sha256': (string);
  'size': (number);
  'error': (string);
  'errorDetail': (string);
  'baselineSha256': (string)[];
  'vouchedBy': (string);
  'notVouched': (string);
}

// Original file: proto/nodeward/v1/agent.proto

import type { Long } from '@grpc/proto-loader';

export interface CertificateExpiry {
  'path'?: (string);
  'notAfterMs'?: (number | string | Long);
}

export interface CertificateExpiry__Output {
  'path': (string);
  'notAfterMs': (number);
}

// Original file: proto/nodeward/v1/agent.proto

import type { CertificateExpiry as _nodeward_v1_CertificateExpiry, CertificateExpiry__Output as _nodeward_v1_CertificateExpiry__Output } from '../../nodeward/v1/CertificateExpiry.js';
import type { Long } from '@grpc/proto-loader';

export interface HostInfo {
  'os'?: (string);
  'kernel'?: (string);
  'arch'?: (string);
  'cpus'?: (number);
  'memoryBytes'?: (number | string | Long);
  'uptimeSeconds'?: (number | string | Long);
  'kubeletVersion'?: (string);
  'certificates'?: (_nodeward_v1_CertificateExpiry)[];
}

export interface HostInfo__Output {
  'os': (string);
  'kernel': (string);
  'arch': (string);
  'cpus': (number);
  'memoryBytes': (number);
  'uptimeSeconds': (number);
  'kubeletVersion': (string);
  'certificates': (_nodeward_v1_CertificateExpiry__Output)[];
}

// Original file: proto/nodeward/v1/agent.proto

import type { ProcessContainer as _nodeward_v1_ProcessContainer, ProcessContainer__Output as _nodeward_v1_ProcessContainer__Output } from '../../nodeward/v1/ProcessContainer.js';
import type { ProcessWorkload as _nodeward_v1_ProcessWorkload, ProcessWorkload__Output as _nodeward_v1_ProcessWorkload__Output } from '../../nodeward/v1/ProcessWorkload.js';
import type { KernelExecFacts as _nodeward_v1_KernelExecFacts, KernelExecFacts__Output as _nodeward_v1_KernelExecFacts__Output } from '../../nodeward/v1/KernelExecFacts.js';
import type { FakeContainer as _nodeward_v1_FakeContainer, FakeContainer__Output as _nodeward_v1_FakeContainer__Output } from '../../nodeward/v1/FakeContainer.js';
import type { ExecutableIdentity as _nodeward_v1_ExecutableIdentity, ExecutableIdentity__Output as _nodeward_v1_ExecutableIdentity__Output } from '../../nodeward/v1/ExecutableIdentity.js';
import type { EffectiveUser as _nodeward_v1_EffectiveUser, EffectiveUser__Output as _nodeward_v1_EffectiveUser__Output } from '../../nodeward/v1/EffectiveUser.js';
import type { ExecContext as _nodeward_v1_ExecContext, ExecContext__Output as _nodeward_v1_ExecContext__Output } from '../../nodeward/v1/ExecContext.js';
import type { Long } from '@grpc/proto-loader';

export interface ProcessDetail {
  'baseline'?: (string);
  'exe'?: (string);
  'exeDeleted'?: (boolean);
  'pid'?: (number);
  'ppid'?: (number);
  'parents'?: (string)[];
  'uid'?: (number);
  'user'?: (string);
  'cmdline'?: (string);
  'container'?: (_nodeward_v1_ProcessContainer | null);
  'pod'?: (string);
  'podUid'?: (string);
  'namespace'?: (string);
  'workload'?: (_nodeward_v1_ProcessWorkload | null);
  'startedAtMs'?: (number | string | Long);
  'partial'?: (boolean);
  'missing'?: (string)[];
  'kernel'?: (_nodeward_v1_KernelExecFacts | null);
  'fakeContainer'?: (_nodeward_v1_FakeContainer | null);
  'identity'?: (_nodeward_v1_ExecutableIdentity | null);
  'effective'?: (_nodeward_v1_EffectiveUser | null);
  'context'?: (_nodeward_v1_ExecContext | null);
}

export interface ProcessDetail__Output {
  'baseline': (string);
  'exe': (string);
  'exeDeleted': (boolean);
  'pid': (number);
  'ppid': (number);
  'parents': (string)[];
  'uid': (number);
  'user': (string);
  'cmdline': (string);
  'container': (_nodeward_v1_ProcessContainer__Output | null);
  'pod': (string);
  'podUid': (string);
  'namespace': (string);
  'workload': (_nodeward_v1_ProcessWorkload__Output | null);
  'startedAtMs': (number);
  'partial': (boolean);
  'missing': (string)[];
  'kernel': (_nodeward_v1_KernelExecFacts__Output | null);
  'fakeContainer': (_nodeward_v1_FakeContainer__Output | null);
  'identity': (_nodeward_v1_ExecutableIdentity__Output | null);
  'effective': (_nodeward_v1_EffectiveUser__Output | null);
  'context': (_nodeward_v1_ExecContext__Output | null);
}

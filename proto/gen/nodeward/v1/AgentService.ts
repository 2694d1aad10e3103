// Original file: proto/nodeward/v1/agent.proto

import type * as grpc from '@grpc/grpc-js'
import type { MethodDefinition } from '@grpc/proto-loader'
import type { AgentMessage as _nodeward_v1_AgentMessage, AgentMessage__Output as _nodeward_v1_AgentMessage__Output } from '../../nodeward/v1/AgentMessage.js';
import type { CollectorMessage as _nodeward_v1_CollectorMessage, CollectorMessage__Output as _nodeward_v1_CollectorMessage__Output } from '../../nodeward/v1/CollectorMessage.js';

export interface AgentServiceClient extends grpc.Client {
  Connect(metadata: grpc.Metadata, options?: grpc.CallOptions): grpc.ClientDuplexStream<_nodeward_v1_AgentMessage, _nodeward_v1_CollectorMessage__Output>;
  Connect(options?: grpc.CallOptions): grpc.ClientDuplexStream<_nodeward_v1_AgentMessage, _nodeward_v1_CollectorMessage__Output>;
  connect(metadata: grpc.Metadata, options?: grpc.CallOptions): grpc.ClientDuplexStream<_nodeward_v1_AgentMessage, _nodeward_v1_CollectorMessage__Output>;
  connect(options?: grpc.CallOptions): grpc.ClientDuplexStream<_nodeward_v1_AgentMessage, _nodeward_v1_CollectorMessage__Output>;
  
}

export interface AgentServiceHandlers extends grpc.UntypedServiceImplementation {
  Connect: grpc.handleBidiStreamingCall<_nodeward_v1_AgentMessage__Output, _nodeward_v1_CollectorMessage>;
  
}

export interface AgentServiceDefinition extends grpc.ServiceDefinition {
  Connect: MethodDefinition<_nodeward_v1_AgentMessage, _nodeward_v1_CollectorMessage, _nodeward_v1_AgentMessage__Output, _nodeward_v1_CollectorMessage__Output>
}

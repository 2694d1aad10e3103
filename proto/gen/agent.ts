import type * as grpc from '@grpc/grpc-js';
import type { EnumTypeDefinition, MessageTypeDefinition } from '@grpc/proto-loader';

import type { Ack as _nodeward_v1_Ack, Ack__Output as _nodeward_v1_Ack__Output } from './nodeward/v1/Ack.js';
import type { AgentBaseline as _nodeward_v1_AgentBaseline, AgentBaseline__Output as _nodeward_v1_AgentBaseline__Output } from './nodeward/v1/AgentBaseline.js';
import type { AgentMessage as _nodeward_v1_AgentMessage, AgentMessage__Output as _nodeward_v1_AgentMessage__Output } from './nodeward/v1/AgentMessage.js';
import type { AgentServiceClient as _nodeward_v1_AgentServiceClient, AgentServiceDefinition as _nodeward_v1_AgentServiceDefinition } from './nodeward/v1/AgentService.js';
import type { AgentStats as _nodeward_v1_AgentStats, AgentStats__Output as _nodeward_v1_AgentStats__Output } from './nodeward/v1/AgentStats.js';
import type { BaselineItem as _nodeward_v1_BaselineItem, BaselineItem__Output as _nodeward_v1_BaselineItem__Output } from './nodeward/v1/BaselineItem.js';
import type { BaselineReport as _nodeward_v1_BaselineReport, BaselineReport__Output as _nodeward_v1_BaselineReport__Output } from './nodeward/v1/BaselineReport.js';
import type { BaselineUpdate as _nodeward_v1_BaselineUpdate, BaselineUpdate__Output as _nodeward_v1_BaselineUpdate__Output } from './nodeward/v1/BaselineUpdate.js';
import type { CertificateExpiry as _nodeward_v1_CertificateExpiry, CertificateExpiry__Output as _nodeward_v1_CertificateExpiry__Output } from './nodeward/v1/CertificateExpiry.js';
import type { CollectorMessage as _nodeward_v1_CollectorMessage, CollectorMessage__Output as _nodeward_v1_CollectorMessage__Output } from './nodeward/v1/CollectorMessage.js';
import type { EffectiveUser as _nodeward_v1_EffectiveUser, EffectiveUser__Output as _nodeward_v1_EffectiveUser__Output } from './nodeward/v1/EffectiveUser.js';
import type { ExecContext as _nodeward_v1_ExecContext, ExecContext__Output as _nodeward_v1_ExecContext__Output } from './nodeward/v1/ExecContext.js';
import type { ExecProbe as _nodeward_v1_ExecProbe, ExecProbe__Output as _nodeward_v1_ExecProbe__Output } from './nodeward/v1/ExecProbe.js';
import type { ExecutableIdentity as _nodeward_v1_ExecutableIdentity, ExecutableIdentity__Output as _nodeward_v1_ExecutableIdentity__Output } from './nodeward/v1/ExecutableIdentity.js';
import type { FakeContainer as _nodeward_v1_FakeContainer, FakeContainer__Output as _nodeward_v1_FakeContainer__Output } from './nodeward/v1/FakeContainer.js';
import type { Finding as _nodeward_v1_Finding, Finding__Output as _nodeward_v1_Finding__Output } from './nodeward/v1/Finding.js';
import type { FindingBatch as _nodeward_v1_FindingBatch, FindingBatch__Output as _nodeward_v1_FindingBatch__Output } from './nodeward/v1/FindingBatch.js';
import type { Heartbeat as _nodeward_v1_Heartbeat, Heartbeat__Output as _nodeward_v1_Heartbeat__Output } from './nodeward/v1/Heartbeat.js';
import type { Hello as _nodeward_v1_Hello, Hello__Output as _nodeward_v1_Hello__Output } from './nodeward/v1/Hello.js';
import type { HostInfo as _nodeward_v1_HostInfo, HostInfo__Output as _nodeward_v1_HostInfo__Output } from './nodeward/v1/HostInfo.js';
import type { ItemDigest as _nodeward_v1_ItemDigest, ItemDigest__Output as _nodeward_v1_ItemDigest__Output } from './nodeward/v1/ItemDigest.js';
import type { KernelExecFacts as _nodeward_v1_KernelExecFacts, KernelExecFacts__Output as _nodeward_v1_KernelExecFacts__Output } from './nodeward/v1/KernelExecFacts.js';
import type { Listener as _nodeward_v1_Listener, Listener__Output as _nodeward_v1_Listener__Output } from './nodeward/v1/Listener.js';
import type { NodeAddress as _nodeward_v1_NodeAddress, NodeAddress__Output as _nodeward_v1_NodeAddress__Output } from './nodeward/v1/NodeAddress.js';
import type { NodeAddresses as _nodeward_v1_NodeAddresses, NodeAddresses__Output as _nodeward_v1_NodeAddresses__Output } from './nodeward/v1/NodeAddresses.js';
import type { NodeExposure as _nodeward_v1_NodeExposure, NodeExposure__Output as _nodeward_v1_NodeExposure__Output } from './nodeward/v1/NodeExposure.js';
import type { Pod as _nodeward_v1_Pod, Pod__Output as _nodeward_v1_Pod__Output } from './nodeward/v1/Pod.js';
import type { PodContainer as _nodeward_v1_PodContainer, PodContainer__Output as _nodeward_v1_PodContainer__Output } from './nodeward/v1/PodContainer.js';
import type { PodInventory as _nodeward_v1_PodInventory, PodInventory__Output as _nodeward_v1_PodInventory__Output } from './nodeward/v1/PodInventory.js';
import type { ProcessContainer as _nodeward_v1_ProcessContainer, ProcessContainer__Output as _nodeward_v1_ProcessContainer__Output } from './nodeward/v1/ProcessContainer.js';
import type { ProcessDetail as _nodeward_v1_ProcessDetail, ProcessDetail__Output as _nodeward_v1_ProcessDetail__Output } from './nodeward/v1/ProcessDetail.js';
import type { ProcessWorkload as _nodeward_v1_ProcessWorkload, ProcessWorkload__Output as _nodeward_v1_ProcessWorkload__Output } from './nodeward/v1/ProcessWorkload.js';
import type { Result as _nodeward_v1_Result, Result__Output as _nodeward_v1_Result__Output } from './nodeward/v1/Result.js';
import type { ScanReport as _nodeward_v1_ScanReport, ScanReport__Output as _nodeward_v1_ScanReport__Output } from './nodeward/v1/ScanReport.js';
import type { StdioFact as _nodeward_v1_StdioFact, StdioFact__Output as _nodeward_v1_StdioFact__Output } from './nodeward/v1/StdioFact.js';

type SubtypeConstructor<Constructor extends new (...args: any) => any, Subtype> = {
  new(...args: ConstructorParameters<Constructor>): Subtype;
};

export interface ProtoGrpcType {
  nodeward: {
    v1: {
      Ack: MessageTypeDefinition<_nodeward_v1_Ack, _nodeward_v1_Ack__Output>
      AgentBaseline: MessageTypeDefinition<_nodeward_v1_AgentBaseline, _nodeward_v1_AgentBaseline__Output>
      AgentMessage: MessageTypeDefinition<_nodeward_v1_AgentMessage, _nodeward_v1_AgentMessage__Output>
      AgentService: SubtypeConstructor<typeof grpc.Client, _nodeward_v1_AgentServiceClient> & { service: _nodeward_v1_AgentServiceDefinition }
      AgentStats: MessageTypeDefinition<_nodeward_v1_AgentStats, _nodeward_v1_AgentStats__Output>
      BaselineItem: MessageTypeDefinition<_nodeward_v1_BaselineItem, _nodeward_v1_BaselineItem__Output>
      BaselineReport: MessageTypeDefinition<_nodeward_v1_BaselineReport, _nodeward_v1_BaselineReport__Output>
      BaselineState: EnumTypeDefinition
      BaselineUpdate: MessageTypeDefinition<_nodeward_v1_BaselineUpdate, _nodeward_v1_BaselineUpdate__Output>
      CertificateExpiry: MessageTypeDefinition<_nodeward_v1_CertificateExpiry, _nodeward_v1_CertificateExpiry__Output>
      CollectorMessage: MessageTypeDefinition<_nodeward_v1_CollectorMessage, _nodeward_v1_CollectorMessage__Output>
      EffectiveUser: MessageTypeDefinition<_nodeward_v1_EffectiveUser, _nodeward_v1_EffectiveUser__Output>
      ExecContext: MessageTypeDefinition<_nodeward_v1_ExecContext, _nodeward_v1_ExecContext__Output>
      ExecProbe: MessageTypeDefinition<_nodeward_v1_ExecProbe, _nodeward_v1_ExecProbe__Output>
      ExecutableIdentity: MessageTypeDefinition<_nodeward_v1_ExecutableIdentity, _nodeward_v1_ExecutableIdentity__Output>
      FakeContainer: MessageTypeDefinition<_nodeward_v1_FakeContainer, _nodeward_v1_FakeContainer__Output>
      Finding: MessageTypeDefinition<_nodeward_v1_Finding, _nodeward_v1_Finding__Output>
      FindingBatch: MessageTypeDefinition<_nodeward_v1_FindingBatch, _nodeward_v1_FindingBatch__Output>
      Heartbeat: MessageTypeDefinition<_nodeward_v1_Heartbeat, _nodeward_v1_Heartbeat__Output>
      Hello: MessageTypeDefinition<_nodeward_v1_Hello, _nodeward_v1_Hello__Output>
      HostInfo: MessageTypeDefinition<_nodeward_v1_HostInfo, _nodeward_v1_HostInfo__Output>
      ItemDigest: MessageTypeDefinition<_nodeward_v1_ItemDigest, _nodeward_v1_ItemDigest__Output>
      ItemSource: EnumTypeDefinition
      KernelExecFacts: MessageTypeDefinition<_nodeward_v1_KernelExecFacts, _nodeward_v1_KernelExecFacts__Output>
      Listener: MessageTypeDefinition<_nodeward_v1_Listener, _nodeward_v1_Listener__Output>
      NodeAddress: MessageTypeDefinition<_nodeward_v1_NodeAddress, _nodeward_v1_NodeAddress__Output>
      NodeAddresses: MessageTypeDefinition<_nodeward_v1_NodeAddresses, _nodeward_v1_NodeAddresses__Output>
      NodeExposure: MessageTypeDefinition<_nodeward_v1_NodeExposure, _nodeward_v1_NodeExposure__Output>
      Pod: MessageTypeDefinition<_nodeward_v1_Pod, _nodeward_v1_Pod__Output>
      PodContainer: MessageTypeDefinition<_nodeward_v1_PodContainer, _nodeward_v1_PodContainer__Output>
      PodInventory: MessageTypeDefinition<_nodeward_v1_PodInventory, _nodeward_v1_PodInventory__Output>
      ProcessContainer: MessageTypeDefinition<_nodeward_v1_ProcessContainer, _nodeward_v1_ProcessContainer__Output>
      ProcessDetail: MessageTypeDefinition<_nodeward_v1_ProcessDetail, _nodeward_v1_ProcessDetail__Output>
      ProcessWorkload: MessageTypeDefinition<_nodeward_v1_ProcessWorkload, _nodeward_v1_ProcessWorkload__Output>
      Result: MessageTypeDefinition<_nodeward_v1_Result, _nodeward_v1_Result__Output>
      ScanReport: MessageTypeDefinition<_nodeward_v1_ScanReport, _nodeward_v1_ScanReport__Output>
      Severity: EnumTypeDefinition
      Status: EnumTypeDefinition
      StdioFact: MessageTypeDefinition<_nodeward_v1_StdioFact, _nodeward_v1_StdioFact__Output>
    }
  }
}


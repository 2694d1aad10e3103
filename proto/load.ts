import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { fileURLToPath } from 'node:url';
import type { ProtoGrpcType } from './gen/agent.js';
import type { AgentMessage as WireAgentMessage, AgentMessage__Output as WireAgentMessage__Output } from './gen/nodeward/v1/AgentMessage.js';

/** proto/ in the package (this file runs as dist/proto/load.js). */
export const PROTO_DIR = fileURLToPath(new URL('../../proto/', import.meta.url));

// Must match the generator flags in scripts/gen-proto.mjs.
const LOAD_OPTIONS: protoLoader.Options = {
  keepCase: false,
  longs: Number,
  enums: String,
  defaults: true,
  oneofs: true,
  includeDirs: [PROTO_DIR],
};

let loaded: ProtoGrpcType | undefined;

/** The nodeward.v1 package, loaded once from the .proto contract. */
export function nodewardProto(): ProtoGrpcType['nodeward']['v1'] {
  if (!loaded) {
    const def = protoLoader.loadSync('nodeward/v1/agent.proto', LOAD_OPTIONS);
    loaded = grpc.loadPackageDefinition(def) as unknown as ProtoGrpcType;
  }
  return loaded.nodeward.v1;
}

export type { AgentMessage, AgentMessage__Output } from './gen/nodeward/v1/AgentMessage.js';
export type { CollectorMessage, CollectorMessage__Output } from './gen/nodeward/v1/CollectorMessage.js';
export type { Hello, Hello__Output } from './gen/nodeward/v1/Hello.js';
export type { ScanReport, ScanReport__Output } from './gen/nodeward/v1/ScanReport.js';
export type { FindingBatch, FindingBatch__Output } from './gen/nodeward/v1/FindingBatch.js';
export type { Finding as WireFinding, Finding__Output as WireFinding__Output } from './gen/nodeward/v1/Finding.js';
export type { Result as WireResult, Result__Output as WireResult__Output } from './gen/nodeward/v1/Result.js';
export type { Ack, Ack__Output } from './gen/nodeward/v1/Ack.js';
export type { AgentStats, AgentStats__Output } from './gen/nodeward/v1/AgentStats.js';
export type { HostInfo, HostInfo__Output } from './gen/nodeward/v1/HostInfo.js';
export type { BaselineReport, BaselineReport__Output } from './gen/nodeward/v1/BaselineReport.js';
export type { AgentBaseline, AgentBaseline__Output } from './gen/nodeward/v1/AgentBaseline.js';
export type { BaselineItem as WireBaselineItem, BaselineItem__Output as WireBaselineItem__Output } from './gen/nodeward/v1/BaselineItem.js';
export type { BaselineUpdate, BaselineUpdate__Output } from './gen/nodeward/v1/BaselineUpdate.js';
export type { PodInventory, PodInventory__Output } from './gen/nodeward/v1/PodInventory.js';

/**
 * The stream's own codec for AgentMessage (what gRPC writes and reads on the wire), for wire
 * fixtures: `decode` gives what the collector's handler sees.
 */
export function agentMessageCodec(): { encode(msg: WireAgentMessage): Buffer; decode(bytes: Buffer): WireAgentMessage__Output } {
  const method = nodewardProto().AgentService.service.Connect;
  return {
    encode: (msg) => method.requestSerialize(msg),
    decode: (bytes) => method.requestDeserialize(bytes) as WireAgentMessage__Output,
  };
}

// The agent's configuration: one schema (defaults included), YAML file plus NODEWARD_*
// environment overrides, validated once at start-up.
import { hostname } from 'node:os';
import { existsSync } from 'node:fs';
import { isAbsolute, join, resolve } from 'node:path';
import { Type, type Static } from '@sinclair/typebox';
import { ConfigError, loadConfig, LogLevel, type ConfigSources } from '../proto/support/config-loader.js';
import { isValidNodeName } from '../proto/domain.js';

export const AgentConfigSchema = Type.Object({
  node: Type.String({ default: '', description: 'Node name; empty means NODE_NAME, then the host name' }),
  hostRoot: Type.String({ default: '/', description: "Where the host's files are read (the host's / mounted read-only)" }),
  procRoot: Type.String({ default: '/proc', description: "Where the host's processes are read" }),
  stateDir: Type.String({ default: '/var/lib/nodeward', description: 'Spool and baselines (survives restarts)' }),
  collector: Type.Object({
    address: Type.String({ default: '', description: 'Collector gRPC address, host:port' }),
    insecure: Type.Boolean({ default: false, description: 'Plain-text gRPC (testing only)' }),
    caFile: Type.String({ default: '', description: 'CA that signed the collector certificate' }),
    certFile: Type.String({ default: '', description: "This node's client certificate (CN = node name)" }),
    keyFile: Type.String({ default: '', description: "This node's client key" }),
    serverName: Type.String({ default: '', description: 'Name expected in the collector certificate, when not the address host' }),
    heartbeatSeconds: Type.Integer({ default: 30, minimum: 1, maximum: 3600, description: 'Heartbeat interval' }),
    backoffBaseMs: Type.Integer({ default: 500, minimum: 10, description: 'First reconnect delay' }),
    backoffMaxMs: Type.Integer({ default: 30_000, minimum: 100, description: 'Longest reconnect delay' }),
  }, { default: {}, additionalProperties: false }),
  scan: Type.Object({
    intervalSeconds: Type.Number({ default: 300, minimum: 0, description: 'Full scan period; 0 disables the periodic scan' }),
    checks: Type.Array(Type.String(), { default: [], description: 'Check ids or sections to run; empty means all' }),
  }, { default: {}, additionalProperties: false }),
  spool: Type.Object({
    maxItems: Type.Integer({ default: 50_000, minimum: 100, description: 'Results and findings the spool holds at most' }),
    maxBytes: Type.Integer({ default: 64 * 1024 * 1024, minimum: 1024 * 1024, description: 'Bytes the spool holds at most' }),
  }, { default: {}, additionalProperties: false }),
  log: Type.Object({ level: LogLevel }, { default: {}, additionalProperties: false }),
}, { additionalProperties: false });

export type AgentConfig = Static<typeof AgentConfigSchema>;

export function loadAgentConfig(sources: ConfigSources, opts: { needCollector: boolean }): AgentConfig {
  const c = loadConfig(AgentConfigSchema, 'NODEWARD', sources);
  const problems: string[] = [];
  const base = sources.file ? resolve(sources.file, '..') : process.cwd();
  const path = (p: string): string => (p && !isAbsolute(p) ? join(base, p) : p);
  const node = c.node || sources.env?.NODE_NAME || hostname().toLowerCase();
  if (!isValidNodeName(node)) problems.push(`node: ${JSON.stringify(node)} is not a valid Kubernetes node name`);
  for (const [k, v] of [['hostRoot', c.hostRoot], ['procRoot', c.procRoot]] as const) {
    if (!existsSync(v)) problems.push(`${k}: ${v} does not exist`);
  }
  const collector = { ...c.collector, caFile: path(c.collector.caFile), certFile: path(c.collector.certFile), keyFile: path(c.collector.keyFile) };
  if (opts.needCollector) {
    if (!c.collector.address) problems.push('collector.address: required to run the agent (env NODEWARD_COLLECTOR_ADDRESS)');
    if (!c.collector.insecure) {
      for (const k of ['caFile', 'certFile', 'keyFile'] as const) {
        if (!collector[k]) problems.push(`collector.${k}: required unless collector.insecure is set`);
        else if (!existsSync(collector[k])) problems.push(`collector.${k}: ${collector[k]} does not exist`);
      }
    }
  }
  if (problems.length > 0) throw new ConfigError(problems);
  return Object.freeze({ ...c, node, stateDir: path(c.stateDir), collector });
}

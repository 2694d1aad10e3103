// docs/configuration.md, rendered from the agent's and the collector's TypeBox schemas
// (agent/config.ts, collector/config.ts): every setting with its environment variable, type,
// default and description. Nothing here names a setting: a new one appears by itself.
import { Kind, type TObject, type TSchema } from '@sinclair/typebox';
import { AgentConfigSchema } from '../../agent/config.js';
import { CollectorConfigSchema } from '../../collector/config.js';
import { envSettings, type EnvSetting } from '../../proto/support/config-loader.js';
import { code, table, text } from './markdown.js';

export const ENV_PREFIX = 'NODEWARD';

const list = (xs: readonly string[]): string => (xs.length <= 1 ? xs.join('') : `${xs.slice(0, -1).join(', ')} or ${xs[xs.length - 1]}`);

function literalsOf(s: TSchema): string[] | null {
  if (s[Kind] !== 'Union' || !Array.isArray(s.anyOf)) return null;
  const values = (s.anyOf as TSchema[]).map((m) => (m[Kind] === 'Literal' ? String(m.const) : null));
  return values.every((v): v is string => v !== null) ? values : null;
}

function bounds(s: TSchema): string {
  const low = typeof s.minimum === 'number' ? `at least ${s.minimum}` : typeof s.exclusiveMinimum === 'number' ? `above ${s.exclusiveMinimum}` : '';
  const high = typeof s.maximum === 'number' ? `at most ${s.maximum}` : '';
  if (typeof s.minimum === 'number' && high) return `${s.minimum} to ${s.maximum}`;
  return [low, high].filter(Boolean).join(', ');
}

/** A schema's type in words: `integer, 1 to 3600`, `one of auto, on, off`, `list of strings`. */
export function typeText(s: TSchema): string {
  const lits = literalsOf(s);
  if (lits) return `one of ${list(lits.map(code))}`;
  switch (s[Kind]) {
    case 'Integer':
    case 'Number': {
      const b = bounds(s);
      return b ? `${s[Kind] === 'Integer' ? 'integer' : 'number'}, ${b}` : s[Kind] === 'Integer' ? 'integer' : 'number';
    }
    case 'String':
      return 'string';
    case 'Boolean':
      return 'boolean';
    case 'Array': {
      const item = s.items as TSchema;
      if (item[Kind] === 'Object') return 'list of objects (below)';
      const inner = literalsOf(item);
      return inner ? `list of ${list(inner.map(code))}` : `list of ${typeText(item)}s`;
    }
    case 'Record':
      return 'map of strings';
    case 'Object':
      return 'object';
    default:
      return String(s.type ?? s[Kind]).toLowerCase();
  }
}

/** How a setting is given in the environment. */
function envText(s: EnvSetting): string {
  if (s.schema[Kind] !== 'Array') return code(s.env);
  const item = s.schema.items as TSchema;
  return `${code(s.env)} (${item[Kind] === 'Object' ? 'JSON' : 'JSON, or comma-separated'})`;
}

function defaultText(value: unknown): string {
  return value === undefined ? 'none' : code(JSON.stringify(value));
}

function settingsTable(schema: TObject): string {
  const rows = envSettings(schema, ENV_PREFIX).map((s) => [code(s.path), envText(s), typeText(s.schema), defaultText(s.default), text(s.description)]);
  return table(['setting', 'environment', 'type', 'default', 'description'], rows);
}

/** The fields of every list of objects (tokens, webhooks), one table each. */
function itemTables(schema: TObject, heading: (path: string) => string): string[] {
  const out: string[] = [];
  for (const s of envSettings(schema, ENV_PREFIX)) {
    if (s.schema[Kind] !== 'Array' || (s.schema.items as TSchema)[Kind] !== 'Object') continue;
    const item = s.schema.items as TObject;
    const required = new Set<string>(Array.isArray(item.required) ? (item.required as string[]) : []);
    const rows = Object.entries(item.properties as Record<string, TSchema>).map(([name, f]) => [
      code(name), typeText(f), f.default === undefined ? (required.has(name) ? 'required' : 'none') : defaultText(f.default), typeof f.description === 'string' ? text(f.description) : '',
    ]);
    out.push(`${heading(s.path)}\n\n${table(['field', 'type', 'default', 'description'], rows)}`);
  }
  return out;
}

export function configurationMarkdown(): string {
  const collectorItems = itemTables(CollectorConfigSchema, (p) => `### Each entry of ${code(p)}`);
  const agentItems = itemTables(AgentConfigSchema, (p) => `### Each entry of ${code(p)}`);
  return `# Configuration reference

Generated from the schemas in \`agent/config.ts\` and \`collector/config.ts\` by
\`npm run gen:docs\`; do not edit by hand.

Both programs read a YAML file (\`--config FILE\`), then \`${ENV_PREFIX}_*\` environment
variables, which win over the file. Everything is checked at start-up. An invalid
configuration stops the program with exit code 2 before it opens a socket or a database. The
message lists every problem at once.

In the environment, numbers are plain digits and booleans are \`true\` or \`false\` (\`1\`,
\`0\` also work). A list is JSON (\`["a","b"]\`) or, for a list of strings, comma-separated
(\`a,b\`). A list of objects must be JSON.

\`npm start\` writes the configurations it uses to \`data/agent.yaml\` and
\`data/collector.yaml\`: a good starting point. On a cluster they are
\`manifests/agent/agent.yaml\` and \`manifests/collector/collector.yaml\`, turned into
ConfigMaps ([install.md](install.md)).

## Agent (\`./bin/nodeward agent\`)

${settingsTable(AgentConfigSchema)}
${agentItems.map((t) => `\n${t}\n`).join('')}
## Collector (\`./bin/nodeward collector\`)

${settingsTable(CollectorConfigSchema)}

${collectorItems.join('\n\n')}

## Connection limits

On each of its ports (gRPC, API, enrollment), the collector keeps no TLS state for a
connection until a whole ClientHello has arrived. It closes a connection whose TLS handshake
is not done \`handshakeTimeoutMs\` after it was accepted. This is an absolute deadline,
however slowly the peer sends.

Each port has a total cap (\`maxConnections\`). The gRPC port also has a cap per source
address (\`grpc.maxConnectionsPerSource\`). Set it to \`0\` when agents reach the collector
through one NAT address. A connection over a cap is closed at once.

\`/metrics\` shows them per listener: \`nodeward_connections_open\`,
\`nodeward_connections_refused_total{reason="total_cap"|"source_cap"}\` and
\`nodeward_tls_handshake_timeouts_total\`.

Enrollment reads a request's body (within \`enroll.bodyTimeoutMs\`, else 408) before the
request counts against \`enroll.maxInFlight\`. So slow senders cannot hold the slots that
complete requests need.

## Certificates for a small install

Without a cluster PKI (\`pki.mode: files\`), make the CA, the collector's certificate and
one certificate per node with:

\`\`\`sh
./bin/nodeward pki init DIR --node worker-1 --node worker-2 --host collector.example --host 10.0.0.5
\`\`\`

[install.md](install.md) says when to use it on a cluster.
`;
}

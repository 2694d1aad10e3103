// The ports `nodeward dev` (`npm start`) listens on, where each one is set (a flag or an
// environment variable), and what to tell the user when one is taken: the port, what it is
// for, and which flag or variable moves it. Checked before anything is started, so a taken
// port ends start-up at once instead of after a child process has failed.
import { createServer } from 'node:net';

export type DevPortName = 'grpc' | 'api' | 'health';

export interface DevPortSpec {
  readonly name: DevPortName;
  /** What listens there, for messages. */
  readonly what: string;
  readonly flag: string;
  readonly env: string;
  readonly defaultPort: number;
}

export const DEV_PORTS: readonly DevPortSpec[] = [
  { name: 'grpc', what: "the collector's gRPC listener (agent streams)", flag: '--grpc-port', env: 'NODEWARD_DEV_GRPC_PORT', defaultPort: 7443 },
  { name: 'api', what: "the collector's API and dashboard", flag: '--api-port', env: 'NODEWARD_DEV_API_PORT', defaultPort: 8443 },
  { name: 'health', what: "the agent's health endpoint (/healthz, /readyz, /status)", flag: '--health-port', env: 'NODEWARD_DEV_HEALTH_PORT', defaultPort: 9102 },
];

/** Everything `nodeward dev` listens on, loopback only. */
export const DEV_HOST = '127.0.0.1';

export type DevPorts = Readonly<Record<DevPortName, number>>;

/** How to move one port elsewhere, for messages. */
export function howToChange(spec: DevPortSpec): string {
  return `choose another with ${spec.flag} N (npm start -- ${spec.flag} N) or ${spec.env}=N`;
}

/** A port given by flag or environment: an integer 1-65535. Returns the problem, if any. */
export function portValueProblem(raw: string): string | undefined {
  if (!/^[0-9]{1,5}$/.test(raw)) return `${JSON.stringify(raw)} is not a port number`;
  const n = Number(raw);
  return n >= 1 && n <= 65_535 ? undefined : `${n} is not a port between 1 and 65535`;
}

/** The same port given twice is a usage error: each listener needs its own. */
export function duplicatePorts(ports: DevPorts): string[] {
  const problems: string[] = [];
  const seen = new Map<number, DevPortSpec>();
  for (const spec of DEV_PORTS) {
    const port = ports[spec.name];
    const other = seen.get(port);
    if (other) problems.push(`${other.flag} and ${spec.flag} are both ${port}: each needs its own port`);
    else seen.set(port, spec);
  }
  return problems;
}

/** Tries to listen on host:port and lets go at once. Resolves with the error code, or undefined when free. */
function probe(host: string, port: number): Promise<string | undefined> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', (err: NodeJS.ErrnoException) => resolve(err.code ?? err.message));
    server.listen({ host, port, exclusive: true }, () => server.close(() => resolve(undefined)));
  });
}

/** One message per port that cannot be listened on, naming the port and how to move it. */
export async function unavailablePorts(ports: DevPorts, host = DEV_HOST): Promise<string[]> {
  const results = await Promise.all(DEV_PORTS.map(async (spec) => ({ spec, code: await probe(host, ports[spec.name]) })));
  return results.flatMap(({ spec, code }) => (code === undefined ? [] : [portMessage(spec, host, ports[spec.name], code)]));
}

function portMessage(spec: DevPortSpec, host: string, port: number, code: string): string {
  const why = code === 'EADDRINUSE' ? 'is in use by another program (another `npm start`?): stop it, or'
    : code === 'EACCES' ? 'needs privileges this user lacks:'
      : `cannot be listened on (${code}):`;
  return `port ${port} on ${host}, ${spec.what}, ${why} ${howToChange(spec)}`;
}

/**
 * A child process's last words, when it failed to listen on one of the ports after the
 * check above passed (something took the port in between): the same advice.
 */
export function explainListenFailure(output: string, ports: DevPorts, host = DEV_HOST): string | undefined {
  for (const spec of DEV_PORTS) {
    const port = ports[spec.name];
    const m = new RegExp(`listen (EADDRINUSE|EACCES)\\b[^\\n]*:${port}\\b`).exec(output);
    if (m) return portMessage(spec, host, port, m[1]!);
  }
  return undefined;
}

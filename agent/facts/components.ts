// Recognising Kubernetes components by argv (argv[0]'s base name, or `hyperkube <component>`),
// never by a text search of the command line: `grep etcd` also matches the API server, whose
// flags are --etcd-servers, --etcd-cafile, ... Pure: no I/O.
import type { CliFlag } from './cli-flags.js';
import { parseFlags } from './cli-flags.js';
import type { ArgSource, ComponentArg, ControlPlaneComponent } from './control-plane-types.js';
import { commandName } from './cli-flags.js';

export type KnownComponent = ControlPlaneComponent | 'kube-proxy';

const BY_COMMAND: ReadonlyMap<string, KnownComponent> = new Map([
  ['kube-apiserver', 'kube-apiserver'],
  ['kube-controller-manager', 'kube-controller-manager'],
  ['kube-scheduler', 'kube-scheduler'],
  ['etcd', 'etcd'],
  ['kube-proxy', 'kube-proxy'],
]);

/** `hyperkube <subcommand>`: both the short and the kube- names were accepted. */
const HYPERKUBE: ReadonlyMap<string, KnownComponent> = new Map([
  ['apiserver', 'kube-apiserver'],
  ['kube-apiserver', 'kube-apiserver'],
  ['controller-manager', 'kube-controller-manager'],
  ['kube-controller-manager', 'kube-controller-manager'],
  ['scheduler', 'kube-scheduler'],
  ['kube-scheduler', 'kube-scheduler'],
  ['proxy', 'kube-proxy'],
  ['kube-proxy', 'kube-proxy'],
]);

/** The component an argv runs and its own arguments, or null. */
export function componentOf(argv: readonly string[]): { component: KnownComponent; args: readonly string[] } | null {
  const cmd = commandName(argv);
  const direct = BY_COMMAND.get(cmd);
  if (direct !== undefined) return { component: direct, args: argv.slice(1) };
  if (cmd === 'hyperkube') {
    const sub = HYPERKUBE.get(argv[1] ?? '');
    if (sub !== undefined) return { component: sub, args: argv.slice(2) };
  }
  return null;
}

/**
 * Boolean flags: bare means true, and they never take the next token (pflag and Go's flag
 * package both read `--profiling false` as --profiling=true followed by a stray word).
 */
export const BOOLEAN_FLAGS: { readonly [C in KnownComponent]: ReadonlySet<string> } = {
  'kube-apiserver': new Set([
    'add-dir-header', 'aggregator-reject-forwarding-redirect', 'allow-privileged',
    'alsologtostderr', 'anonymous-auth', 'audit-log-batch-throttle-enable', 'audit-log-compress',
    'audit-log-truncate-enabled', 'audit-webhook-batch-throttle-enable', 'audit-webhook-truncate-enabled',
    'contention-profiling', 'disable-http2-serving', 'enable-aggregator-routing',
    'enable-bootstrap-token-auth', 'enable-garbage-collector', 'enable-logs-handler', 'enable-priority-and-fairness',
    'help', 'log-json-split-stream', 'log-text-split-stream', 'logtostderr', 'one-output', 'permit-address-sharing',
    'permit-port-sharing', 'profiling', 'service-account-extend-token-expiration', 'service-account-lookup',
    'skip-headers', 'skip-log-headers', 'watch-cache', 'version',
  ]),
  'kube-controller-manager': new Set([
    'add-dir-header', 'allocate-node-cidrs', 'alsologtostderr', 'configure-cloud-routes', 'contention-profiling',
    'disable-attach-detach-reconcile-sync', 'enable-dynamic-provisioning', 'enable-garbage-collector',
    'enable-hostpath-provisioner', 'enable-leader-migration', 'enable-taint-manager', 'help', 'leader-elect',
    'log-json-split-stream', 'log-text-split-stream', 'logtostderr', 'one-output', 'permit-address-sharing',
    'permit-port-sharing', 'profiling', 'skip-headers', 'skip-log-headers', 'use-service-account-credentials', 'version',
  ]),
  'kube-scheduler': new Set([
    'add-dir-header', 'alsologtostderr', 'contention-profiling', 'help', 'leader-elect', 'log-json-split-stream',
    'log-text-split-stream', 'logtostderr', 'one-output', 'permit-address-sharing', 'permit-port-sharing', 'profiling',
    'skip-headers', 'skip-log-headers', 'version',
  ]),
  etcd: new Set([
    'auto-tls', 'client-cert-auth', 'debug', 'enable-grpc-gateway', 'enable-pprof', 'enable-v2', 'experimental-initial-corrupt-check',
    'experimental-enable-distributed-tracing', 'experimental-enable-lease-checkpoint', 'experimental-memory-mlock',
    'experimental-stop-grpc-service-on-defrag', 'force-new-cluster', 'help', 'peer-auto-tls', 'peer-client-cert-auth',
    'pre-vote', 'socket-reuse-address', 'socket-reuse-port', 'strict-reconfig-check', 'unsafe-no-fsync', 'version',
  ]),
  'kube-proxy': new Set([
    'add-dir-header', 'alsologtostderr', 'cleanup', 'help', 'logtostderr', 'masquerade-all', 'one-output', 'profiling',
    'skip-headers', 'skip-log-headers', 'version',
  ]),
};

/**
 * etcd parses its flags with Go's flag package, where `-cert-file x` and `--cert-file x` are
 * the same flag. The single-dash form is rewritten so one parser serves every component.
 */
function normaliseGoFlags(args: readonly string[]): string[] {
  return args.map((a) => (/^-[^-]/.test(a) && a.length > 2 ? `-${a}` : a));
}

/** A component's argv arguments as flags, tagged with where they were read. */
export function componentArgsFrom(component: KnownComponent, args: readonly string[], source: ArgSource, file: string): ComponentArg[] {
  const input = component === 'etcd' ? normaliseGoFlags(args) : args;
  return parseFlags(input, BOOLEAN_FLAGS[component]).flags.map((f: CliFlag) => ({ ...f, source, file }));
}

/** The value the component sees: the last occurrence of a flag wins. */
export function lastArg(args: readonly ComponentArg[], name: string): ComponentArg | undefined {
  for (let i = args.length - 1; i >= 0; i--) {
    const a = args[i] as ComponentArg;
    if (a.name === name) return a;
  }
  return undefined;
}

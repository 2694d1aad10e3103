// `npm run bench:rss`: the agent's memory benchmark (bench/agent-rss.ts) alone, with the
// options `npm run bench` gives it: one minute of churn, ten with `--soak`;
// `--agent-bare-env` starts the agent without the image's runtime environment and Node.js options,
// `--agent-debug` at log level debug (its V8 heap figures, once a minute), `--agent-ring-bytes=N`
// with another eBPF ring size, `--agent-keep-dir` keeps its log and state, `--agent-minutes=N`
// churns for N minutes.
import { AGENT_NODE_ARGS, AGENT_RUNTIME_ENV } from '../agent/runtime-env.js';
import { agentRssOptions, benchAgentRss, formatAgentRssBench } from './agent-rss.js';

const o = agentRssOptions(process.argv, { env: AGENT_RUNTIME_ENV, nodeArgs: AGENT_NODE_ARGS });
benchAgentRss(o).then(
  (r) => process.stdout.write(formatAgentRssBench(r, o)),
  (err: unknown) => {
    console.error(err);
    process.exit(1);
  },
);

// docs/interpreters.md, rendered from the tables in agent/processes/interpreters.ts and
// loader.ts (scripts/gen-docs.ts writes it).
import { interpretersMarkdown } from '../../agent/processes/interpreters.js';
import { loadersMarkdown } from '../../agent/processes/loader.js';

export function interpretersDoc(): string {
  return `# Shells, interpreters and the dynamic loader

Generated from \`agent/processes/interpreters.ts\` and \`agent/processes/loader.ts\` by
\`npm run gen:docs\`; do not edit by hand.

The process judge gives a learned program context its path does not show
(\`agent/processes/context.ts\`):

- \`proc-reverse-shell\` (critical): one of these shells or interpreters starts with stdin,
  stdout or stderr on a TCP, UDP or raw socket (IPv4 or IPv6). A unix socket (journald holds
  every systemd service's stdout), a pipe, a file or a terminal is never reported.
- \`proc-inline-code\` (medium): one of them runs code given on its command line, or reads its
  code from stdin while stdin is a socket, in a baseline that never saw that interpreter do so
  while learning. \`python3 -m module\` and \`bash script.sh -c\` (the \`-c\` is the script's) are
  not inline code. awk's program text is always inline code unless it comes from \`-f FILE\`:
  workloads that run awk learn it like any other inline code.
- A program is known by its executable's file name (after links are resolved), also with a
  version suffix; busybox by the applet it runs (argv[0], or argv[1] after \`busybox\`).

Not listed: java (code comes from class files and jars), sed, find, vim, gdb and other
programs that can run commands as a side feature, and R.

## Shells and interpreters

${interpretersMarkdown()}

## The dynamic loader

Run directly (\`/lib64/ld-linux-x86-64.so.2 /tmp/payload\`), the loader is judged by the
program it loads. Its own options are skipped as it reads them (glibc: exact words;
musl: also \`--opt=value\` and \`--\`). A program named without a \`/\` is searched on the
library path by glibc, and a relative path needs the process's working directory: when the
program cannot be known, the exec is judged unexpected.

${loadersMarkdown()}
`;
}

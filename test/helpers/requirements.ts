// Tests that need a real peer from a Debian package (python3-grpcio, etcd-server, chromium,
// ...) or a tool from an npm dev dependency (`install` says how). The policy:
//   - In CI (CI=true) a missing package is a failure, never a silent pass: the tests are
//     declared as usual (so they run and fail), and one more test is declared that fails
//     with a message naming the packages to install (.ci/run installs them).
//   - Elsewhere the tests are skipped, with a message saying which packages to install.
// The choice is made once, when the tests are declared.
//
//   const pyTest = needs({ what: 'Python gRPC', check: () => commandSucceeds('/usr/bin/python3', ['-c', 'import grpc']),
//                          packages: ['python3-grpcio', 'python3-grpc-tools'] });
//   pyTest('a Python client can talk to the collector', async (t) => { ... });
import test, { type SkipFn } from 'ava';
import { spawnSync } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { createRequire } from 'node:module';

export interface Requirement {
  /** Debian packages that provide what the tests need. */
  readonly packages: readonly string[];
  /** True when the requirement is met. May also return a string: the reason it is not met. */
  readonly check: () => boolean | string;
  /** A short name for messages; defaults to the package list. */
  readonly what?: string;
  /** Declare the tests with test.serial instead of test. */
  readonly serial?: boolean;
  /**
   * How to install what is missing when it is not a Debian package (an npm dev dependency:
   * `npm install --save-dev NAME@VERSION`); `packages` then names it for the messages.
   */
  readonly install?: string;
}

/** A test declaration function: ava's `test` (or `test.serial`), or its skipping variant. */
export type Declare = SkipFn;

/** Whether this run is CI, where a missing requirement must fail. */
export const inCi = (): boolean => process.env.CI === 'true';

const reported = new Set<string>();

export function needs(req: Requirement): Declare {
  const base = req.serial ? test.serial : test;
  const met = evaluate(req.check);
  if (met === true) return base;

  const what = req.what ?? req.packages.join(', ');
  const message = req.install
    ? `${what} is not available (${met}); install ${req.packages.join(', ')}: ${req.install}`
    : `${what} is not available (${met}); install the Debian package(s) ${req.packages.join(', ')}: apt-get install -y --no-install-recommends ${req.packages.join(' ')}`;
  if (inCi()) {
    // Declared once per file and requirement, so the failure states its cause plainly.
    const title = `requirement: ${what} (${req.install ? '' : 'Debian: '}${req.packages.join(' ')})`;
    if (!reported.has(title)) {
      reported.add(title);
      console.error(`CI: ${message}`);
      test(title, (t) => {
        t.fail(`CI=true and ${message}`);
      });
    }
    return base;
  }
  if (!reported.has(what)) {
    reported.add(what);
    console.log(`skipping tests that need ${message}`);
  }
  return base.skip;
}

function evaluate(check: () => boolean | string): true | string {
  try {
    const r = check();
    if (r === true) return true;
    return typeof r === 'string' && r.length > 0 ? r : 'check failed';
  } catch (err) {
    return (err as Error).message;
  }
}

// Checks that later requirements can reuse.

/** True when `file args...` runs and exits 0 (within 30 s); otherwise why not. */
export function commandSucceeds(file: string, args: readonly string[]): true | string {
  const r = spawnSync(file, args, { encoding: 'utf8', timeout: 30_000, stdio: ['ignore', 'ignore', 'pipe'] });
  if (r.error) return `${file}: ${r.error.message}`;
  if (r.status !== 0) return `${file} ${args.join(' ')} exited with ${r.status ?? r.signal}: ${(r.stderr ?? '').trim().split('\n').at(-1) ?? ''}`;
  return true;
}

/** True when the file exists and is executable; otherwise why not. */
export function executable(path: string): true | string {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return `${path} is missing or not executable`;
  }
}

/** True when the npm package resolves from the project (a dev dependency installed); otherwise why not. */
export function npmPackage(name: string): true | string {
  try {
    createRequire(import.meta.url).resolve(name);
    return true;
  } catch {
    return `the npm package ${name} is not installed in node_modules`;
  }
}

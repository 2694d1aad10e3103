// `npm run bench`: every benchmark, each printing its figures next to a baseline measured
// in the same run. Nothing here asserts a time; the ratios are for people to read.
import { benchIngest } from './ingest.js';

const fmt = (n: number): string => Math.round(n).toLocaleString('en-US');

async function main(): Promise<void> {
  const quick = process.argv.includes('--quick');
  process.stdout.write('nodeward benchmarks\n\n');

  const o = quick
    ? { batches: 200, perBatch: 50, distinct: 5_000, window: 16 }
    : { batches: 2_000, perBatch: 100, distinct: 50_000, window: 16 };
  // One warm-up round so both paths run with a warm JIT and page cache.
  await benchIngest({ ...o, batches: Math.min(o.batches, 100) });
  const r = await benchIngest(o);
  process.stdout.write([
    `ingest: ${fmt(r.total)} findings in ${o.batches} batches of ${o.perBatch} (${o.distinct} distinct, the rest updates)`,
    `  gRPC mTLS -> validate -> SQLite, ack after commit: ${fmt(r.grpcPerSec)} findings/s`,
    `  same commits directly on SQLite (baseline):       ${fmt(r.directPerSec)} findings/s`,
    `  ratio gRPC path / direct: ${r.ratio.toFixed(2)}`,
    '',
  ].join('\n'));
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});

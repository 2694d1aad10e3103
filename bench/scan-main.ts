// `npm run bench:scan`: the scan benchmark (bench/scan.ts) alone, with the options `npm run
// bench` gives it (`--quick`: fewer scans; `--fixture NAME`: another host tree).
import { benchScan, formatScanBench, scanBenchOptions } from './scan.js';

const so = scanBenchOptions(process.argv);
benchScan(so).then(
  (r) => process.stdout.write(formatScanBench(r, so.scans)),
  (err: unknown) => {
    console.error(err);
    process.exit(1);
  },
);

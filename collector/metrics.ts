// Prometheus text exposition for the collector's own counters. Small and dependency-free:
// counters, gauges and histograms with a few bounded labels.

type Labels = Record<string, string>;

interface Metric {
  readonly name: string;
  readonly help: string;
  readonly type: 'counter' | 'gauge' | 'histogram';
  readonly values: Map<string, number>;
}

interface Histogram {
  readonly buckets: readonly number[];
  /** Per label set: cumulative counts per bucket (the last one is +Inf), and the sum. */
  readonly series: Map<string, { counts: number[]; sum: number }>;
}

/** Seconds: from a cached read to a summary over a million findings. */
export const LATENCY_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5] as const;

/** Seconds from a finding change's commit to its webhook delivery: grouping windows, retries and outages included. */
export const DELIVERY_LATENCY_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600] as const;

const escape = (v: string): string => v.replace(/["\\\n]/g, '_');
const key = (labels?: Labels): string =>
  labels ? Object.entries(labels).map(([k, v]) => `${k}="${escape(v)}"`).join(',') : '';

export function createMetrics() {
  const metrics = new Map<string, Metric>();
  const histograms = new Map<string, Histogram>();
  const def = (name: string, help: string, type: Metric['type']): Metric => {
    let m = metrics.get(name);
    if (!m) metrics.set(name, (m = { name, help, type, values: new Map() }));
    return m;
  };
  return {
    inc(name: string, help: string, by = 1, labels?: Labels): void {
      const m = def(name, help, 'counter');
      const k = key(labels);
      m.values.set(k, (m.values.get(k) ?? 0) + by);
    },
    set(name: string, help: string, value: number, labels?: Labels): void {
      def(name, help, 'gauge').values.set(key(labels), value);
    },
    observe(name: string, help: string, value: number, labels?: Labels, buckets: readonly number[] = LATENCY_BUCKETS): void {
      def(name, help, 'histogram');
      let h = histograms.get(name);
      if (!h) histograms.set(name, (h = { buckets, series: new Map() }));
      const k = key(labels);
      let s = h.series.get(k);
      if (!s) h.series.set(k, (s = { counts: new Array<number>(h.buckets.length + 1).fill(0), sum: 0 }));
      for (let i = 0; i < h.buckets.length; i++) if (value <= (h.buckets[i] as number)) s.counts[i] = (s.counts[i] ?? 0) + 1;
      s.counts[h.buckets.length] = (s.counts[h.buckets.length] ?? 0) + 1;
      s.sum += value;
    },
    get(name: string, labels?: Labels): number {
      return metrics.get(name)?.values.get(key(labels)) ?? 0;
    },
    render(): string {
      const out: string[] = [];
      for (const m of metrics.values()) {
        out.push(`# HELP ${m.name} ${m.help}`, `# TYPE ${m.name} ${m.type}`);
        if (m.type === 'histogram') {
          const h = histograms.get(m.name);
          for (const [k, s] of h?.series ?? []) {
            const sep = k ? ',' : '';
            h!.buckets.forEach((b, i) => out.push(`${m.name}_bucket{${k}${sep}le="${b}"} ${s.counts[i] ?? 0}`));
            const count = s.counts[h!.buckets.length] ?? 0;
            out.push(`${m.name}_bucket{${k}${sep}le="+Inf"} ${count}`, `${m.name}_sum${k ? `{${k}}` : ''} ${s.sum}`, `${m.name}_count${k ? `{${k}}` : ''} ${count}`);
          }
          continue;
        }
        for (const [k, v] of m.values) out.push(`${m.name}${k ? `{${k}}` : ''} ${v}`);
      }
      return `${out.join('\n')}\n`;
    },
  };
}

export type Metrics = ReturnType<typeof createMetrics>;

// Prometheus text exposition for the collector's own counters. Small and dependency-free:
// counters and gauges with at most one label.

type Labels = Record<string, string>;

interface Metric {
  readonly name: string;
  readonly help: string;
  readonly type: 'counter' | 'gauge';
  readonly values: Map<string, number>;
}

export function createMetrics() {
  const metrics = new Map<string, Metric>();
  const key = (labels?: Labels): string =>
    labels ? Object.entries(labels).map(([k, v]) => `${k}="${v.replace(/["\\\n]/g, '_')}"`).join(',') : '';
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
    get(name: string, labels?: Labels): number {
      return metrics.get(name)?.values.get(key(labels)) ?? 0;
    },
    render(): string {
      const out: string[] = [];
      for (const m of metrics.values()) {
        out.push(`# HELP ${m.name} ${m.help}`, `# TYPE ${m.name} ${m.type}`);
        for (const [k, v] of m.values) out.push(`${m.name}${k ? `{${k}}` : ''} ${v}`);
      }
      return `${out.join('\n')}\n`;
    },
  };
}

export type Metrics = ReturnType<typeof createMetrics>;

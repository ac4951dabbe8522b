// Reads one Prometheus histogram (e.g. triage_proxy_overhead_seconds) from a /metrics page, so a run can
// take the difference of two scrapes and estimate its quantiles the way histogram_quantile() does.

export interface Histogram {
  /** Cumulative counts by upper bound (seconds), ascending; the last is +Inf. */
  buckets: { le: number; count: number }[];
  sum: number;
  count: number;
}

function labelsMatch(labels: string, want: Record<string, string>): boolean {
  for (const [k, v] of Object.entries(want)) if (!labels.includes(`${k}="${v}"`)) return false;
  return true;
}

export function parseHistogram(text: string, name: string, want: Record<string, string> = {}): Histogram {
  const byLe = new Map<number, number>();
  let sum = 0;
  let count = 0;
  for (const line of text.split('\n')) {
    if (!line.startsWith(name)) continue;
    const m = /^(\w+)\{([^}]*)\}\s+(\S+)$/.exec(line) ?? /^(\w+)()\s+(\S+)$/.exec(line);
    if (!m) continue;
    const [, metric, labels = '', value] = m;
    if (!labelsMatch(labels, want)) continue;
    const v = Number(value);
    if (metric === `${name}_bucket`) {
      const le = /le="([^"]+)"/.exec(labels)?.[1];
      if (le === undefined) continue;
      const bound = le === '+Inf' ? Infinity : Number(le);
      byLe.set(bound, (byLe.get(bound) ?? 0) + v);
    } else if (metric === `${name}_sum`) sum += v;
    else if (metric === `${name}_count`) count += v;
  }
  const buckets = [...byLe.entries()].sort((a, b) => a[0] - b[0]).map(([le, c]) => ({ le, count: c }));
  return { buckets, sum, count };
}

export function diffHistogram(after: Histogram, before: Histogram): Histogram {
  const prev = new Map(before.buckets.map((b) => [b.le, b.count]));
  return {
    buckets: after.buckets.map((b) => ({ le: b.le, count: b.count - (prev.get(b.le) ?? 0) })),
    sum: after.sum - before.sum,
    count: after.count - before.count,
  };
}

/** Linear interpolation inside the bucket that holds quantile q (like PromQL's histogram_quantile). */
export function histogramQuantile(h: Histogram, q: number): number {
  if (h.count <= 0 || h.buckets.length === 0) return Number.NaN;
  const rank = q * h.count;
  let lowerBound = 0;
  let lowerCount = 0;
  for (const b of h.buckets) {
    if (b.count >= rank) {
      if (b.le === Infinity) return lowerBound; // beyond the last finite bound: report that bound
      const inBucket = b.count - lowerCount;
      return inBucket <= 0 ? b.le : lowerBound + ((b.le - lowerBound) * (rank - lowerCount)) / inBucket;
    }
    lowerBound = b.le;
    lowerCount = b.count;
  }
  return lowerBound;
}

export async function scrape(url: string): Promise<string> {
  const res = await fetch(url, { signal: AbortSignal.timeout(5000) });
  return res.text();
}

/** Mean, p50 and p99 (ms) of the observations between two scrapes, plus how many there were. */
export function histogramSummaryMs(after: Histogram, before: Histogram): { count: number; meanMs: number; p50Ms: number; p99Ms: number; note: string } {
  const d = diffHistogram(after, before);
  return {
    count: d.count,
    meanMs: d.count ? (d.sum / d.count) * 1000 : Number.NaN,
    p50Ms: histogramQuantile(d, 0.5) * 1000,
    p99Ms: histogramQuantile(d, 0.99) * 1000,
    note: 'interpolated within buckets 0.1/0.25/0.5/1/2.5/5/10 ms…',
  };
}

/** A gauge's value (first series matching the labels), or NaN. */
export function parseGauge(text: string, name: string): number {
  const m = new RegExp(`^${name}(?:\\{[^}]*\\})? (\\S+)$`, 'm').exec(text);
  return m ? Number(m[1]) : Number.NaN;
}

export interface RuntimeStats {
  /** GCs between the scrapes by kind (minor = scavenge, major = mark-compact, incremental, weakcb). */
  gc: Record<string, { count: number; totalMs: number; over10ms: number }>;
  /** The sidecar's event-loop delay since the first scrape (prom-client resets it on every scrape), ms,
   * beyond the monitor's 10 ms sampling interval. */
  eventLoopDelayMs: { p50: number; p99: number; max: number };
}

const GC_METRIC = 'triage_process_nodejs_gc_duration_seconds';
const LAG = 'triage_process_nodejs_eventloop_lag';
const LAG_RESOLUTION_MS = 10;

/** GC and event-loop delay of the sidecar between two /metrics scrapes (prom-client default metrics). */
export function runtimeStats(afterText: string, beforeText: string): RuntimeStats {
  const gc: RuntimeStats['gc'] = {};
  for (const kind of ['minor', 'major', 'incremental', 'weakcb']) {
    const d = diffHistogram(parseHistogram(afterText, GC_METRIC, { kind }), parseHistogram(beforeText, GC_METRIC, { kind }));
    if (d.count <= 0) continue;
    const upTo10ms = d.buckets.find((b) => Math.abs(b.le - 0.01) < 1e-9)?.count ?? d.count;
    gc[kind] = { count: d.count, totalMs: d.sum * 1000, over10ms: d.count - upTo10ms };
  }
  // monitorEventLoopDelay records the interval between its timer's ticks, so every value includes the
  // sampling interval (prom-client's default eventLoopMonitoringPrecision, 10 ms): taken off here.
  const lag = (q: string): number => Math.max(0, parseGauge(afterText, `${LAG}_${q}_seconds`) * 1000 - LAG_RESOLUTION_MS);
  return { gc, eventLoopDelayMs: { p50: lag('p50'), p99: lag('p99'), max: lag('max') } };
}

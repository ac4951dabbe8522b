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

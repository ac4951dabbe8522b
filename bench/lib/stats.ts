// Percentile summaries of raw samples (milliseconds), computed exactly from every sample (nearest rank).

export interface Summary {
  n: number;
  min: number;
  mean: number;
  p50: number;
  p90: number;
  p99: number;
  p999: number;
  max: number;
}

export function percentile(sorted: ArrayLike<number>, p: number): number {
  if (sorted.length === 0) return Number.NaN;
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length - 1, Math.max(0, rank - 1))] as number;
}

export function summarize(samples: ArrayLike<number>): Summary {
  const s = Float64Array.from(samples as ArrayLike<number>).sort();
  let sum = 0;
  for (let i = 0; i < s.length; i++) sum += s[i] as number;
  return {
    n: s.length,
    min: s.length ? (s[0] as number) : Number.NaN,
    mean: s.length ? sum / s.length : Number.NaN,
    p50: percentile(s, 50),
    p90: percentile(s, 90),
    p99: percentile(s, 99),
    p999: percentile(s, 99.9),
    max: s.length ? (s[s.length - 1] as number) : Number.NaN,
  };
}

/** Rounds every number in a JSON-able value to `digits` decimals (for readable result files). */
export function roundDeep<T>(v: T, digits = 3): T {
  const f = 10 ** digits;
  const walk = (x: unknown): unknown => {
    if (typeof x === 'number') return Number.isFinite(x) ? Math.round(x * f) / f : null;
    if (Array.isArray(x)) return x.map(walk);
    if (x && typeof x === 'object') return Object.fromEntries(Object.entries(x).map(([k, y]) => [k, walk(y)]));
    return x;
  };
  return walk(v) as T;
}

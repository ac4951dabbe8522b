// RouteLLM's router metrics, mirroring router/triage_router/metrics.py (which reproduces lm-sys/RouteLLM
// routellm/evals/{benchmarks,evaluate}.py) operation for operation, including numpy's semantics where they matter:
// np.quantile 'linear' (with its two-sided lerp), np.interp on a possibly non-monotone xp (RouteLLM passes the
// quality column as it stands), pairwise summation for sums and means, stable argsort. Pure.
//
//   points:   thresholds = the 0, 0.1, …, 1 quantiles of the scores; at edge i route strong where score ≥ edge
//             (score > edge for the last edge); each point = (strong %, mean quality of the routed answers)
//   APGR:     (trapz(quality, pct/100) − weak_auc) / (strong_auc − weak_auc)
//   apgr_10pt: mean PGR over the points with strong calls > 0 (the paper's "average of 10 points")
//   CPT(x):   np.interp(x·(q_strong − q_weak) + q_weak, quality, pct) / 100
//   fine:     every k: route the top-k scores strong; APGR by trapezoid, CPT = smallest share with PGR ≥ x
//   oracle:   strong calls to the largest positive q_strong − q_weak first
//   random:   uniform random scores, averaged over seeds (a seeded JS generator: statistically, not bitwise, the
//             same as the Python's numpy default_rng; its expectation is APGR = 0.5, CPT(x) = x)

/** numpy's pairwise summation (float64, contiguous): the order np.sum / np.mean add in. */
export function pairwiseSum(a: ArrayLike<number>, start = 0, n = a.length - start): number {
  if (n < 8) {
    let res = 0;
    for (let i = 0; i < n; i++) res += a[start + i]!;
    return res;
  }
  if (n <= 128) {
    const r = [a[start]!, a[start + 1]!, a[start + 2]!, a[start + 3]!, a[start + 4]!, a[start + 5]!, a[start + 6]!, a[start + 7]!];
    let i = 8;
    for (; i < n - (n % 8); i += 8) for (let j = 0; j < 8; j++) r[j] = r[j]! + a[start + i + j]!;
    let res = ((r[0]! + r[1]!) + (r[2]! + r[3]!)) + ((r[4]! + r[5]!) + (r[6]! + r[7]!));
    for (; i < n; i++) res += a[start + i]!;
    return res;
  }
  let n2 = Math.floor(n / 2);
  n2 -= n2 % 8;
  return pairwiseSum(a, start, n2) + pairwiseSum(a, start + n2, n - n2);
}

export const mean = (a: ArrayLike<number>): number => pairwiseSum(a) / a.length;

/** np.quantile(a, q) (method 'linear'). */
export function quantile(a: ArrayLike<number>, q: number): number {
  const s = Float64Array.from(a as ArrayLike<number>).sort();
  const n = s.length;
  const v = (n - 1) * q;
  if (v >= n - 1) return s[n - 1]!;
  if (v < 0) return s[0]!;
  const i = Math.floor(v);
  const g = v - i;
  const lo = s[i]!;
  const hi = s[i + 1]!;
  const d = hi - lo;
  return g >= 0.5 ? hi - d * (1 - g) : lo + d * g;
}

/** np.linspace(0, 1, n) */
export function linspace01(n: number): number[] {
  const step = 1 / (n - 1);
  return Array.from({ length: n }, (_, i) => (i === n - 1 ? 1 : i * step));
}

function searchWithGuess(key: number, arr: ArrayLike<number>, len: number, guess: number): number {
  const CACHE = 8;
  let imin = 0;
  let imax = len;
  if (key > arr[len - 1]!) return len;
  if (key < arr[0]!) return -1;
  if (len <= 4) {
    let i = 1;
    while (i < len && key >= arr[i]!) i++;
    return i - 1;
  }
  if (guess > len - 3) guess = len - 3;
  if (guess < 1) guess = 1;
  if (key < arr[guess]!) {
    if (key < arr[guess - 1]!) {
      imax = guess - 1;
      if (guess > CACHE && key >= arr[guess - CACHE]!) imin = guess - CACHE;
    } else return guess - 1;
  } else {
    if (key < arr[guess + 1]!) return guess;
    if (key < arr[guess + 2]!) return guess + 1;
    imin = guess + 2;
    if (guess < len - CACHE - 1 && key < arr[guess + CACHE]!) imax = guess + CACHE;
  }
  while (imin < imax) {
    const imid = imin + ((imax - imin) >> 1);
    if (key >= arr[imid]!) imin = imid + 1; else imax = imid;
  }
  return imin - 1;
}

/** np.interp(x, xp, fp) for a scalar x, as numpy computes it (also when xp is not increasing). */
export function interp(x: number, xp: ArrayLike<number>, fp: ArrayLike<number>): number {
  const n = xp.length;
  const lval = fp[0]!;
  const rval = fp[n - 1]!;
  if (Number.isNaN(x)) return x;
  if (n === 1) return x < xp[0]! ? lval : x > xp[0]! ? rval : fp[0]!;
  const j = searchWithGuess(x, xp, n, 0);
  if (j === -1) return lval;
  if (j === n) return rval;
  if (j === n - 1) return fp[j]!;
  if (xp[j] === x) return fp[j]!;
  const slope = (fp[j + 1]! - fp[j]!) / (xp[j + 1]! - xp[j]!);
  let r = slope * (x - xp[j]!) + fp[j]!;
  if (Number.isNaN(r)) {
    r = slope * (xp[j + 1]! - x) + fp[j + 1]!;
    if (Number.isNaN(r) && fp[j] === fp[j + 1]) r = fp[j]!;
  }
  return r;
}

/** np.sum((x[1:] - x[:-1]) * (y[1:] + y[:-1]) / 2.0) */
export function trapz(y: ArrayLike<number>, x: ArrayLike<number>): number {
  const parts = new Float64Array(Math.max(0, x.length - 1));
  for (let i = 0; i < parts.length; i++) parts[i] = ((x[i + 1]! - x[i]!) * (y[i + 1]! + y[i]!)) / 2.0;
  return pairwiseSum(parts);
}

/** np.argsort(a, kind='stable') */
function argsortStable(a: ArrayLike<number>): number[] {
  return Array.from({ length: a.length }, (_, i) => i).sort((i, j) => (a[i]! < a[j]! ? -1 : a[i]! > a[j]! ? 1 : i - j));
}

export interface RouteLLMPoints { pct: number[]; quality: number[] }

export function routellmPoints(scores: ArrayLike<number>, qStrong: ArrayLike<number>, qWeak: ArrayLike<number>, numResults = 10): RouteLLMPoints {
  const n = scores.length;
  const edges = linspace01(numResults + 1).map((q) => quantile(scores, q));
  const pct: number[] = [];
  const qual: number[] = [];
  const res = new Float64Array(n);
  edges.forEach((t, i) => {
    const last = i === edges.length - 1;
    let count = 0;
    for (let k = 0; k < n; k++) {
      const sel = last ? scores[k]! > t : scores[k]! >= t;
      if (sel) count++;
      res[k] = sel ? qStrong[k]! : qWeak[k]!;
    }
    pct.push((count / n) * 100.0);
    qual.push(mean(res));
  });
  const order = argsortStable(pct);
  return { pct: order.map((i) => pct[i]!), quality: order.map((i) => qual[i]!) };
}

export interface RouterMetrics {
  apgr: number;
  apgr_10pt: number;
  cpt20: number;
  cpt50: number;
  cpt80: number;
  apgr_fine: number;
  cpt50_fine: number;
  cpt80_fine: number;
  q_strong: number;
  q_weak: number;
  n: number;
  curve: { strong_fraction: number[]; pgr: number[] };
}

export function routellmMetrics(scores: ArrayLike<number>, qStrong: ArrayLike<number>, qWeak: ArrayLike<number>, numResults = 10): RouterMetrics {
  const strongAcc = mean(qStrong);
  const weakAcc = mean(qWeak);
  const { pct, quality } = routellmPoints(scores, qStrong, qWeak, numResults);
  const x = pct.map((p) => p / 100.0);
  const auc = trapz(quality, x);
  const weakAuc = trapz(x.map(() => weakAcc), x);
  const strongAuc = trapz(x.map(() => strongAcc), x);
  const gap = strongAcc - weakAcc;
  const apgr = strongAuc !== weakAuc ? (auc - weakAuc) / (strongAuc - weakAuc) : Number.NaN;
  const cpt = (p: number) => interp(p * gap + weakAcc, quality, pct) / 100.0;
  const pgr = quality.map((q) => (gap !== 0 ? (q - weakAcc) / gap : Number.NaN));
  const positive = pgr.filter((_, i) => pct[i]! > 0);
  const apgr10 = positive.length ? mean(positive) : Number.NaN;
  return {
    apgr, apgr_10pt: apgr10, cpt20: cpt(0.2), cpt50: cpt(0.5), cpt80: cpt(0.8),
    ...fineMetrics(scores, qStrong, qWeak),
    q_strong: strongAcc, q_weak: weakAcc, n: qStrong.length,
    curve: { strong_fraction: x, pgr },
  };
}

export function fineMetrics(scores: ArrayLike<number>, qStrong: ArrayLike<number>, qWeak: ArrayLike<number>): { apgr_fine: number; cpt50_fine: number; cpt80_fine: number } {
  const n = scores.length;
  const d = Float64Array.from({ length: n }, (_, i) => qStrong[i]! - qWeak[i]!);
  const order = argsortStable(Array.from(scores, (s) => -s));
  const gain = new Float64Array(n + 1);
  let acc = 0;
  for (let k = 0; k < n; k++) { acc += d[order[k]!]!; gain[k + 1] = acc; }
  for (let k = 0; k <= n; k++) gain[k] = gain[k]! / n;
  const gap = mean(d);
  if (gap === 0) return { apgr_fine: Number.NaN, cpt50_fine: Number.NaN, cpt80_fine: Number.NaN };
  const pgr = Array.from(gain, (g) => g / gap);
  const c = Array.from({ length: n + 1 }, (_, k) => k / n);
  const first = (p: number) => { const i = pgr.findIndex((v) => v >= p - 1e-12); return i >= 0 ? c[i]! : 1.0; };
  return { apgr_fine: trapz(pgr, c), cpt50_fine: first(0.5), cpt80_fine: first(0.8) };
}

export interface OracleMetrics { apgr: number; apgr_10pt: number; cpt50: number; cpt80: number }

export function oracleMetrics(qStrong: ArrayLike<number>, qWeak: ArrayLike<number>): OracleMetrics {
  const n = qStrong.length;
  const d = Float64Array.from({ length: n }, (_, i) => qStrong[i]! - qWeak[i]!);
  const gap = mean(d);
  const pos = Float64Array.from(d.filter((v) => v > 0)).sort().reverse();
  const cs = linspace01(11);
  const pgr = cs.map((c) => {
    const k = Math.min(Math.trunc(n * c), pos.length);
    return pairwiseSum(pos, 0, k) / n / gap;
  });
  const cum = new Float64Array(pos.length + 1);
  let acc = 0;
  for (let i = 0; i < pos.length; i++) { acc += pos[i]!; cum[i + 1] = acc; }
  for (let i = 0; i < cum.length; i++) cum[i] = cum[i]! / n / gap;
  const first = (p: number) => { const i = cum.findIndex((v) => v >= p - 1e-12); return i >= 0 ? i / n : 1.0; };
  return { apgr: trapz(pgr, cs), apgr_10pt: mean(pgr.slice(1)), cpt50: first(0.5), cpt80: first(0.8) };
}

/** A small seeded generator of doubles in [0, 1) (splitmix32-style). */
export function seededRandom(seed: number): () => number {
  let s = (seed * 0x9e3779b9 + 0x7f4a7c15) >>> 0;
  return () => {
    s = (s + 0x9e3779b9) >>> 0;
    let z = s;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
    z = (z ^ (z >>> 16)) >>> 0;
    const hi = z >>> 5;
    s = (s + 0x9e3779b9) >>> 0;
    let y = s;
    y = Math.imul(y ^ (y >>> 16), 0x85ebca6b) >>> 0;
    y = Math.imul(y ^ (y >>> 13), 0xc2b2ae35) >>> 0;
    const lo = ((y ^ (y >>> 16)) >>> 0) >>> 6;
    return (hi * 67108864 + lo) / 9007199254740992;
  };
}

export interface RandomMetrics { apgr: number; apgr_10pt: number; cpt50: number; cpt80: number; apgr_fine: number }

/** RouteLLM's random router: uniform random scores, metrics averaged over `seeds` draws. */
export function randomMetrics(qStrong: ArrayLike<number>, qWeak: ArrayLike<number>, seeds = 200): RandomMetrics {
  const acc = { apgr: [] as number[], apgr_10pt: [] as number[], cpt50: [] as number[], cpt80: [] as number[], apgr_fine: [] as number[] };
  for (let sd = 0; sd < seeds; sd++) {
    const rnd = seededRandom(sd);
    const r = Float64Array.from({ length: qStrong.length }, () => rnd());
    const m = routellmMetrics(r, qStrong, qWeak);
    for (const k of Object.keys(acc) as (keyof typeof acc)[]) acc[k].push(m[k]);
  }
  return { apgr: mean(acc.apgr), apgr_10pt: mean(acc.apgr_10pt), cpt50: mean(acc.cpt50), cpt80: mean(acc.cpt80), apgr_fine: mean(acc.apgr_fine) };
}

// Thresholds for `strongFraction: p` (router/CONTRACT.md "Deciding"): threshold = quantile(scores, 1 − p), route
// strong iff score ≥ threshold. Pure (no I/O); the runtime owns one Calibrator.
//
// Where the quantile comes from, per (policy, strong, weak):
//   1. until the pod has scored `minScores` (200) requests of that key: the reference quantiles shipped with the
//      router (reference_scores.json), interpolated linearly between the listed levels;
//        - the default pair, or an anchor pair (either order: the reverse pair's score is 1 − score), exactly;
//        - any other pair whose strong and weak sides are mixtures over anchors (placed by rating): the
//          comonotone combination in logit space, logit q(u) = Σ_ij a_i·b_j·logit q_ij(u) over the anchor pairs
//          (exact when the anchor pairs' scores are rank-ordered alike; measured within 5e-5 of the true
//          reference quantiles, strong shares within ±0.5 points; docs/router-runtime.md);
//        - no reference (a model of the table that is no anchor, or no reference file): the pod's own scores
//          from the first one on (0 before any: everything strong until a score is seen);
//   2. from then on: the pod's own recent scores, a window of the last `window` (2000) scores: a handover, not a
//      blend; a quantile of another distribution (the reference set) mixed in would bias the share whenever the
//      traffic differs from it, and the sampling error of the window's own quantile is already ±√(p(1−p)/n):
//      at most ±3.5 points of share at n = 200, ±1.1 at n = 2000.
//
// The window keeps its scores in arrival order (a ring) and in sorted order (a typed array): observe() is a
// binary search plus one memmove of at most `window` doubles (16 KB at 2000, well under a microsecond) and a
// quantile is O(1): no sort per request.

export class QuantileTable {
  readonly levels: readonly number[];
  readonly values: readonly number[];

  constructor(levels: readonly number[], values: readonly number[]) {
    if (levels.length !== values.length || levels.length < 2) throw new Error(`quantile table: ${levels.length} levels for ${values.length} values (need ≥ 2 of each, as many)`);
    for (let i = 0; i < levels.length; i++) {
      if (!Number.isFinite(levels[i]!) || !Number.isFinite(values[i]!)) throw new Error(`quantile table: entry ${i} is not finite`);
      if (i && !(levels[i]! > levels[i - 1]!)) throw new Error('quantile table: levels must increase');
      if (i && values[i]! < values[i - 1]!) throw new Error('quantile table: values must not decrease');
    }
    if (levels[0]! < 0 || levels[levels.length - 1]! > 1) throw new Error('quantile table: levels must lie in [0, 1]');
    this.levels = levels;
    this.values = values;
  }

  /** The quantile at `level`, linear between the listed levels, clamped outside them. */
  at(level: number): number {
    const L = this.levels;
    const V = this.values;
    const n = L.length;
    if (level <= L[0]!) return V[0]!;
    if (level >= L[n - 1]!) return V[n - 1]!;
    let lo = 0;
    let hi = n - 1;
    while (hi - lo > 1) {
      const mid = (lo + hi) >> 1;
      if (L[mid]! <= level) lo = mid; else hi = mid;
    }
    const t = (level - L[lo]!) / (L[hi]! - L[lo]!);
    return V[lo]! + t * (V[hi]! - V[lo]!);
  }

  /** The table of 1 − X (the same pair with strong and weak swapped). */
  reversed(): QuantileTable {
    const n = this.levels.length;
    return new QuantileTable(
      Array.from({ length: n }, (_, i) => 1 - this.levels[n - 1 - i]!),
      Array.from({ length: n }, (_, i) => 1 - this.values[n - 1 - i]!),
    );
  }
}

/** threshold for a strong share p given a quantile function; p ≤ 0 → never strong, p ≥ 1 → always. */
export function thresholdForShare(p: number, quantile: (level: number) => number): number {
  if (!(p > 0)) return Number.POSITIVE_INFINITY;
  if (p >= 1) return 0;
  return quantile(1 - p);
}

/** numpy.quantile(sorted, level) with the default 'linear' method, on an ascending array. */
export function sortedQuantile(sorted: ArrayLike<number>, n: number, level: number): number {
  if (n === 0) return Number.NaN;
  const v = (n - 1) * level;
  if (v <= 0) return sorted[0]!;
  if (v >= n - 1) return sorted[n - 1]!;
  const i = Math.floor(v);
  const g = v - i;
  const a = sorted[i]!;
  const b = sorted[i + 1]!;
  return g >= 0.5 ? b - (b - a) * (1 - g) : a + (b - a) * g;
}

/** The last `capacity` values, with O(1) quantiles. */
export class RollingWindow {
  readonly capacity: number;
  private readonly ring: Float64Array;
  private readonly sorted: Float64Array;
  private n = 0;
  private next = 0;
  /** All values ever pushed (not only those in the window). */
  seen = 0;

  constructor(capacity: number) {
    if (!Number.isInteger(capacity) || capacity < 1) throw new Error(`window capacity ${capacity} must be a positive integer`);
    this.capacity = capacity;
    this.ring = new Float64Array(capacity);
    this.sorted = new Float64Array(capacity);
  }

  get size(): number {
    return this.n;
  }

  push(x: number): void {
    if (!Number.isFinite(x)) return;
    this.seen++;
    if (this.n === this.capacity) {
      const old = this.ring[this.next]!;
      const at = this.lowerBound(old);
      this.sorted.copyWithin(at, at + 1, this.n);
      this.n--;
    }
    const at = this.lowerBound(x);
    this.sorted.copyWithin(at + 1, at, this.n);
    this.sorted[at] = x;
    this.n++;
    this.ring[this.next] = x;
    this.next = (this.next + 1) % this.capacity;
  }

  quantile(level: number): number {
    return sortedQuantile(this.sorted, this.n, level);
  }

  private lowerBound(x: number): number {
    let lo = 0;
    let hi = this.n;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (this.sorted[mid]! < x) lo = mid + 1; else hi = mid;
    }
    return lo;
  }
}

export interface CalibrationOptions {
  /** Scores kept per key. */
  window: number;
  /** Own scores needed before they replace the reference. */
  minScores: number;
}

export type ThresholdSource = 'reference' | 'traffic' | 'none';

export interface Calibrated {
  threshold: number;
  source: ThresholdSource;
  /** Own scores seen for this key (capped at the window in `inWindow`). */
  seen: number;
  inWindow: number;
}

export class Calibrator {
  private readonly opts: CalibrationOptions;
  private readonly windows = new Map<string, RollingWindow>();

  constructor(opts: Partial<CalibrationOptions> = {}) {
    this.opts = { window: opts.window ?? 2000, minScores: opts.minScores ?? 200 };
    if (this.opts.minScores > this.opts.window) throw new Error(`minScores (${this.opts.minScores}) must not exceed the window (${this.opts.window})`);
  }

  threshold(key: string, p: number, reference: QuantileTable | null): Calibrated {
    const w = this.windows.get(key);
    const n = w?.size ?? 0;
    const seen = w?.seen ?? 0;
    if (w && n >= this.opts.minScores) return { threshold: thresholdForShare(p, (l) => w.quantile(l)), source: 'traffic', seen, inWindow: n };
    if (reference) return { threshold: thresholdForShare(p, (l) => reference.at(l)), source: 'reference', seen, inWindow: n };
    if (w && n > 0) return { threshold: thresholdForShare(p, (l) => w.quantile(l)), source: 'traffic', seen, inWindow: n };
    return { threshold: p > 0 ? 0 : Number.POSITIVE_INFINITY, source: 'none', seen, inWindow: n };
  }

  observe(key: string, score: number): void {
    let w = this.windows.get(key);
    if (!w) {
      w = new RollingWindow(this.opts.window);
      this.windows.set(key, w);
    }
    w.push(score);
  }

  /** Drops keys not in `keep` (policies removed by a config change). */
  retain(keep: (key: string) => boolean): void {
    for (const k of this.windows.keys()) if (!keep(k)) this.windows.delete(k);
  }

  keys(): string[] {
    return [...this.windows.keys()];
  }
}

// ---- reference quantiles per pair ----------------------------------------------------------------------------

export interface ReferenceScoresFile {
  version?: string;
  quantile_levels: number[];
  default_pair?: { strong: string; weak: string; quantiles: number[] };
  /** "<strong>|<weak>" → quantiles at quantile_levels. */
  anchor_pairs?: Record<string, number[]>;
}

/** Parses reference_scores.json; throws with what is wrong. */
export function parseReferenceScores(data: unknown): ReferenceScoresFile {
  const d = data as Partial<ReferenceScoresFile> | null;
  if (!d || typeof d !== 'object' || !Array.isArray(d.quantile_levels)) throw new Error('reference scores: quantile_levels missing');
  const check = (what: string, q: unknown) => {
    if (!Array.isArray(q)) throw new Error(`reference scores: ${what} is not a list`);
    new QuantileTable(d.quantile_levels!, q as number[]);
  };
  if (d.default_pair) check('default_pair.quantiles', d.default_pair.quantiles);
  for (const [k, q] of Object.entries(d.anchor_pairs ?? {})) check(`anchor_pairs["${k}"]`, q);
  return d as ReferenceScoresFile;
}

/** Reference quantile tables for arbitrary pairs of mixtures over a model table. */
export class ReferenceSet {
  private readonly names: readonly string[];
  private readonly pairs = new Map<string, QuantileTable>();

  /** names: the model table in index order. */
  constructor(file: ReferenceScoresFile, names: readonly string[]) {
    this.names = names.map((n) => n.toLowerCase());
    const levels = file.quantile_levels;
    const add = (strong: string, weak: string, q: number[]) => {
      const t = new QuantileTable(levels, q);
      this.pairs.set(`${strong.toLowerCase()}|${weak.toLowerCase()}`, t);
      this.pairs.set(`${weak.toLowerCase()}|${strong.toLowerCase()}`, t.reversed());
    };
    for (const [k, q] of Object.entries(file.anchor_pairs ?? {})) {
      const [s, w] = k.split('|');
      if (s && w) add(s, w, q);
    }
    if (file.default_pair) add(file.default_pair.strong, file.default_pair.weak, file.default_pair.quantiles);
  }

  /** The reference for strong/weak weight vectors, or null when some pair it needs has no table. */
  forPair(strong: ArrayLike<number>, weak: ArrayLike<number>): { table: QuantileTable; how: 'exact' | 'mixture' } | null {
    const terms: { c: number; t: QuantileTable }[] = [];
    let same = true;
    for (let i = 0; i < strong.length; i++) {
      const a = strong[i]!;
      if (!a) continue;
      for (let j = 0; j < weak.length; j++) {
        const b = weak[j]!;
        if (!b || i === j) continue;
        same = false;
        const t = this.pairs.get(`${this.names[i]}|${this.names[j]}`);
        if (!t) return null;
        terms.push({ c: a * b, t });
      }
    }
    if (same) return null; // strong ≡ weak: every score is 0.5; nothing to calibrate
    if (terms.length === 1 && Math.abs(terms[0]!.c - 1) < 1e-6) return { table: terms[0]!.t, how: 'exact' };
    const levels = terms[0]!.t.levels;
    const values = levels.map((_, k) => {
      let z = 0;
      for (const { c, t } of terms) z += c * logit(t.values[k]!);
      return 1 / (1 + Math.exp(-z));
    });
    return { table: new QuantileTable(levels, values), how: 'mixture' };
  }
}

function logit(p: number): number {
  const q = Math.min(Math.max(p, 1e-12), 1 - 1e-12);
  return Math.log(q / (1 - q));
}

// Model name → weight vector over the router's model table (router/CONTRACT.md "Models: one-hot, or placed by
// rating"). Pure: no I/O, no state.
//
//   1. in the table            → one-hot at its index;
//   2. not in the table, rated → placed between the anchors by rating (linear between the two adjacent anchor
//                                ratings, clamped at the ends; anchors with equal ratings share their weight);
//   3. neither                 → an error naming the model: the runtime never guesses silently.
//
// Names are matched exactly after lower-casing. An explicit rating (a policy may give one) takes precedence over
// the leaderboard in the manifest; a model in the table is always one-hot.

export interface TableModel {
  name: string;
  index: number;
  rating?: number | null;
  anchor?: boolean;
}

export interface PlacementTable {
  models: readonly TableModel[];
  /** anchor model name → rating; every anchor is in `models`. */
  anchors: Readonly<Record<string, number>>;
  /** leaderboard: model name → rating (same scale as the anchors). */
  ratings: Readonly<Record<string, number>>;
}

export interface Placement {
  /** Dense weights, length K = models.length, summing to 1. */
  weights: Float32Array;
  how: 'table' | 'placed';
  /** The rating used when placed. */
  rating?: number;
  /** Non-zero weights by table model name, for logs and errors. */
  parts: { name: string; weight: number }[];
}

export type PlacementResult = Placement | { error: string };

/** Precomputed lookups for one table (build once per loaded router). */
export interface Placer {
  readonly K: number;
  place(name: string, explicitRating?: number): PlacementResult;
}

interface AnchorGroup { rating: number; indices: number[] }

export function createPlacer(table: PlacementTable): Placer {
  const K = table.models.length;
  const byName = new Map<string, TableModel>();
  for (const m of table.models) byName.set(m.name.toLowerCase(), m);
  const ratings = new Map<string, number>();
  for (const [k, v] of Object.entries(table.ratings)) ratings.set(k.toLowerCase(), v);
  const groups = anchorGroups(table, byName);

  const oneHot = (indices: number[], shares: number[]): Float32Array => {
    const w = new Float32Array(K);
    indices.forEach((i, j) => { w[i] = (w[i] ?? 0) + shares[j]!; });
    return w;
  };
  const partsOf = (w: Float32Array) => {
    const parts: { name: string; weight: number }[] = [];
    for (const m of table.models) if (w[m.index]) parts.push({ name: m.name, weight: w[m.index]! });
    return parts;
  };
  const spread = (g: AnchorGroup, total: number) => ({ indices: g.indices, shares: g.indices.map(() => total / g.indices.length) });

  return {
    K,
    place(rawName: string, explicitRating?: number): PlacementResult {
      const name = rawName.trim().toLowerCase();
      const known = byName.get(name);
      if (known) {
        const w = oneHot([known.index], [1]);
        return { weights: w, how: 'table', parts: partsOf(w) };
      }
      const rating = explicitRating ?? ratings.get(name);
      if (rating === undefined) return { error: unknownModelMessage(rawName, ratings) };
      if (!Number.isFinite(rating)) return { error: `model "${rawName}": rating ${rating} is not a finite number` };
      if (groups.length === 0) return { error: `model "${rawName}" is not in the router's model table and this router has no placement anchors` };
      const lo = groups[0]!;
      const hi = groups[groups.length - 1]!;
      let idx: number[];
      let shares: number[];
      if (rating <= lo.rating) ({ indices: idx, shares } = spread(lo, 1));
      else if (rating >= hi.rating) ({ indices: idx, shares } = spread(hi, 1));
      else {
        let g = 0;
        while (groups[g + 1]!.rating < rating) g++;
        const a = groups[g]!;
        const b = groups[g + 1]!;
        if (b.rating === rating) ({ indices: idx, shares } = spread(b, 1));
        else {
          const wLo = (b.rating - rating) / (b.rating - a.rating);
          const s1 = spread(a, wLo);
          const s2 = spread(b, 1 - wLo);
          idx = [...s1.indices, ...s2.indices];
          shares = [...s1.shares, ...s2.shares];
        }
      }
      const w = oneHot(idx, shares);
      return { weights: w, how: 'placed', rating, parts: partsOf(w) };
    },
  };
}

/** Anchors grouped by equal rating, ascending. */
function anchorGroups(table: PlacementTable, byName: Map<string, TableModel>): AnchorGroup[] {
  const map = new Map<number, number[]>();
  for (const [name, rating] of Object.entries(table.anchors)) {
    const m = byName.get(name.toLowerCase());
    if (!m) throw new Error(`placement anchor "${name}" is not in the model table`);
    if (!Number.isFinite(rating)) throw new Error(`placement anchor "${name}" has no finite rating`);
    const list = map.get(rating) ?? [];
    list.push(m.index);
    map.set(rating, list);
  }
  return [...map.entries()].sort((a, b) => a[0] - b[0]).map(([rating, indices]) => ({ rating, indices: indices.sort((x, y) => x - y) }));
}

function unknownModelMessage(name: string, ratings: Map<string, number>): string {
  const lower = name.trim().toLowerCase();
  const similar = [...ratings.keys()].filter((k) => k.startsWith(lower) || lower.startsWith(k)).sort().slice(0, 3);
  const hint = similar.length ? ` (rated ids that look similar: ${similar.map((s) => `"${s}"`).join(', ')})` : '';
  return `model "${name}" is not in the router's model table and has no rating: give the policy an explicit rating for it (Arena-Hard-Auto scale) or use a rated provider model id${hint}`;
}

/** Sparse form [index, weight, index, weight, …] of a dense weight vector (what crosses to the worker). */
export function sparse(w: Float32Array): number[] {
  const out: number[] = [];
  for (let i = 0; i < w.length; i++) if (w[i] !== 0) out.push(i, w[i]!);
  return out;
}

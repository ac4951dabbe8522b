// The classifier router as the sidecar uses it: load a router directory (router/CONTRACT.md), score prompts off
// the event loop (pool.ts → worker.ts), place provider model ids on the model table (placement.ts) and calibrate
// thresholds for strongFraction (calibration.ts). Plus a registry so that policies naming the same router
// (`router.model: builtin` or a path) share one loaded copy.
//
// Request path, per classifier policy (see docs/router-runtime.md "Wiring"):
//   const r = await rt.score(text, strongId, weakId);                       // never throws
//   const threshold = policy.router.threshold ?? rt.threshold(policy.name, strongId, weakId, policy.router.strongFraction!);
//   if ('score' in r) rt.observe(policy.name, strongId, weakId, r.score);   // feeds the rolling calibration

import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Calibrator, ReferenceSet, parseReferenceScores, type Calibrated, type QuantileTable } from './calibration.ts';
import { ManifestError, modelTable, readRouterFiles, type RouterFiles, type RouterManifest } from './manifest.ts';
import { createPlacer, sparse, type Placement, type Placer } from './placement.ts';
import { InferencePool, type PoolEvent, type RouterErrorKind, type ScoreResult } from './pool.ts';

export type { RouterErrorKind, ScoreResult };

/** router/artifacts, resolved relative to this file (the repo, or the image's copy of it). */
export const BUILTIN_ROUTER_DIR: string = fileURLToPath(new URL('../../router/artifacts/', import.meta.url));

const MEM_ARENA_DEFAULT = true;
// The worker's V8 heap: a 16 MiB young generation and a 96 MiB old-generation cap keep its RSS flat under
// sustained load (V8's defaults on a large-memory node let it grow past 150 MiB of mostly garbage; measured in
// docs/router-runtime.md). Its live data is ~15 MiB (tokenizer) plus the queued prompts, which are capped.
const YOUNG_GEN_DEFAULT_MB = 16;
const OLD_GEN_DEFAULT_MB = 96;
/** Characters of a prompt sent to the worker, per token of max_length (see score()). */
const CHARS_PER_TOKEN_CAP = 64;

export type RouterEvent = PoolEvent | { type: 'score'; ms: number; ok: boolean };

export interface LoadOptions {
  /** Longest a caller waits for a score before getting {error} (ms). Default 50. */
  timeoutMs?: number;
  /** Rows per batch. Default 32. */
  maxBatch?: number;
  /** Tokens per batch (tokenised per worker batch, and padded rows × length per onnxruntime run). Default 4096. */
  tokenBudget?: number;
  /** 0 (default): adaptive batching; > 0: a partial batch also waits this long for company (ms). */
  batchWindowMs?: number;
  /** A worker that does not answer for this long is restarted (ms). Default 2000. */
  hangMs?: number;
  /** Load + warm-up limit (ms). Default 30000. */
  startTimeoutMs?: number;
  /** Warm-up rounds. Default 3. */
  warmup?: number;
  /** onnxruntime's CPU memory arena. Default on. */
  memArena?: boolean;
  /** The worker's V8 young generation (MiB): bounds its RSS under load. Default 16. */
  workerYoungGenerationMb?: number;
  /** The worker's V8 old generation limit (MiB); exceeding it crashes (and restarts) the worker. Default 96. */
  workerOldGenerationMb?: number;
  /** Calibration window (scores kept per key). Default 2000. */
  window?: number;
  /** Own scores before they replace the reference quantiles. Default 200. */
  minScores?: number;
  /** Extra ratings (provider model id → Arena-Hard-Auto rating) for models neither in the table nor rated. */
  ratings?: Record<string, number>;
  onEvent?: (e: RouterEvent) => void;
  /** Enables the worker's crash/hang test hooks. */
  testHooks?: boolean;
}

export interface PairInfo {
  strong: Placement;
  weak: Placement;
  /** Where the threshold starts from until the pod has its own scores. */
  reference: 'exact' | 'mixture' | 'none';
}

export interface RouterRuntime {
  readonly version: string;
  readonly dir: string;
  readonly manifest: RouterManifest;
  /** Loaded and warmed up, and the worker is up now. */
  ready(): boolean;
  /**
   * Scores one prompt for a strong/weak pair of provider model ids (e.g. 'gpt-4o-2024-05-13', 'gpt-4o-mini-2024-07-18').
   * Never throws: an unplaceable model, a timeout, a worker crash give {error}.
   */
  score(text: string, strongModel: string, weakModel: string): Promise<ScoreResult>;
  /** The threshold for a strong share right now (reference quantiles, then the pod's own window). Does not record. */
  threshold(key: string, strongModel: string, weakModel: string, strongFraction: number): number;
  /** As threshold(), with where it came from and how many own scores were seen. */
  calibration(key: string, strongModel: string, weakModel: string, strongFraction: number): Calibrated;
  /** Records a score of this key's traffic (call once per scored request). */
  observe(key: string, strongModel: string, weakModel: string, score: number): void;
  /** Validates a pair at config time: placement of both sides, and what calibration starts from. */
  pair(strongModel: string, weakModel: string): PairInfo | { error: string };
  /**
   * Explicit ratings (provider model id → Arena-Hard-Auto rating) for models neither in the table nor on the
   * leaderboard, e.g. from the policies; they take precedence over the leaderboard. Re-places every pair.
   */
  addRatings(ratings: Record<string, number>): void;
  /** Drops calibration state of keys (policy names) no longer configured. */
  retainKeys(keep: (key: string) => boolean): void;
  stats(): { state: string; restarts: number; pending: number; inWorker: number };
  close(): Promise<void>;
}

interface PairEntry { info: PairInfo; s: number[]; w: number[]; ref: { table: QuantileTable; how: 'exact' | 'mixture' } | null }

class Runtime implements RouterRuntime {
  readonly version: string;
  readonly dir: string;
  readonly manifest: RouterManifest;
  private readonly pool: InferencePool;
  private readonly placer: Placer;
  private ratings: Record<string, number>;
  private readonly reference: ReferenceSet | null;
  private readonly calibrator: Calibrator;
  private readonly pairs = new Map<string, PairEntry | { error: string }>();
  private readonly onEvent: ((e: RouterEvent) => void) | undefined;
  private readonly maxChars: number;

  constructor(files: RouterFiles, pool: InferencePool, placer: Placer, reference: ReferenceSet | null, opts: LoadOptions) {
    this.version = files.manifest.version;
    this.dir = files.dir;
    this.manifest = files.manifest;
    this.pool = pool;
    this.placer = placer;
    this.reference = reference;
    this.ratings = Object.fromEntries(Object.entries(opts.ratings ?? {}).map(([k, v]) => [norm(k), v]));
    this.calibrator = new Calibrator({ ...(opts.window ? { window: opts.window } : {}), ...(opts.minScores !== undefined ? { minScores: opts.minScores } : {}) });
    this.onEvent = opts.onEvent;
    this.maxChars = files.manifest.tokenizer.max_length * CHARS_PER_TOKEN_CAP;
  }

  ready(): boolean {
    return this.pool.ready();
  }

  stats() {
    return this.pool.stats();
  }

  private entry(strong: string, weak: string): PairEntry | { error: string } {
    const key = `${norm(strong)}\u0000${norm(weak)}`;
    let e = this.pairs.get(key);
    if (!e) {
      const s = this.placer.place(strong, this.ratings[norm(strong)]);
      const w = this.placer.place(weak, this.ratings[norm(weak)]);
      if ('error' in s || 'error' in w) {
        e = { error: ['error' in s ? `strong ${s.error}` : '', 'error' in w ? `weak ${w.error}` : ''].filter(Boolean).join('; ') };
      } else {
        const ref = this.reference?.forPair(s.weights, w.weights) ?? null;
        e = { info: { strong: s, weak: w, reference: ref ? ref.how : 'none' }, s: sparse(s.weights), w: sparse(w.weights), ref };
      }
      if (this.pairs.size > 10_000) this.pairs.clear(); // bounded: pairs come from configuration
      this.pairs.set(key, e);
    }
    return e;
  }

  addRatings(ratings: Record<string, number>): void {
    this.ratings = { ...this.ratings, ...Object.fromEntries(Object.entries(ratings).map(([k, v]) => [norm(k), v])) };
    this.pairs.clear();
  }

  pair(strong: string, weak: string): PairInfo | { error: string } {
    const e = this.entry(strong, weak);
    return 'error' in e ? e : e.info;
  }

  async score(text: string, strong: string, weak: string): Promise<ScoreResult> {
    const t0 = performance.now();
    let r: ScoreResult;
    try {
      const e = this.entry(strong, weak);
      r = 'error' in e ? { error: e.error, kind: 'placement' } : await this.pool.submit(capText(typeof text === 'string' ? text : String(text ?? ''), this.maxChars), e.s, e.w);
    } catch (err) {
      r = { error: `router: ${(err as Error).message}`, kind: 'internal' };
    }
    if (this.onEvent) {
      try { this.onEvent({ type: 'score', ms: performance.now() - t0, ok: 'score' in r }); } catch { /* observer */ }
    }
    return r;
  }

  calibration(key: string, strong: string, weak: string, p: number): Calibrated {
    const e = this.entry(strong, weak);
    const ref = 'error' in e ? null : e.ref?.table ?? null;
    return this.calibrator.threshold(calKey(key, strong, weak), p, ref);
  }

  threshold(key: string, strong: string, weak: string, p: number): number {
    return this.calibration(key, strong, weak, p).threshold;
  }

  observe(key: string, strong: string, weak: string, score: number): void {
    this.calibrator.observe(calKey(key, strong, weak), score);
  }

  retainKeys(keep: (key: string) => boolean): void {
    this.calibrator.retain((k) => keep(k.slice(0, k.indexOf('\u0000'))));
  }

  close(): Promise<void> {
    return this.pool.close();
  }
}

/**
 * Only the start of a prompt is sent to the worker: max_length × 64 characters (32,768 for 512 tokens), cut at a
 * code-point boundary. Any text yielding its first max_length tokens within that many characters gets exactly the
 * contract's ids (English runs ~4–5 characters per token); a huge prompt costs neither a large copy across the
 * thread boundary nor worker memory.
 */
export function capText(text: string, maxChars: number): string {
  if (text.length <= maxChars) return text;
  let cut = maxChars;
  const c = text.charCodeAt(cut - 1);
  if (c >= 0xd800 && c <= 0xdbff) cut--;
  return text.slice(0, cut);
}

const norm = (name: string) => name.trim().toLowerCase();
const calKey = (key: string, strong: string, weak: string) => `${key}\u0000${norm(strong)}\u0000${norm(weak)}`;

/**
 * Loads a router directory (or its manifest.json / .onnx path): validates the manifest, starts the worker, which
 * loads the tokenizer and the ONNX graph, checks its inputs/outputs against the contract and warms up.
 * Rejects with a message naming the file and the problem.
 */
export async function loadRouter(dir: string = BUILTIN_ROUTER_DIR, opts: LoadOptions = {}): Promise<RouterRuntime> {
  let files: RouterFiles;
  try {
    files = readRouterFiles(dir);
  } catch (err) {
    throw new Error(`router ${dir}: ${(err as Error).message}`);
  }
  const m = files.manifest;
  const table = modelTable(m);
  let placer: Placer;
  try {
    placer = createPlacer({ models: table, anchors: m.placement?.anchors ?? {}, ratings: m.placement?.ratings ?? {} });
  } catch (err) {
    throw new ManifestError(`router ${files.dir}: manifest.json`, [(err as Error).message]);
  }
  let reference: ReferenceSet | null = null;
  if (files.referenceScores) {
    try {
      reference = new ReferenceSet(parseReferenceScores(JSON.parse(readFileSync(files.referenceScores, 'utf8'))), table.map((x) => x.name));
    } catch (err) {
      throw new Error(`router ${files.dir}: ${files.referenceScores}: ${(err as Error).message}`);
    }
  }
  const pool = new InferencePool({
    worker: {
      modelPath: files.model, tokenizerPath: files.tokenizer, maxLength: m.tokenizer.max_length, K: table.length,
      maxBatch: opts.maxBatch ?? 32, tokenBudget: opts.tokenBudget ?? 4096, batchWindowMs: opts.batchWindowMs ?? 0,
      warmup: opts.warmup ?? 3, memArena: opts.memArena ?? MEM_ARENA_DEFAULT, ...(opts.testHooks ? { testHooks: true } : {}),
    },
    resourceLimits: {
      ...(opts.workerYoungGenerationMb ?? YOUNG_GEN_DEFAULT_MB ? { maxYoungGenerationSizeMb: opts.workerYoungGenerationMb ?? YOUNG_GEN_DEFAULT_MB } : {}),
      ...(opts.workerOldGenerationMb ?? OLD_GEN_DEFAULT_MB ? { maxOldGenerationSizeMb: opts.workerOldGenerationMb ?? OLD_GEN_DEFAULT_MB } : {}),
    },
    timeoutMs: opts.timeoutMs ?? 50,
    hangMs: opts.hangMs ?? 2000,
    startTimeoutMs: opts.startTimeoutMs ?? 30_000,
    ...(opts.onEvent ? { onEvent: opts.onEvent } : {}),
  });
  try {
    await pool.start();
  } catch (err) {
    await pool.close();
    throw new Error(`router ${files.dir}: ${(err as Error).message}`);
  }
  const rt = new Runtime(files, pool, placer, reference, opts);
  return rt;
}

/** Whether a policy's `router.model` names the built-in router. */
export function isBuiltin(model: string | undefined): boolean {
  return model === undefined || model === '' || model === 'builtin';
}

/**
 * Routers by `router.model` ("builtin" or a local path), each loaded once and shared by the policies naming it.
 * get() starts a load (or joins one in progress); a failed load is forgotten so that the next get() retries.
 */
export class RouterRegistry {
  private readonly opts: LoadOptions;
  private readonly loads = new Map<string, Promise<RouterRuntime>>();
  private readonly loaded = new Map<string, RouterRuntime>();

  constructor(opts: LoadOptions = {}) {
    this.opts = opts;
  }

  /** The directory a `router.model` value names; URLs are not fetched here. */
  static resolve(model: string | undefined): string {
    if (isBuiltin(model)) return BUILTIN_ROUTER_DIR;
    if (/^[a-z][a-z0-9+.-]*:\/\//i.test(model!)) {
      throw new Error(`router.model "${model}": URLs are not loaded by the sidecar; mount the router directory (e.g. from a ConfigMap) and give its path`);
    }
    return model!;
  }

  get(model: string | undefined): Promise<RouterRuntime> {
    let dir: string;
    try {
      dir = RouterRegistry.resolve(model);
    } catch (err) {
      return Promise.reject(err as Error);
    }
    let p = this.loads.get(dir);
    if (!p) {
      p = loadRouter(dir, this.opts).then((rt) => {
        this.loaded.set(dir, rt);
        return rt;
      }, (err: unknown) => {
        this.loads.delete(dir);
        throw err;
      });
      this.loads.set(dir, p);
    }
    return p;
  }

  /** The loaded runtime for `router.model`, if its load has finished (for the request path: no await). */
  peek(model: string | undefined): RouterRuntime | undefined {
    try {
      return this.loaded.get(RouterRegistry.resolve(model));
    } catch {
      return undefined;
    }
  }

  /** Closes the routers no configured policy names any more. */
  async retain(models: Iterable<string | undefined>): Promise<void> {
    const keep = new Set<string>();
    for (const m of models) {
      try { keep.add(RouterRegistry.resolve(m)); } catch { /* a URL: nothing loaded for it */ }
    }
    const drop: RouterRuntime[] = [];
    for (const [dir, rt] of this.loaded) {
      if (!keep.has(dir)) { this.loaded.delete(dir); this.loads.delete(dir); drop.push(rt); }
    }
    await Promise.all(drop.map((rt) => rt.close()));
  }

  async closeAll(): Promise<void> {
    const all = [...this.loaded.values()];
    this.loaded.clear();
    this.loads.clear();
    await Promise.all(all.map((rt) => rt.close()));
  }
}

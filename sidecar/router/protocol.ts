// Messages between the pool (sidecar thread) and the router worker.

export interface WorkerConfig {
  modelPath: string;
  tokenizerPath: string;
  maxLength: number;
  K: number;
  /** Rows per batch (and per onnxruntime run). */
  maxBatch: number;
  /** Tokens per batch: rows × longest row per run, and the tokenised total per worker batch. */
  tokenBudget: number;
  /** 0: adaptive batching only; > 0: also hold a partial batch this long. */
  batchWindowMs: number;
  /** Warm-up rounds before 'ready'. */
  warmup: number;
  /** onnxruntime's CPU memory arena (keeps the largest batch's buffers; off: freed after each run). */
  memArena: boolean;
  testHooks?: boolean;
}

export interface WorkerRequest {
  id: number;
  text: string;
  /** Sparse strong/weak mixtures [index, weight, …]. */
  s: number[];
  w: number[];
  /** Absolute time (performance.timeOrigin + performance.now(), ms) after which the answer is useless. */
  deadline: number;
}

export type ToWorker =
  | { t: 'score'; reqs: WorkerRequest[] }
  | { t: 'test-crash' }
  | { t: 'test-hang'; ms: number };

export type FromWorker =
  | { t: 'ready'; loadMs: number; warmupMs: number }
  | { t: 'fatal'; error: string }
  | { t: 'done'; ids: number[]; scores: Float32Array; errors: [number, string][]; tokenizeMs: number; inferMs: number };

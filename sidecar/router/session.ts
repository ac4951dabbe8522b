// One onnxruntime-node InferenceSession per loaded router (router/CONTRACT.md "The ONNX session"):
// intraOpNumThreads 1, graphOptimizationLevel 'all', sequential. Runs a batch of tokenised rows, padded with 0 to
// the longest row of each chunk; rows are grouped by length and chunked under a token budget so that one long
// prompt does not make a whole batch pay for its padding (a row's score never depends on its batch: contract).
//
// Note: onnxruntime-node's run() executes synchronously on the calling thread (wrapped in a promise). This module
// is meant to run in the router worker (worker.ts), never on the sidecar's event loop.

import ort from 'onnxruntime-node';

export interface Row {
  ids: readonly number[];
  /** Sparse [index, weight, …] mixtures over the model table. */
  strong: readonly number[];
  weak: readonly number[];
}

export interface SessionOptions {
  /** Max padded tokens (rows × longest row) per run. */
  tokenBudget?: number;
  /** Max rows per run. */
  maxRows?: number;
  /** onnxruntime's CPU memory arena; default on. */
  memArena?: boolean;
}

export class RouterSession {
  readonly K: number;
  readonly inputNames: readonly string[];
  readonly outputNames: readonly string[];
  private readonly session: ort.InferenceSession;
  private readonly tokenBudget: number;
  private readonly maxRows: number;

  private constructor(session: ort.InferenceSession, K: number, opts: SessionOptions) {
    this.session = session;
    this.K = K;
    this.inputNames = session.inputNames;
    this.outputNames = session.outputNames;
    this.tokenBudget = opts.tokenBudget ?? 8192;
    this.maxRows = opts.maxRows ?? 64;
  }

  static async create(model: string | Uint8Array, K: number, opts: SessionOptions = {}): Promise<RouterSession> {
    const options: ort.InferenceSession.SessionOptions = {
      intraOpNumThreads: 1, interOpNumThreads: 1, executionMode: 'sequential', graphOptimizationLevel: 'all',
      enableCpuMemArena: opts.memArena ?? true, enableMemPattern: opts.memArena ?? true,
    };
    const session = typeof model === 'string'
      ? await ort.InferenceSession.create(model, options)
      : await ort.InferenceSession.create(model, options);
    return new RouterSession(session, K, opts);
  }

  /** Scores rows; the result is in the rows' order. */
  async score(rows: readonly Row[]): Promise<Float32Array> {
    const out = new Float32Array(rows.length);
    if (rows.length === 0) return out;
    const order = rows.map((_, i) => i).sort((a, b) => rows[a]!.ids.length - rows[b]!.ids.length);
    let start = 0;
    while (start < order.length) {
      // rows are sorted by length: the chunk's longest row is its last
      let end = start + 1;
      while (end < order.length && end - start < this.maxRows && (end - start + 1) * rows[order[end]!]!.ids.length <= this.tokenBudget) end++;
      const chunk = order.slice(start, end);
      const scores = await this.run(chunk.map((i) => rows[i]!));
      chunk.forEach((i, j) => { out[i] = scores[j]!; });
      start = end;
    }
    return out;
  }

  private async run(rows: readonly Row[]): Promise<Float32Array> {
    const B = rows.length;
    const K = this.K;
    let L = 1;
    for (const r of rows) if (r.ids.length > L) L = r.ids.length;
    const ids = new BigInt64Array(B * L);
    const mask = new BigInt64Array(B * L);
    const sw = new Float32Array(B * K);
    const ww = new Float32Array(B * K);
    rows.forEach((r, b) => {
      const base = b * L;
      for (let t = 0; t < r.ids.length; t++) {
        ids[base + t] = BigInt(r.ids[t]!);
        mask[base + t] = 1n;
      }
      for (let k = 0; k + 1 < r.strong.length; k += 2) sw[b * K + r.strong[k]!] = r.strong[k + 1]!;
      for (let k = 0; k + 1 < r.weak.length; k += 2) ww[b * K + r.weak[k]!] = r.weak[k + 1]!;
    });
    const feeds = {
      input_ids: new ort.Tensor('int64', ids, [B, L]),
      attention_mask: new ort.Tensor('int64', mask, [B, L]),
      strong_weights: new ort.Tensor('float32', sw, [B, K]),
      weak_weights: new ort.Tensor('float32', ww, [B, K]),
    };
    const res = await this.session.run(feeds, ['score']);
    const score = res.score;
    if (!score || score.type !== 'float32') throw new Error(`router output "score" is ${score ? score.type : 'missing'}, not float32`);
    const data = score.data as Float32Array;
    if (data.length !== B) throw new Error(`router output "score" has ${data.length} values for a batch of ${B}`);
    return data;
  }

  /** Contract violations of the graph's declared inputs and outputs (empty when it conforms). */
  ioErrors(): string[] {
    return ioErrors(this.session.inputMetadata, this.session.outputMetadata, this.K);
  }

  async release(): Promise<void> {
    await this.session.release();
  }
}

type Meta = readonly ort.InferenceSession.ValueMetadata[];

/** Checks names, dtypes and ranks of a session's inputs/outputs against the contract; K: the manifest's table size. */
export function ioErrors(inputs: Meta, outputs: Meta, K: number): string[] {
  const errors: string[] = [];
  const want: [string, string][] = [['input_ids', 'int64'], ['attention_mask', 'int64'], ['strong_weights', 'float32'], ['weak_weights', 'float32']];
  for (const [name, dtype] of want) {
    const m = inputs.find((x) => x.name === name);
    if (!m) { errors.push(`input "${name}" is missing (inputs: ${inputs.map((x) => x.name).join(', ') || 'none'})`); continue; }
    if (!m.isTensor) { errors.push(`input "${name}" is not a tensor`); continue; }
    if (m.type !== dtype) errors.push(`input "${name}" is ${m.type}, the contract needs ${dtype}`);
    if (m.shape.length !== 2) errors.push(`input "${name}" has rank ${m.shape.length}, the contract needs 2`);
    else if (name.endsWith('_weights') && typeof m.shape[1] === 'number' && m.shape[1] !== K) {
      errors.push(`input "${name}" is [batch, ${m.shape[1]}] but the manifest's model table has K = ${K}`);
    }
    if (m.shape.length >= 1 && typeof m.shape[0] === 'number' && m.shape[0] !== 1) errors.push(`input "${name}" has a fixed batch size ${m.shape[0]}; batch must be dynamic`);
  }
  for (const m of inputs) if (!want.some(([n]) => n === m.name)) errors.push(`unexpected input "${m.name}" (the contract has exactly four inputs)`);
  const score = outputs.find((x) => x.name === 'score');
  if (!score) errors.push(`output "score" is missing (outputs: ${outputs.map((x) => x.name).join(', ') || 'none'})`);
  else if (!score.isTensor) errors.push('output "score" is not a tensor');
  else {
    if (score.type !== 'float32') errors.push(`output "score" is ${score.type}, the contract needs float32`);
    if (score.shape.length !== 1) errors.push(`output "score" has rank ${score.shape.length}, the contract needs [batch]`);
  }
  return errors;
}

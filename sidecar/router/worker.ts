// The router worker thread: tokenisation and ONNX inference off the sidecar's event loop.
//
// Batching is adaptive: requests arrive as messages (the pool coalesces the calls of one tick into one message);
// whatever has queued up while the previous batch was computing forms the next batch, so a lone request waits
// for nothing and a burst is served in a few large batches. A batch is capped by rows and by tokens, so that the
// requests at its head are answered before the tail is tokenised. A request whose deadline passed is answered
// with an error instead of being computed. Optional batchWindowMs > 0 holds a partial batch that long.

import { parentPort, workerData } from 'node:worker_threads';
import { RouterSession, type Row } from './session.ts';
import { RouterTokenizer } from './tokenize.ts';
import type { FromWorker, ToWorker, WorkerConfig, WorkerRequest } from './protocol.ts';

const cfg = workerData as WorkerConfig;
const port = parentPort!;
const now = () => performance.timeOrigin + performance.now();
const send = (m: FromWorker) => port.postMessage(m);

let tokenizer: RouterTokenizer;
let session: RouterSession;
const queue: WorkerRequest[] = [];
let head = 0;
let running = false;
let timer: NodeJS.Timeout | undefined;

async function init(): Promise<void> {
  const t0 = performance.now();
  tokenizer = RouterTokenizer.fromFile(cfg.tokenizerPath, cfg.maxLength);
  try {
    session = await RouterSession.create(cfg.modelPath, cfg.K, { tokenBudget: cfg.tokenBudget, maxRows: cfg.maxBatch, memArena: cfg.memArena });
  } catch (err) {
    throw new Error(`cannot load ${cfg.modelPath}: ${(err as Error).message}`);
  }
  const io = session.ioErrors();
  if (io.length) throw new Error(`${cfg.modelPath} does not meet the router contract: ${io.join('; ')}`);
  const loadMs = performance.now() - t0;
  const t1 = performance.now();
  // Warm-up: JIT the tokenizer and let onnxruntime size its arena for short, long and batched inputs.
  const text = 'Warm-up prompt: explain the difference between a process and a thread, with an example. ';
  const probe: Row = { ids: [], strong: [0, 1], weak: [1, 1] };
  for (let i = 0; i < cfg.warmup; i++) {
    const short = tokenizer.encode(text);
    const long = tokenizer.encode(text.repeat(Math.ceil((cfg.maxLength * 6) / text.length) + 1));
    await session.score([{ ...probe, ids: short }]);
    await session.score([{ ...probe, ids: long }]);
    await session.score(Array.from({ length: 8 }, (_, j) => ({ ...probe, ids: j % 2 ? long.slice(0, 128) : short })));
  }
  send({ t: 'ready', loadMs, warmupMs: performance.now() - t1 });
}

function schedule(): void {
  if (running || timer || head >= queue.length) return;
  const pending = queue.length - head;
  if (cfg.batchWindowMs > 0 && pending < cfg.maxBatch) {
    timer = setTimeout(() => { timer = undefined; void drain(); }, cfg.batchWindowMs);
  } else {
    running = true;
    setImmediate(() => void drain());
  }
}

async function drain(): Promise<void> {
  running = true;
  try {
    while (head < queue.length) {
      const rows: Row[] = [];
      const ids: number[] = [];
      const errors: [number, string][] = [];
      let tokens = 0;
      const tTok = performance.now();
      while (head < queue.length && rows.length < cfg.maxBatch && tokens < cfg.tokenBudget) {
        const r = queue[head++]!;
        if (r.deadline < now()) { errors.push([r.id, 'timeout']); continue; }
        try {
          const t = tokenizer.encode(r.text);
          rows.push({ ids: t, strong: r.s, weak: r.w });
          ids.push(r.id);
          tokens += t.length;
        } catch (err) {
          errors.push([r.id, `tokenizer: ${(err as Error).message}`]);
        }
      }
      if (head > 1024 && head * 2 > queue.length) { queue.splice(0, head); head = 0; }
      const tRun = performance.now();
      let scores: Float32Array | undefined;
      try {
        scores = await session.score(rows);
      } catch (err) {
        for (const id of ids) errors.push([id, `inference: ${(err as Error).message}`]);
        ids.length = 0;
      }
      const tEnd = performance.now();
      send({ t: 'done', ids, scores: scores ?? new Float32Array(0), errors, tokenizeMs: tRun - tTok, inferMs: tEnd - tRun });
      // let messages that arrived meanwhile join the queue before the next batch
      await new Promise<void>((r) => setImmediate(r));
    }
    queue.length = 0;
    head = 0;
  } finally {
    running = false;
  }
}

port.on('message', (m: ToWorker) => {
  switch (m.t) {
    case 'score':
      for (const r of m.reqs) queue.push(r);
      schedule();
      break;
    case 'test-crash':
      if (cfg.testHooks) throw new Error('router worker: crash requested by a test');
      break;
    case 'test-hang':
      if (cfg.testHooks) { const end = Date.now() + m.ms; while (Date.now() < end) { /* block the worker */ } }
      break;
  }
});

init().catch((err: unknown) => {
  send({ t: 'fatal', error: (err as Error).message ?? String(err) });
});

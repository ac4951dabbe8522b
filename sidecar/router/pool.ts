// The sidecar-side half of the router worker: a request queue with deadlines, and the worker's lifecycle.
//
// One worker thread. On a 2-core pod the event loop (proxying) needs one core and the worker the other; a second
// worker would only compete with the event loop for the same cores, and inference itself is a fraction of a
// millisecond, so throughput comes from batching (worker.ts), not from more threads.
//
// - submit() never throws and never waits longer than timeoutMs: a late answer becomes {error: 'timeout'};
// - while the worker is down (crashed, restarting), submit() answers {error} at once, so callers fall back to
//   their policy's onRouterError instead of queueing;
// - a crash (error/exit) answers every pending request with {error} and restarts the worker with exponential
//   backoff (100 ms doubling to 5 s; reset once a worker has stayed up for 10 s);
// - a hung worker (requests outstanding, nothing heard for hangMs) is terminated, then restarted likewise.

import { Worker } from 'node:worker_threads';
import type { FromWorker, ToWorker, WorkerConfig, WorkerRequest } from './protocol.ts';

/** Why a score is missing: bounded, for a metric label. */
export type RouterErrorKind = 'timeout' | 'unavailable' | 'crash' | 'closed' | 'tokenizer' | 'inference' | 'placement' | 'internal';

export type ScoreResult = { score: number } | { error: string; kind: RouterErrorKind };

export type PoolEvent =
  | { type: 'ready'; loadMs: number; warmupMs: number; restarts: number }
  | { type: 'batch'; size: number; tokenizeMs: number; inferMs: number }
  | { type: 'error'; kind: RouterErrorKind; message: string }
  | { type: 'restart'; reason: string; delayMs: number };

export interface PoolOptions {
  worker: WorkerConfig;
  /** Longest a caller waits for a score (ms). */
  timeoutMs: number;
  /** A worker with requests outstanding that says nothing this long is terminated (ms). */
  hangMs: number;
  /** First start: give up after this long (ms). */
  startTimeoutMs: number;
  /** V8 limits of the worker's heap (young generation size bounds its RSS under load). */
  resourceLimits?: { maxYoungGenerationSizeMb?: number; maxOldGenerationSizeMb?: number };
  onEvent?: (e: PoolEvent) => void;
}

const WORKER_URL = new URL('./worker.ts', import.meta.url);
const now = () => performance.timeOrigin + performance.now();

interface Pending { resolve: (r: ScoreResult) => void; deadline: number }

export class InferencePool {
  private readonly opts: PoolOptions;
  private worker: Worker | undefined;
  private state: 'starting' | 'ready' | 'down' | 'closed' = 'down';
  private readonly pending = new Map<number, Pending>();
  /** Ids posted to the current worker and not answered by it yet → time posted. */
  private readonly inWorker = new Map<number, number>();
  private outbox: WorkerRequest[] = [];
  private flushQueued = false;
  private nextId = 1;
  private deadlineTimer: NodeJS.Timeout | undefined;
  private restartTimer: NodeJS.Timeout | undefined;
  private readonly watchdog: NodeJS.Timeout;
  private lastHeard = 0;
  private readyAt = 0;
  private backoffStep = 0;
  private restarts = 0;
  private generation = 0;

  constructor(opts: PoolOptions) {
    this.opts = opts;
    this.watchdog = setInterval(() => this.checkHang(), Math.max(10, Math.floor(opts.hangMs / 2)));
    this.watchdog.unref();
  }

  /** Starts the first worker; resolves when it is loaded and warmed up, rejects with the load error. */
  start(): Promise<{ loadMs: number; warmupMs: number }> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.stopWorker();
        reject(new Error(`router worker did not become ready within ${this.opts.startTimeoutMs} ms`));
      }, this.opts.startTimeoutMs);
      this.spawn((r) => {
        clearTimeout(timer);
        if ('error' in r) { this.state = 'down'; reject(new Error(r.error)); } else resolve(r);
      });
    });
  }

  ready(): boolean {
    return this.state === 'ready';
  }

  stats(): { state: string; restarts: number; pending: number; inWorker: number } {
    return { state: this.state, restarts: this.restarts, pending: this.pending.size, inWorker: this.inWorker.size };
  }

  submit(text: string, s: number[], w: number[]): Promise<ScoreResult> {
    if (this.state !== 'ready') {
      const message = this.state === 'closed' ? 'router closed' : 'router unavailable: worker restarting';
      const kind = this.state === 'closed' ? 'closed' : 'unavailable';
      this.emit({ type: 'error', kind, message });
      return Promise.resolve({ error: message, kind });
    }
    const id = this.nextId++;
    const deadline = now() + this.opts.timeoutMs;
    return new Promise<ScoreResult>((resolve) => {
      if (this.pending.size === 0) this.worker?.ref();
      this.pending.set(id, { resolve, deadline });
      this.outbox.push({ id, text, s, w, deadline });
      if (!this.flushQueued) {
        this.flushQueued = true;
        queueMicrotask(() => this.flush());
      }
      if (!this.deadlineTimer) this.armDeadline();
    });
  }

  /** The worker's V8 heap statistics (undefined while it is down, or without an answer within 2 s). */
  async heap(): Promise<{ used_heap_size: number; total_heap_size: number } | undefined> {
    const w = this.worker;
    if (!w || this.state !== 'ready') return undefined;
    // a ref'd timer keeps the process up for the answer (an idle worker is unref'd, and Node delivers the answer
    // without a ref of its own) and bounds the wait
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<undefined>((resolve) => { timer = setTimeout(() => resolve(undefined), 2000); });
    try {
      return await Promise.race([w.getHeapStatistics(), timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  /** Test hooks (only when the worker was started with testHooks). */
  testMessage(m: ToWorker): void {
    this.worker?.postMessage(m);
  }

  async close(): Promise<void> {
    if (this.state === 'closed') return;
    this.state = 'closed';
    clearInterval(this.watchdog);
    if (this.restartTimer) clearTimeout(this.restartTimer);
    if (this.deadlineTimer) clearTimeout(this.deadlineTimer);
    this.deadlineTimer = undefined;
    this.failAll('router closed', 'closed');
    const w = this.worker;
    this.worker = undefined;
    if (w) await w.terminate();
  }

  private emit(e: PoolEvent): void {
    try { this.opts.onEvent?.(e); } catch { /* an observer's failure must not break scoring */ }
  }

  private spawn(onFirst?: (r: { loadMs: number; warmupMs: number } | { error: string }) => void): void {
    const gen = ++this.generation;
    this.state = 'starting';
    const w = new Worker(WORKER_URL, { workerData: this.opts.worker, stdout: false, stderr: false, ...(this.opts.resourceLimits ? { resourceLimits: this.opts.resourceLimits } : {}) });
    this.worker = w;
    w.unref();
    let settled = false;
    const first = (r: { loadMs: number; warmupMs: number } | { error: string }) => {
      if (settled) return;
      settled = true;
      onFirst?.(r);
    };
    w.on('message', (m: FromWorker) => {
      if (gen !== this.generation) return;
      this.lastHeard = now();
      switch (m.t) {
        case 'ready':
          this.state = 'ready';
          this.readyAt = now();
          this.emit({ type: 'ready', loadMs: m.loadMs, warmupMs: m.warmupMs, restarts: this.restarts });
          first({ loadMs: m.loadMs, warmupMs: m.warmupMs });
          break;
        case 'fatal':
          if (onFirst && !settled) {
            first({ error: m.error });
            this.stopWorker();
          } else this.crashed(`router worker failed to load: ${m.error}`);
          break;
        case 'done':
          this.answer(m);
          break;
      }
    });
    w.on('error', (err) => {
      if (gen !== this.generation) return;
      if (onFirst && !settled) { first({ error: `router worker: ${err.message}` }); this.stopWorker(); return; }
      this.crashed(`router worker crashed: ${err.message}`);
    });
    w.on('exit', (code) => {
      if (gen !== this.generation) return;
      if (onFirst && !settled) { first({ error: `router worker exited with code ${code} while loading` }); this.state = 'down'; return; }
      this.crashed(`router worker exited (code ${code})`);
    });
  }

  /** Ends the current worker without a restart. */
  private stopWorker(): void {
    this.generation++;
    const w = this.worker;
    this.worker = undefined;
    if (this.state !== 'closed') this.state = 'down';
    void w?.terminate();
  }

  private crashed(reason: string): void {
    if (this.state === 'closed') return;
    this.stopWorker();
    this.failAll(reason, 'crash');
    if (now() - this.readyAt > 10_000) this.backoffStep = 0;
    const delayMs = Math.min(5000, 100 * 2 ** this.backoffStep);
    this.backoffStep++;
    this.restarts++;
    this.emit({ type: 'restart', reason, delayMs });
    this.restartTimer = setTimeout(() => {
      this.restartTimer = undefined;
      if (this.state !== 'closed') this.spawn();
    }, delayMs);
    this.restartTimer.unref();
  }

  private failAll(message: string, kind: 'crash' | 'closed'): void {
    const all = [...this.pending.values()];
    this.pending.clear();
    this.inWorker.clear();
    this.outbox = [];
    for (const p of all) p.resolve({ error: message, kind });
    if (all.length) this.emit({ type: 'error', kind, message });
  }

  private flush(): void {
    this.flushQueued = false;
    const reqs = this.outbox;
    this.outbox = [];
    if (!reqs.length || !this.worker) return;
    const t = now();
    for (const r of reqs) this.inWorker.set(r.id, t);
    if (this.inWorker.size === reqs.length) this.lastHeard = t; // the hang clock starts with the first outstanding request
    this.worker.postMessage({ t: 'score', reqs } satisfies ToWorker);
  }

  private answer(m: Extract<FromWorker, { t: 'done' }>): void {
    this.emit({ type: 'batch', size: m.ids.length, tokenizeMs: m.tokenizeMs, inferMs: m.inferMs });
    m.ids.forEach((id, j) => {
      this.inWorker.delete(id);
      const p = this.pending.get(id);
      if (!p) return;
      this.pending.delete(id);
      p.resolve({ score: m.scores[j]! });
    });
    for (const [id, msg] of m.errors) {
      this.inWorker.delete(id);
      const p = this.pending.get(id);
      if (!p) continue;
      this.pending.delete(id);
      const kind = msg === 'timeout' ? 'timeout' : msg.startsWith('tokenizer') ? 'tokenizer' : 'inference';
      this.emit({ type: 'error', kind, message: msg });
      p.resolve({ error: msg === 'timeout' ? `router timeout: no score within ${this.opts.timeoutMs} ms` : msg, kind });
    }
    if (this.pending.size === 0) this.worker?.unref();
  }

  /** One timer for the earliest deadline (deadlines are FIFO: same timeout for all). */
  private armDeadline(): void {
    const first = this.pending.values().next();
    if (first.done) { this.deadlineTimer = undefined; return; }
    this.deadlineTimer = setTimeout(() => this.expire(), Math.max(0, first.value.deadline - now()) + 0.5);
  }

  private expire(): void {
    this.deadlineTimer = undefined;
    const t = now();
    const message = `router timeout: no score within ${this.opts.timeoutMs} ms`;
    for (const [id, p] of this.pending) {
      if (p.deadline > t) break;
      this.pending.delete(id);
      p.resolve({ error: message, kind: 'timeout' });
      this.emit({ type: 'error', kind: 'timeout', message });
    }
    if (this.pending.size === 0) this.worker?.unref();
    this.armDeadline();
  }

  private checkHang(): void {
    if (this.state !== 'ready' || this.inWorker.size === 0) return;
    if (now() - this.lastHeard > this.opts.hangMs) this.crashed(`router worker unresponsive for ${this.opts.hangMs} ms: terminated`);
  }
}

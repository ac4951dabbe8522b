// A work queue as in client-go: a key queued many times is processed once; a key being processed is
// re-queued after it finishes; failures retry with per-key exponential backoff.

export class WorkQueue {
  readonly #queued = new Set<string>();
  readonly #active = new Set<string>();
  readonly #dirty = new Set<string>();
  readonly #failures = new Map<string, number>();
  readonly #handler: (key: string) => Promise<void>;
  readonly #onError: (key: string, err: unknown) => void;
  readonly #baseMs: number;
  readonly #maxMs: number;
  #running = 0;
  readonly #workers: number;
  #stopped = false;

  constructor(handler: (key: string) => Promise<void>, opts: { workers?: number; baseMs?: number; maxMs?: number; onError?: (key: string, err: unknown) => void } = {}) {
    this.#handler = handler;
    this.#workers = opts.workers ?? 2;
    this.#baseMs = opts.baseMs ?? 50;
    this.#maxMs = opts.maxMs ?? 60_000;
    this.#onError = opts.onError ?? (() => {});
  }

  add(key: string): void {
    if (this.#stopped) return;
    if (this.#active.has(key)) { this.#dirty.add(key); return; }
    this.#queued.add(key);
    this.#pump();
  }

  /** Keys waiting or being processed (for tests and a readiness view). */
  depth(): number { return this.#queued.size + this.#active.size; }

  stop(): void { this.#stopped = true; }

  #pump(): void {
    while (this.#running < this.#workers && this.#queued.size > 0) {
      const key = this.#queued.values().next().value as string;
      this.#queued.delete(key);
      this.#active.add(key);
      this.#running++;
      void this.#handler(key).then(
        () => { this.#failures.delete(key); },
        (err: unknown) => {
          const n = (this.#failures.get(key) ?? 0) + 1;
          this.#failures.set(key, n);
          this.#onError(key, err);
          setTimeout(() => this.add(key), Math.min(this.#maxMs, this.#baseMs * 2 ** (n - 1)));
        },
      ).finally(() => {
        this.#active.delete(key);
        this.#running--;
        if (this.#dirty.delete(key)) this.#queued.add(key);
        this.#pump();
      });
    }
  }
}

// An informer that stays correct: client-node's ListWatch, plus a restart on error with backoff, a
// periodic relist (level-triggered reconcilers then see every object again), and a stall watchdog.

import { ListWatch, Watch, type KubeConfig, type KubernetesListObject, type KubernetesObject } from '@kubernetes/client-node';
import type { Logger } from '../../sidecar/log.ts';
import type { Kube } from './rest.ts';

export interface InformerOptions {
  name: string;
  /** Collection path, e.g. /apis/triage.dev/v1alpha1/routingpolicies */
  path: string;
  labelSelector?: string;
  relistMs?: number;
  /** Restart if no event or reconnect is seen for this long. */
  stallMs?: number;
}

export class Informer<T extends KubernetesObject> {
  readonly #lw: ListWatch<T>;
  readonly #log: Logger;
  readonly #o: InformerOptions;
  #timers: NodeJS.Timeout[] = [];
  #lastSeen = Date.now();
  #synced = false;
  #failures = 0;
  #stopped = false;
  #handlers: ((obj: T, verb: 'add' | 'update' | 'delete') => void)[] = [];

  constructor(kube: Kube, kc: KubeConfig, o: InformerOptions, log: Logger) {
    this.#o = o;
    this.#log = log;
    const list = () => kube.get<KubernetesListObject<T>>(`${o.path}${o.labelSelector ? `?labelSelector=${encodeURIComponent(o.labelSelector)}` : ''}`);
    this.#lw = new ListWatch<T>(o.path, new Watch(kc), list, false, o.labelSelector);
    for (const verb of ['add', 'update', 'delete'] as const) {
      this.#lw.on(verb, (obj) => { this.#lastSeen = Date.now(); for (const h of this.#handlers) h(obj, verb); });
    }
    this.#lw.on('connect', () => { this.#lastSeen = Date.now(); this.#synced = true; this.#failures = 0; });
    this.#lw.on('error', (err) => {
      if (this.#stopped) return;
      const delay = Math.min(30_000, 500 * 2 ** this.#failures++);
      this.#log.warn({ informer: o.name, err: String(err?.message ?? err), retryInMs: delay }, 'watch failed; restarting');
      setTimeout(() => void this.#restart(), delay);
    });
  }

  on(h: (obj: T, verb: 'add' | 'update' | 'delete') => void): void { this.#handlers.push(h); }
  get(name: string, ns?: string): T | undefined { return this.#lw.get(name, ns); }
  list(ns?: string): readonly T[] { return this.#lw.list(ns); }
  synced(): boolean { return this.#synced; }

  async start(): Promise<void> {
    await this.#lw.start();
    this.#synced = true;
    const relist = this.#o.relistMs ?? 5 * 60_000;
    const stall = this.#o.stallMs ?? 10 * 60_000;
    this.#timers.push(setInterval(() => void this.#restart(), relist));
    this.#timers.push(setInterval(() => {
      if (Date.now() - this.#lastSeen > stall) {
        this.#log.warn({ informer: this.#o.name }, 'watch stalled; restarting');
        void this.#restart();
      }
    }, Math.min(stall, 60_000)));
  }

  async #restart(): Promise<void> {
    if (this.#stopped) return;
    this.#lastSeen = Date.now();
    try {
      await this.#lw.stop();
      await this.#lw.start();
    } catch (err) {
      this.#log.warn({ informer: this.#o.name, err: (err as Error).message }, 'relist failed');
    }
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    for (const t of this.#timers) clearInterval(t);
    await this.#lw.stop();
  }
}

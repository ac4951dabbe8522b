// Loads the classifier routers a config names, once each, and says which are still loading (readiness).
// A router that fails to load is logged and left out: its policies route by onRouterError, the pod stays up.

import type { CompiledConfig, CompiledPolicy } from '../config/compile.ts';
import type { Logger } from '../log.ts';
import { RouterRegistry } from './runtime.ts';

export class ClassifierLoader {
  readonly #routers: RouterRegistry;
  readonly #log: Logger;
  readonly #loading = new Set<string>();

  constructor(routers: RouterRegistry, log: Logger) {
    this.#routers = routers;
    this.#log = log;
  }

  load(cfg: CompiledConfig): void {
    const classifiers = [...cfg.policies.values()].filter((p) => p.router.type === 'classifier');
    for (const p of classifiers) {
      const model = p.router.model;
      const label = model ?? 'builtin';
      if (this.#routers.peek(model)) { this.#check(p); continue; }
      if (this.#loading.has(label)) continue;
      this.#loading.add(label);
      const t0 = performance.now();
      this.#routers.get(model).then(
        (rt) => {
          this.#log.info({ router: label, version: rt.version, ms: Math.round(performance.now() - t0) }, 'classifier loaded');
          for (const q of classifiers) if ((q.router.model ?? 'builtin') === label) this.#check(q);
        },
        (err: Error) => this.#log.error({ router: label, err: err.message }, 'classifier failed to load; its policies route by onRouterError'),
      ).finally(() => this.#loading.delete(label));
    }
    void this.#routers.retain(classifiers.map((p) => p.router.model));
  }

  /** Routers still loading, as readiness reasons. */
  pending(): string[] {
    return [...this.#loading].map((m) => `classifier ${m} loading`);
  }

  /** Ratings given on the policy's targets, and whether its pair can be placed at all. */
  #check(p: CompiledPolicy): void {
    const rt = this.#routers.peek(p.router.model);
    if (!rt || !p.routerIds) return;
    if (Object.keys(p.ratings).length) rt.addRatings(p.ratings);
    const pair = rt.pair(p.routerIds.strong, p.routerIds.weak);
    if ('error' in pair) this.#log.warn({ policy: p.name, error: pair.error }, 'the classifier cannot place this policy\'s models; give the targets a rating');
  }
}

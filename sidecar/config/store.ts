// Holds the config being served. A new config is swapped in whole, so a request sees one version from
// start to end; a rejected one leaves the last good config serving.

import type { Metrics } from '../metrics.ts';
import type { Logger } from '../log.ts';
import type { CompiledConfig } from './compile.ts';
import type { LoadResult } from './load.ts';
import type { HealthRegistry } from '../resilience/health.ts';

export type Source = 'file' | 'operator';

export class ConfigStore {
  current: CompiledConfig | undefined;
  /** Called after a new config is swapped in. */
  onApplied: (cfg: CompiledConfig) => void = () => {};
  readonly #metrics: Metrics;
  readonly #log: Logger;
  readonly #health: HealthRegistry;

  constructor(metrics: Metrics, log: Logger, health: HealthRegistry) {
    this.#metrics = metrics;
    this.#log = log;
    this.#health = health;
  }

  /** Applies a load result; returns the errors when it was rejected. */
  apply(result: LoadResult, source: Source): string[] {
    if (!result.ok) {
      this.#metrics.configReloads.inc({ source, result: 'rejected' });
      this.#log.error({ source, errors: result.errors, serving: this.current?.version ?? null }, 'config rejected; the last good config keeps serving');
      return result.errors;
    }
    const next = result.config;
    if (next.version === this.current?.version) {
      this.#metrics.configReloads.inc({ source, result: 'unchanged' });
      return [];
    }
    if (this.current) this.#metrics.configInfo.remove({ version: this.current.version });
    this.current = next;
    this.#health.retain(next.deploymentIds);
    this.#metrics.configInfo.set({ version: next.version }, 1);
    this.#metrics.configReloads.inc({ source, result: 'applied' });
    this.#log.info({ source, version: next.version, policies: [...next.policies.keys()] }, 'config applied');
    this.onApplied(next);
    return [];
  }
}

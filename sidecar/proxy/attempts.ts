// The attempt loop: retries across a model's deployments (backoff, Retry-After, cooldown), then the
// policy's fallbacks for the failure's class. Each attempt gets the deployment and translates the
// immutable parsed request itself, so a fallback to another provider translates afresh.

import { setTimeout as sleep } from 'node:timers/promises';
import type { ErrorClass } from '../../api/common.ts';
import type { CompiledDeployment, CompiledModel, CompiledPolicy } from '../config/compile.ts';
import type { Metrics } from '../metrics.ts';
import { earliestRecovery, pickDeployment } from '../resilience/balancer.ts';
import { retryDelay } from '../resilience/backoff.ts';
import { HEALTH_FAILURES, RETRYABLE } from '../resilience/errorClass.ts';
import type { HealthRegistry } from '../resilience/health.ts';

/** A failed attempt, classified. `message` is already free of credentials. */
export class UpstreamError extends Error {
  readonly errorClass: ErrorClass;
  readonly status: number | undefined;
  readonly retryAfter: number | undefined;
  constructor(errorClass: ErrorClass, message: string, opts: { status?: number; retryAfter?: number } = {}) {
    super(message);
    this.errorClass = errorClass;
    this.status = opts.status;
    this.retryAfter = opts.retryAfter;
  }
}

export interface AttemptDeps { health: HealthRegistry; metrics: Metrics; signal: AbortSignal; now?: () => number }

export interface Success<T> {
  value: T;
  model: CompiledModel;
  deployment: CompiledDeployment;
  attempts: number;
  /** The model that failed first, when a fallback answered. */
  fallbackFrom?: string;
  upstreamMs: number;
  waitedMs: number;
  /** Call once the answer is fully delivered: the deployment counts as busy until then. */
  release: () => void;
}

export type Attempt<T> = (d: CompiledDeployment, model: CompiledModel) => Promise<T>;

export async function runAttempts<T>(policy: CompiledPolicy, primary: string, attempt: Attempt<T>, deps: AttemptDeps): Promise<Success<T>> {
  const stats = { attempts: 0, upstreamMs: 0, waitedMs: 0 };
  const order = [primary];
  let lastErr: UpstreamError | undefined;
  for (let i = 0; i < order.length; i++) {
    const model = policy.models.get(order[i]!)!;
    if (i > 0) deps.metrics.fallbacks.inc({ policy: policy.name, from: primary, to: model.name, class: lastErr!.errorClass });
    const r = await tryModel(policy, model, attempt, deps, stats);
    if (!(r instanceof UpstreamError)) return { ...r, ...stats, ...(i > 0 ? { fallbackFrom: primary } : {}) };
    lastErr = r;
    if (i === 0) {
      // Fallbacks are matched on the primary's failure class only and are not chained.
      const rule = policy.fallbacks.find((f) => f.from === primary && f.when.has(r.errorClass));
      if (rule) order.push(...rule.to.filter((m) => m !== primary));
    }
  }
  throw lastErr!;
}

async function tryModel<T>(
  policy: CompiledPolicy, model: CompiledModel, attempt: Attempt<T>, deps: AttemptDeps,
  stats: { attempts: number; upstreamMs: number; waitedMs: number },
): Promise<Omit<Success<T>, 'attempts' | 'upstreamMs' | 'waitedMs' | 'fallbackFrom'> | UpstreamError> {
  const now = deps.now ?? Date.now;
  const cands = model.deployments.map((d) => ({ weight: d.weight, health: deps.health.get(d.id) }));
  const tried = new Set<number>();
  let retries = 0;
  let lastErr: UpstreamError | undefined;
  let justWaited = false;

  // Durations use the monotonic clock; cooldown deadlines are wall-clock (they outlive the request).
  const wait = async (ms: number) => {
    const t = performance.now();
    await sleep(ms, undefined, { signal: deps.signal });
    stats.waitedMs += performance.now() - t;
  };

  for (;;) {
    const idx = pickDeployment(cands, model.strategy, tried, now());
    if (idx === undefined) {
      const until = earliestRecovery(cands) - now();
      // Nothing failed for this request yet: the model is known to be saturated, so fall back at once.
      if (!lastErr) {
        const reason = cands.find((c) => c.health.cooldownUntil === earliestRecovery(cands))?.health.cooldownReason ?? 'rateLimited';
        return new UpstreamError(reason, `every deployment of model "${model.name}" is cooling down`);
      }
      if (until > policy.retries.maxMs) return lastErr;
      await wait(Math.max(0, until));
      justWaited = true;
      continue;
    }
    if (lastErr && tried.has(idx) && !justWaited) {
      const ms = lastErr.retryAfter !== undefined ? lastErr.retryAfter * 1000 : retryDelay(retries - 1, policy.retries);
      if (ms > policy.retries.maxMs) return lastErr;
      await wait(ms);
    }
    justWaited = false;

    const d = model.deployments[idx]!;
    const h = cands[idx]!.health;
    const started = performance.now();
    stats.attempts++;
    h.inFlight++;
    try {
      const value = await attempt(d, model);
      const ms = performance.now() - started;
      stats.upstreamMs += ms;
      h.recordSuccess(now(), ms, policy.cooldown);
      deps.metrics.upstreamDuration.observe({ provider: d.target.provider, provider_key: d.keyName, model: d.target.model, outcome: 'ok' }, ms / 1000);
      let released = false;
      return { value, model, deployment: d, release: () => { if (!released) { released = true; h.inFlight--; } } };
    } catch (err) {
      h.inFlight--;
      const ms = performance.now() - started;
      stats.upstreamMs += ms;
      if (deps.signal.aborted) throw err;
      const e = err instanceof UpstreamError ? err : new UpstreamError('connection', (err as Error).message);
      const labels = { provider: d.target.provider, provider_key: d.keyName, model: d.target.model };
      deps.metrics.upstreamErrors.inc({ ...labels, class: e.errorClass });
      deps.metrics.upstreamDuration.observe({ ...labels, outcome: e.errorClass }, ms / 1000);
      if (HEALTH_FAILURES.has(e.errorClass) && h.recordFailure(now(), e.errorClass, policy.cooldown, e.retryAfter)) {
        deps.metrics.cooldownsEntered.inc({ provider_key: d.keyName, model: d.target.model, class: e.errorClass });
      }
      if (!RETRYABLE.has(e.errorClass) || retries >= policy.retries.attempts) return e;
      retries++;
      deps.metrics.retries.inc({ policy: policy.name, model: model.name, class: e.errorClass });
      tried.add(idx);
      lastErr = e;
    }
  }
}

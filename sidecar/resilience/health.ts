// Per-deployment health: in-flight count, latency EWMA, failure rate over a sliding window (bucketed, so
// O(1) per request at any rate) and cooldown. Keyed by upstream identity, so it survives config reloads.

import type { ErrorClass } from '../../api/common.ts';

export interface CooldownSettings { durationMs: number; failureRate: number; windowMs: number; minRequests: number }

const BUCKETS = 10;
const EWMA_ALPHA = 0.3;

export class DeploymentHealth {
  inFlight = 0;
  latencyMs: number | undefined;
  cooldownUntil = 0;
  cooldownReason: ErrorClass | undefined;
  #bucketStart = new Float64Array(BUCKETS);
  #total = new Uint32Array(BUCKETS);
  #failed = new Uint32Array(BUCKETS);

  inCooldown(now: number): boolean {
    return now < this.cooldownUntil;
  }

  recordSuccess(now: number, latencyMs: number, s: CooldownSettings): void {
    this.latencyMs = this.latencyMs === undefined ? latencyMs : this.latencyMs + EWMA_ALPHA * (latencyMs - this.latencyMs);
    this.#count(now, false, s.windowMs);
  }

  /** Records a failure; returns true when it put the deployment into cooldown. */
  recordFailure(now: number, cls: ErrorClass, s: CooldownSettings, retryAfterSec?: number): boolean {
    const { total, failed } = this.#count(now, true, s.windowMs);
    const tripped = cls === 'rateLimited' || (total >= s.minRequests && failed / total >= s.failureRate);
    if (!tripped) return false;
    // A 429's Retry-After is the provider telling us exactly how long; otherwise the policy's duration.
    const ms = cls === 'rateLimited' && retryAfterSec !== undefined ? retryAfterSec * 1000 : s.durationMs;
    const wasCooling = this.inCooldown(now);
    this.cooldownUntil = Math.max(this.cooldownUntil, now + ms);
    this.cooldownReason = cls;
    return !wasCooling;
  }

  #count(now: number, failed: boolean, windowMs: number): { total: number; failed: number } {
    const width = windowMs / BUCKETS;
    const slot = Math.floor(now / width);
    const i = slot % BUCKETS;
    if (this.#bucketStart[i] !== slot) {
      this.#bucketStart[i] = slot;
      this.#total[i] = 0;
      this.#failed[i] = 0;
    }
    this.#total[i]!++;
    if (failed) this.#failed[i]!++;
    let total = 0;
    let bad = 0;
    for (let b = 0; b < BUCKETS; b++) {
      if (slot - this.#bucketStart[b]! < BUCKETS) {
        total += this.#total[b]!;
        bad += this.#failed[b]!;
      }
    }
    return { total, failed: bad };
  }
}

/** Process-wide registry: one health record per upstream deployment. */
export class HealthRegistry {
  #byId = new Map<string, DeploymentHealth>();
  get(id: string): DeploymentHealth {
    let h = this.#byId.get(id);
    if (!h) this.#byId.set(id, (h = new DeploymentHealth()));
    return h;
  }
  entries(): IterableIterator<[string, DeploymentHealth]> {
    return this.#byId.entries();
  }
  /** Drops records for deployments no longer configured. */
  retain(ids: Set<string>): void {
    for (const id of this.#byId.keys()) if (!ids.has(id)) this.#byId.delete(id);
  }
}

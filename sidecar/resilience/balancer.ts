// Picks a deployment of one model. Pure: health is read, never written.

import type { DeploymentHealth } from './health.ts';

export type Strategy = 'weighted' | 'leastBusy' | 'lowestLatency';

export interface Candidate { weight: number; health: DeploymentHealth }

/**
 * Index of the deployment to try, or undefined when every deployment is cooling down.
 * Deployments already tried for this request are avoided while an untried one is available.
 */
export function pickDeployment(
  cands: readonly Candidate[], strategy: Strategy, tried: ReadonlySet<number>, now: number, random = Math.random,
): number | undefined {
  let pool: number[] = [];
  for (let i = 0; i < cands.length; i++) if (!cands[i]!.health.inCooldown(now)) pool.push(i);
  if (pool.length === 0) return undefined;
  const fresh = pool.filter((i) => !tried.has(i));
  if (fresh.length > 0) pool = fresh;
  if (pool.length === 1) return pool[0];
  switch (strategy) {
    case 'leastBusy': return argmin(pool, (i) => cands[i]!.health.inFlight, random);
    // Unmeasured deployments score 0 so each gets tried once before latency decides.
    case 'lowestLatency': return argmin(pool, (i) => cands[i]!.health.latencyMs ?? 0, random);
    case 'weighted': {
      const total = pool.reduce((s, i) => s + cands[i]!.weight, 0);
      if (total <= 0) return pool[Math.floor(random() * pool.length)];
      let r = random() * total;
      for (const i of pool) if ((r -= cands[i]!.weight) < 0) return i;
      return pool[pool.length - 1];
    }
  }
}

function argmin(pool: number[], score: (i: number) => number, random: () => number): number {
  let best: number[] = [];
  let bestScore = Infinity;
  for (const i of pool) {
    const s = score(i);
    if (s < bestScore) { bestScore = s; best = [i]; } else if (s === bestScore) best.push(i);
  }
  return best[Math.floor(random() * best.length)]!;
}

/** When every deployment is cooling down: the earliest moment one becomes available. */
export function earliestRecovery(cands: readonly Candidate[]): number {
  return Math.min(...cands.map((c) => c.health.cooldownUntil));
}

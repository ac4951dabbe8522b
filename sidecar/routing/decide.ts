// The routing decision for a request that names a policy: which model target answers, and why.
// Pure given the random source; the classifier's score arrives as an input (computed off this path).

import type { Router } from '../../api/routingPolicy.ts';

export type Route = 'strong' | 'weak' | 'fixed';

export interface Decision {
  route: Route;
  model: string;
  score?: number;
  threshold?: number;
  /** Set when the classifier could not score and onRouterError decided. */
  routerError?: string;
  /** The classifier's version, when one scored. */
  routerVersion?: string;
}

/** threshold, or the (1 − strongFraction) quantile of a uniform score for the random router. */
export function thresholdOf(router: Router): number {
  return router.threshold ?? 1 - (router.strongFraction ?? 0.5);
}

/** `threshold` overrides the policy's own (a calibrated or per-request threshold). */
export function decide(router: Router, classifierScore: { score: number } | { error: string } | undefined, random = Math.random, threshold = thresholdOf(router)): Decision {
  if (router.type === 'fixed') return { route: 'fixed', model: router.target! };
  let score: number;
  if (router.type === 'random') score = random();
  else if (classifierScore && 'score' in classifierScore) score = classifierScore.score;
  else {
    const route = router.onRouterError;
    return { route, model: route === 'strong' ? router.strong! : router.weak!, threshold, routerError: classifierScore?.error ?? 'classifier unavailable' };
  }
  const route: Route = score >= threshold ? 'strong' : 'weak';
  return { route, model: route === 'strong' ? router.strong! : router.weak!, score, threshold };
}

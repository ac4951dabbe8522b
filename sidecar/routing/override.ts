// Per-request router overrides, RouteLLM-compatible: the model name `router-<type>-<threshold>` (e.g.
// `router-mf-0.116`, as RouteLLM's OpenAI-compatible server takes it) routes on the default policy with that
// router and threshold; the header `x-triage-router: <type>-<threshold>` does the same for any policy.

import type { Router } from '../../api/routingPolicy.ts';

const PATTERN = /^(classifier|mf|random)-(0(?:\.\d+)?|1(?:\.0+)?)$/;

/** `classifier-0.3` → the override, or undefined when the text is not one. `mf` is the classifier. */
export function parseRouterOverride(text: string | undefined): { type: 'classifier' | 'random'; threshold: number } | undefined {
  const m = text === undefined ? null : PATTERN.exec(text.trim());
  if (!m) return undefined;
  return { type: m[1] === 'random' ? 'random' : 'classifier', threshold: Number(m[2]) };
}

/** The model-name form: `router-classifier-0.3`. */
export function parseRouterModel(model: string): ReturnType<typeof parseRouterOverride> {
  return model.startsWith('router-') ? parseRouterOverride(model.slice('router-'.length)) : undefined;
}

/** The policy's router with an override applied; a fixed policy has no strong/weak pair to override. */
export function applyOverride(router: Router, o: { type: 'classifier' | 'random'; threshold: number }): Router | undefined {
  if (!router.strong || !router.weak) return undefined;
  const { strongFraction: _sf, ...rest } = router;
  return { ...rest, type: o.type, threshold: o.threshold };
}

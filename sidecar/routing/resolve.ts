// What a request's `model` names: "auto" (the default policy), a policy, "policy/model", or a model of
// some policy. Pure.

import type { CompiledConfig, CompiledPolicy } from '../config/compile.ts';
import { modelNotFound } from '../http/errors.ts';

export type Resolved =
  | { kind: 'policy'; policy: CompiledPolicy }
  | { kind: 'model'; policy: CompiledPolicy; model: string };

export function resolveModel(cfg: CompiledConfig, requested: string): Resolved {
  if (requested === 'auto') return { kind: 'policy', policy: cfg.defaultPolicy };
  const policy = cfg.policies.get(requested);
  if (policy) return { kind: 'policy', policy };
  const slash = requested.indexOf('/');
  if (slash > 0) {
    const p = cfg.policies.get(requested.slice(0, slash));
    const m = requested.slice(slash + 1);
    if (p?.models.has(m)) return { kind: 'model', policy: p, model: m };
  }
  const owner = cfg.modelOwners.get(requested);
  if (owner) return { kind: 'model', policy: owner, model: requested };
  throw modelNotFound(requested, knownNames(cfg));
}

/** Every name a client may use, in the order /v1/models lists them. */
export function knownNames(cfg: CompiledConfig): string[] {
  return [...new Set(['auto', ...cfg.policies.keys(), ...cfg.modelOwners.keys()])];
}

// Pure status computation: conditions per the Kubernetes API conventions (a condition's
// lastTransitionTime changes only when its status does), and a comparison that ignores timestamps so a
// status is written only when something changed.

import type { Condition, ProviderKey, RoutingPolicy } from './objects.ts';
import type { RefProblem } from './compile.ts';
import type { PolicySidecars } from './distributor.ts';

type NewCondition = Omit<Condition, 'lastTransitionTime' | 'observedGeneration'>;

export function setConditions(prev: Condition[] | undefined, next: NewCondition[], generation: number | undefined, now: string): Condition[] {
  return next.map((c) => {
    const old = prev?.find((p) => p.type === c.type);
    const lastTransitionTime = old && old.status === c.status ? old.lastTransitionTime : now;
    return { ...c, lastTransitionTime, ...(generation !== undefined ? { observedGeneration: generation } : {}) };
  });
}

const summarise = (problems: RefProblem[]) => problems.map((p) => p.message).join('; ');

export function policyStatus(p: RoutingPolicy, problems: RefProblem[], sidecars: PolicySidecars | undefined, now: string): NonNullable<RoutingPolicy['status']> {
  const gen = p.metadata.generation;
  const resolved = problems.length === 0;
  const sc = sidecars ?? { connected: 0, inSync: 0, nacks: [] };
  const conditions: NewCondition[] = [
    // The schema and CEL rules already held at admission; anything reaching us is accepted.
    { type: 'Accepted', status: 'True', reason: 'Valid', message: 'The spec passed schema and cross-field validation.' },
    resolved
      ? { type: 'ResolvedRefs', status: 'True', reason: 'ResolvedRefs', message: 'Every ProviderKey and its Secret resolved.' }
      : { type: 'ResolvedRefs', status: 'False', reason: problems[0]!.reason, message: summarise(problems) },
    !resolved
      ? { type: 'Ready', status: 'False', reason: 'UnresolvedRefs', message: summarise(problems) }
      : sc.nacks.length > 0
        ? { type: 'Ready', status: 'False', reason: 'SidecarRejected', message: `${sc.nacks.length} sidecar(s) rejected the config: ${sc.nacks[0]!.reason}` }
        : { type: 'Ready', status: 'True', reason: 'Ready', message: `${sc.inSync}/${sc.connected} connected sidecars hold the current config.` },
  ];
  return {
    observedGeneration: gen,
    conditions: setConditions(p.status?.conditions, conditions, gen, now),
    models: p.spec.models.map((m) => m.name).join(','),
    sidecars: { connected: sc.connected, inSync: sc.inSync, ...(sc.nacks.length ? { nacks: sc.nacks.slice(0, 16) } : {}) },
  };
}

export function keyStatus(k: ProviderKey, secretProblem: RefProblem | undefined, now: string): NonNullable<ProviderKey['status']> {
  const gen = k.metadata.generation;
  const conditions: NewCondition[] = secretProblem
    ? [
        { type: 'SecretResolved', status: 'False', reason: secretProblem.reason, message: secretProblem.message },
        { type: 'Ready', status: 'False', reason: secretProblem.reason, message: secretProblem.message },
      ]
    : [
        { type: 'SecretResolved', status: 'True', reason: 'Found', message: `Secret ${k.spec.secretRef.name} has key "${k.spec.secretRef.key}".` },
        { type: 'Ready', status: 'True', reason: 'Ready', message: 'The key can be used.' },
      ];
  return { observedGeneration: gen, conditions: setConditions(k.status?.conditions, conditions, gen, now) };
}

/** Equal apart from timestamps: then there is nothing to write. */
export function sameStatus(a: unknown, b: unknown): boolean {
  return JSON.stringify(a, (k, v) => (k === 'lastTransitionTime' ? undefined : v)) === JSON.stringify(b, (k, v) => (k === 'lastTransitionTime' ? undefined : v));
}

// Conditions follow the API conventions; a status that only differs in timestamps is not rewritten.

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { RoutingPolicy } from '../../../operator/objects.ts';
import { policyStatus, sameStatus, setConditions } from '../../../operator/status.ts';

const policy = (status?: RoutingPolicy['status']): RoutingPolicy => ({
  apiVersion: 'triage.dev/v1alpha1', kind: 'RoutingPolicy', metadata: { name: 'p', namespace: 'ns', generation: 3 },
  spec: { selector: {}, models: [{ name: 'a', loadBalancing: 'weighted', deployments: [] }, { name: 'b', loadBalancing: 'weighted', deployments: [] }], router: { type: 'fixed', target: 'a' } } as never,
  ...(status ? { status } : {}),
});

describe('setConditions', () => {
  test('lastTransitionTime moves only when the status changes', () => {
    const first = setConditions(undefined, [{ type: 'Ready', status: 'True', reason: 'Ready', message: 'm' }], 1, 't1');
    const same = setConditions(first, [{ type: 'Ready', status: 'True', reason: 'Ready', message: 'other words' }], 2, 't2');
    assert.equal(same[0]!.lastTransitionTime, 't1');
    assert.equal(same[0]!.observedGeneration, 2);
    const flipped = setConditions(same, [{ type: 'Ready', status: 'False', reason: 'X', message: 'm' }], 2, 't3');
    assert.equal(flipped[0]!.lastTransitionTime, 't3');
  });
});

describe('policyStatus', () => {
  test('resolved refs and no NACKs: Ready with counts and the Models column', () => {
    const s = policyStatus(policy(), [], { connected: 3, inSync: 2, nacks: [] }, 't');
    const by = Object.fromEntries(s.conditions!.map((c) => [c.type, c]));
    assert.equal(by.Ready!.status, 'True');
    assert.equal(by.ResolvedRefs!.status, 'True');
    assert.equal(s.observedGeneration, 3);
    assert.equal(s.models, 'a,b');
    assert.deepEqual(s.sidecars, { connected: 3, inSync: 2 });
  });

  test('an unresolved ref names its reason; a NACK makes Ready False with the sidecar\'s reason', () => {
    const s = policyStatus(policy(), [{ reason: 'SecretNotFound', message: 'Secret x/y does not exist' }], undefined, 't');
    const by = Object.fromEntries(s.conditions!.map((c) => [c.type, c]));
    assert.equal(by.ResolvedRefs!.reason, 'SecretNotFound');
    assert.equal(by.Ready!.reason, 'UnresolvedRefs');
    const n = policyStatus(policy(), [], { connected: 1, inSync: 0, nacks: [{ pod: 'p-1', reason: 'bad' }] }, 't');
    const ready = n.conditions!.find((c) => c.type === 'Ready')!;
    assert.equal(ready.reason, 'SidecarRejected');
    assert.match(ready.message, /bad/);
    assert.deepEqual(n.sidecars!.nacks, [{ pod: 'p-1', reason: 'bad' }]);
  });

  test('recomputing an unchanged status later is the same status', () => {
    const a = policyStatus(policy(), [], { connected: 1, inSync: 1, nacks: [] }, 't1');
    const b = policyStatus(policy(a), [], { connected: 1, inSync: 1, nacks: [] }, 't2');
    assert.ok(sameStatus(a, b));
    assert.ok(!sameStatus(a, policyStatus(policy(a), [], { connected: 2, inSync: 1, nacks: [] }, 't2')));
  });
});

// The operator's config compiler: what a pod may have, and nothing more.

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { validateSidecarConfig } from '../../../api/validate.ts';
import { compileForPod, type World } from '../../../operator/compile.ts';
import type { ProviderKey, RoutingPolicy, SecretData } from '../../../operator/objects.ts';
import { selectorMatches } from '../../../operator/selector.ts';

const policy = (ns: string, name: string, keyRefs: string[], selector: RoutingPolicy['spec']['selector'] = { matchLabels: { app: 'bot' } }): RoutingPolicy => ({
  apiVersion: 'triage.dev/v1alpha1', kind: 'RoutingPolicy', metadata: { namespace: ns, name, generation: 1 },
  spec: {
    selector,
    models: keyRefs.map((k, i) => ({ name: `m${i}`, loadBalancing: 'weighted', deployments: [{ providerKey: k, model: `model-${i}`, weight: 1 }] })),
    router: { type: 'fixed', target: 'm0', input: 'lastUser', onRouterError: 'strong', model: 'builtin' },
    retries: { attempts: 2, backoff: 'exponential', baseDelay: '200ms', maxDelay: '8s' },
    timeouts: { connect: '5s', firstByte: '60s', idle: '60s' },
    cooldown: { duration: '30s', failureRate: 0.5, window: '60s', minRequests: 5 },
  },
});
const key = (ns: string, name: string, allowed?: string[]): ProviderKey => ({
  apiVersion: 'triage.dev/v1alpha1', kind: 'ProviderKey', metadata: { namespace: ns, name },
  spec: { provider: 'openai', secretRef: { name: `${name}-creds`, key: 'apiKey' }, ...(allowed ? { allowedNamespaces: allowed } : {}) },
});
const secret = (ns: string, name: string, value: string): SecretData => ({ namespace: ns, name, data: { apiKey: value } });

function world(policies: RoutingPolicy[], keys: ProviderKey[], secrets: SecretData[]): World {
  return {
    policies,
    keys: new Map(keys.map((k) => [`${k.metadata.namespace}/${k.metadata.name}`, k])),
    secrets: new Map(secrets.map((s) => [`${s.namespace}/${s.name}`, s])),
  };
}

const pod = { namespace: 'team-a', name: 'bot-1', labels: { app: 'bot' } };

describe('compileForPod', () => {
  const base = world(
    [policy('team-a', 'zeta', ['openai']), policy('team-a', 'alpha', ['platform/shared']), policy('team-a', 'other', ['openai'], { matchLabels: { app: 'web' } }), policy('team-b', 'alpha', ['openai'])],
    [key('team-a', 'openai'), key('platform', 'shared', ['team-a']), key('team-a', 'unused')],
    [secret('team-a', 'openai-creds', 'sk-team-a\n'), secret('platform', 'shared-creds', 'sk-shared'), secret('team-a', 'unused-creds', 'sk-unused')],
  );

  test('selects policies by namespace and labels, sorted by name, and only the keys they use', () => {
    const { config, excluded } = compileForPod(pod, base);
    assert.deepEqual(excluded, []);
    assert.deepEqual(config!.policies.map((p) => p.name), ['alpha', 'zeta']);
    assert.deepEqual(config!.providerKeys.map((k) => [k.name, k.apiKey]), [['platform/shared', 'sk-shared'], ['team-a/openai', 'sk-team-a']]);
    assert.equal(config!.policies[1]!.models[0]!.deployments[0]!.providerKey, 'team-a/openai');
    assert.equal((config!.policies[0] as Record<string, unknown>).selector, undefined);
  });

  test('the result is a valid sidecar config with a content version', () => {
    const { config } = compileForPod(pod, base);
    const checked = validateSidecarConfig(structuredClone(config));
    assert.ok(checked.ok, JSON.stringify(checked));
    assert.match(config!.version!, /^sha256:[0-9a-f]{16}$/);
    assert.equal(compileForPod(pod, base).config!.version, config!.version);
    const rotated = world(base.policies as RoutingPolicy[], [...base.keys.values()], [...base.secrets.values()].map((s) => s.name === 'openai-creds' ? secret('team-a', 'openai-creds', 'sk-rotated') : s));
    assert.notEqual(compileForPod(pod, rotated).config!.version, config!.version);
  });

  test('a key in another namespace that does not allow this one excludes the policy', () => {
    const w = world([policy('team-a', 'p', ['platform/shared'])], [key('platform', 'shared', ['team-b'])], [secret('platform', 'shared-creds', 'x')]);
    const { config, excluded } = compileForPod(pod, w);
    assert.equal(config, undefined);
    assert.equal(excluded[0]!.problems[0]!.reason, 'NamespaceNotAllowed');
  });

  test('"*" allows every namespace', () => {
    const w = world([policy('team-a', 'p', ['platform/shared'])], [key('platform', 'shared', ['*'])], [secret('platform', 'shared-creds', 'x')]);
    assert.ok(compileForPod(pod, w).config);
  });

  test('missing keys, Secrets and Secret keys are reported by reason; other policies still serve', () => {
    const w = world(
      [policy('team-a', 'a', ['nokey']), policy('team-a', 'b', ['nosecret']), policy('team-a', 'c', ['badkey']), policy('team-a', 'd', ['openai'])],
      [key('team-a', 'nosecret'), key('team-a', 'badkey'), key('team-a', 'openai')],
      [{ namespace: 'team-a', name: 'badkey-creds', data: { token: 'x' } }, secret('team-a', 'openai-creds', 'sk')],
    );
    const { config, excluded } = compileForPod(pod, w);
    assert.deepEqual(excluded.map((e) => [e.policy, e.problems.map((p) => p.reason)]), [['a', ['ProviderKeyNotFound']], ['b', ['SecretNotFound']], ['c', ['SecretKeyNotFound']]]);
    assert.deepEqual(config!.policies.map((p) => p.name), ['d']);
    for (const e of excluded) for (const p of e.problems) assert.ok(!p.message.includes('sk'), 'no secret value in messages');
  });
});

describe('selectorMatches', () => {
  const labels = { app: 'bot', tier: 'backend' };
  test('matchLabels and every operator', () => {
    assert.ok(selectorMatches({}, labels));
    assert.ok(selectorMatches({ matchLabels: { app: 'bot' } }, labels));
    assert.ok(!selectorMatches({ matchLabels: { app: 'web' } }, labels));
    assert.ok(selectorMatches({ matchExpressions: [{ key: 'tier', operator: 'In', values: ['backend', 'x'] }] }, labels));
    assert.ok(!selectorMatches({ matchExpressions: [{ key: 'tier', operator: 'NotIn', values: ['backend'] }] }, labels));
    assert.ok(selectorMatches({ matchExpressions: [{ key: 'zone', operator: 'NotIn', values: ['a'] }] }, labels));
    assert.ok(selectorMatches({ matchExpressions: [{ key: 'app', operator: 'Exists' }] }, labels));
    assert.ok(!selectorMatches({ matchExpressions: [{ key: 'app', operator: 'DoesNotExist' }] }, labels));
    assert.ok(!selectorMatches({ matchLabels: { app: 'bot' }, matchExpressions: [{ key: 'zone', operator: 'Exists' }] }, labels));
  });
});

// The generated CRDs (crds/) against a real kube-apiserver: they install and become Established, valid
// objects read back with the schema's defaults, and invalid ones are rejected at apply time by kubectl
// with the field and the rule's message -- every CEL rule, plus plain schema errors. Also `kubectl
// explain`, the printer columns, short names and the `triage` category.
//
// Needs the control plane binaries: `make controlplane` (see docs/dev-controlplane.md). Without them the
// suite fails -- it does not skip.

import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { createNamespace, kubectlOK, startControlPlane, type ControlPlane } from '../controlplane/cluster.ts';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const NS = 'crd-test';
const GV = 'triage.dev/v1alpha1';

type Json = any; // fixtures are deliberately loose: many are invalid on purpose

function policy(name: string, mutate: (spec: Json) => void = () => {}): Json {
  const spec: Json = {
    selector: { matchLabels: { app: 'chat' } },
    models: [
      { name: 'strong', deployments: [{ providerKey: 'openai', model: 'gpt-4o' }] },
      { name: 'weak', loadBalancing: 'leastBusy', deployments: [{ providerKey: 'openai', model: 'gpt-4o-mini' }, { providerKey: 'azure', model: 'mini', weight: 3 }] },
    ],
    router: { type: 'classifier', strong: 'strong', weak: 'weak', threshold: 0.6 },
    fallbacks: [{ from: 'strong', to: ['weak'] }],
  };
  mutate(spec);
  return { apiVersion: GV, kind: 'RoutingPolicy', metadata: { name, namespace: NS }, spec };
}

function providerKey(name: string, mutate: (spec: Json) => void = () => {}): Json {
  const spec: Json = { provider: 'openai', secretRef: { name: 'openai-credentials' } };
  mutate(spec);
  return { apiVersion: GV, kind: 'ProviderKey', metadata: { name, namespace: NS }, spec };
}

describe('CRDs on a real kube-apiserver', () => {
  let cp: ControlPlane;
  const apply = (obj: Json) => cp.kubectl(['apply', '-f', '-'], { input: JSON.stringify(obj) });
  const getJSON = async (kind: string, name: string) => JSON.parse(await kubectlOK(cp, ['get', kind, name, '-n', NS, '-o', 'json']));

  before(async () => {
    cp = await startControlPlane(); // throws "... run make controlplane" when the binaries are missing
    console.log(`# control plane ${cp.server} ready in ${cp.startupMs} ms`);
    const r = await cp.kubectl(['apply', '-f', join(ROOT, 'crds')]);
    assert.equal(r.code, 0, `the apiserver rejected the CRDs in crds/:\n${r.stderr}${r.stdout}`);
    assert.doesNotMatch(r.stderr, /warning/i, `kubectl apply -f crds/ printed warnings:\n${r.stderr}`);
    await kubectlOK(cp, ['wait', '--for=condition=Established', '--timeout=60s',
      'crd/routingpolicies.triage.dev', 'crd/providerkeys.triage.dev']);
    await createNamespace(cp, NS);
  }, { timeout: 180_000 });

  after(async () => { await cp?.stop(); });

  it('installs both CRDs as structural, accepted and established', async () => {
    for (const name of ['routingpolicies.triage.dev', 'providerkeys.triage.dev']) {
      const crd = JSON.parse(await kubectlOK(cp, ['get', 'crd', name, '-o', 'json']));
      const cond = Object.fromEntries((crd.status.conditions as Json[]).map((c) => [c.type, c]));
      assert.equal(cond.Established?.status, 'True', name);
      assert.equal(cond.NamesAccepted?.status, 'True', `${name}: ${cond.NamesAccepted?.message}`);
      assert.equal(cond.NonStructuralSchema, undefined, `${name}: ${cond.NonStructuralSchema?.message}`);
    }
  });

  describe('valid objects', () => {
    it('a RoutingPolicy reads back with every default applied', async () => {
      const r = await apply(policy('chat'));
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, /routingpolicy\.triage\.dev\/chat created/);
      const { spec } = await getJSON('routingpolicy', 'chat');
      assert.deepEqual(spec.retries, { attempts: 2, backoff: 'exponential', baseDelay: '200ms', maxDelay: '8s' });
      assert.deepEqual(spec.timeouts, { connect: '5s', firstByte: '60s', idle: '60s' });
      assert.deepEqual(spec.cooldown, { duration: '30s', failureRate: 0.5, window: '60s', minRequests: 5 });
      assert.deepEqual(spec.router, {
        type: 'classifier', strong: 'strong', weak: 'weak', threshold: 0.6,
        model: 'builtin', input: 'lastUser', onRouterError: 'strong',
      });
      assert.equal(spec.models[0].loadBalancing, 'weighted');
      assert.equal(spec.models[1].loadBalancing, 'leastBusy', 'an explicit value is kept');
      assert.equal(spec.models[0].deployments[0].weight, 1);
      assert.deepEqual(spec.models[1].deployments.map((d: Json) => d.weight), [1, 3]);
      assert.deepEqual(spec.fallbacks[0].when, ['rateLimited', 'serverError', 'timeout', 'connection']);
    });

    it('fixed and random routers, explicit retries, and a selector with expressions are accepted', async () => {
      const fixed = policy('fixed', (s) => {
        s.router = { type: 'fixed', target: 'weak' };
        s.selector = { matchExpressions: [{ key: 'tier', operator: 'In', values: ['free', 'trial'] }] };
        s.retries = { attempts: 0, backoff: 'constant', baseDelay: '1m30s', maxDelay: '2.5s' };
        delete s.fallbacks;
      });
      const random = policy('random', (s) => { s.router = { type: 'random', strong: 'strong', weak: 'weak', strongFraction: 0.2, input: 'conversation' }; });
      for (const obj of [fixed, random]) {
        const r = await apply(obj);
        assert.equal(r.code, 0, `${obj.metadata.name}: ${r.stderr}`);
      }
      const { spec } = await getJSON('rp', 'fixed');
      assert.deepEqual(spec.retries, { attempts: 0, backoff: 'constant', baseDelay: '1m30s', maxDelay: '2.5s' });
      assert.equal(spec.router.target, 'weak');
    });

    it('a ProviderKey reads back with secretRef.key defaulted; azure-openai with baseURL is accepted', async () => {
      let r = await apply(providerKey('openai'));
      assert.equal(r.code, 0, r.stderr);
      const { spec } = await getJSON('providerkey', 'openai');
      assert.deepEqual(spec, { provider: 'openai', secretRef: { name: 'openai-credentials', key: 'apiKey' } });
      r = await apply(providerKey('azure', (s) => {
        Object.assign(s, { provider: 'azure-openai', baseURL: 'https://example.openai.azure.com', apiVersion: '2024-10-21', headers: { 'x-team': 'search' }, allowedNamespaces: ['*'] });
        s.secretRef.key = 'key1';
      }));
      assert.equal(r.code, 0, r.stderr);
    });
  });

  describe('invalid objects are rejected at apply time, naming the field and the rule', () => {
    // [case, object, field path in the error, message]
    const cel: [string, Json, string, string][] = [
      ['router.target not in models', policy('bad-target', (s) => { s.router = { type: 'fixed', target: 'medium' }; }),
        'spec.router.target', 'router.target must name a model in models'],
      ['router.strong not in models', policy('bad-strong', (s) => { s.router.strong = 'gpt5'; }),
        'spec.router.strong', 'router.strong must name a model in models'],
      ['router.weak not in models', policy('bad-weak', (s) => { s.router.weak = 'tiny'; }),
        'spec.router.weak', 'router.weak must name a model in models'],
      ['fixed router without target', policy('fixed-no-target', (s) => { s.router = { type: 'fixed' }; }),
        'spec.router.target', 'a fixed router needs target'],
      ['classifier without strong and weak', policy('no-strong', (s) => { s.router = { type: 'classifier', threshold: 0.5 }; }),
        'spec.router.strong', 'classifier and random routers need strong and weak'],
      ['random router without weak', policy('random-no-weak', (s) => { s.router = { type: 'random', strong: 'strong', strongFraction: 0.3 }; }),
        'spec.router.strong', 'classifier and random routers need strong and weak'],
      ['both threshold and strongFraction', policy('both', (s) => { s.router.strongFraction = 0.3; }),
        'spec.router.threshold', 'set exactly one of threshold or strongFraction'],
      ['neither threshold nor strongFraction', policy('neither', (s) => { delete s.router.threshold; }),
        'spec.router.threshold', 'set exactly one of threshold or strongFraction'],
      ['fallback from an unknown model', policy('bad-fallback-from', (s) => { s.fallbacks = [{ from: 'gpt5', to: ['weak'] }]; }),
        'spec.fallbacks', 'fallbacks must name models in models'],
      ['fallback to an unknown model', policy('bad-fallback-to', (s) => { s.fallbacks = [{ from: 'strong', to: ['weak', 'medium'] }]; }),
        'spec.fallbacks', 'fallbacks must name models in models'],
      ['duplicate model names', policy('dup', (s) => { s.models.push({ name: 'weak', deployments: [{ providerKey: 'openai', model: 'o1' }] }); }),
        'spec.models', 'model names must be unique'],
      ['azure-openai without baseURL', providerKey('azure-no-url', (s) => { s.provider = 'azure-openai'; }),
        'spec.baseURL', 'baseURL is required for azure-openai and openai-compatible providers'],
      ['openai-compatible without baseURL', providerKey('compat-no-url', (s) => { s.provider = 'openai-compatible'; }),
        'spec.baseURL', 'baseURL is required for azure-openai and openai-compatible providers'],
    ];
    const schema: [string, Json, string, string][] = [
      ['bad enum (router.type)', policy('bad-enum', (s) => { s.router.type = 'smart'; }),
        'spec.router.type', 'Unsupported value: "smart"'],
      ['bad enum (provider)', providerKey('bad-provider', (s) => { s.provider = 'openai-azure'; }),
        'spec.provider', 'Unsupported value: "openai-azure"'],
      ['bad enum in a list (fallbacks[].when)', policy('bad-when', (s) => { s.fallbacks[0].when = ['rateLimited', 'overloaded']; }),
        'spec.fallbacks[0].when[1]', 'Unsupported value: "overloaded"'],
      ['bad duration pattern', policy('bad-duration', (s) => { s.retries = { baseDelay: '2 seconds' }; }),
        'spec.retries.baseDelay', 'should match'],
      ['bad duration pattern (unitless)', policy('bad-duration2', (s) => { s.timeouts = { idle: '60' }; }),
        'spec.timeouts.idle', 'should match'],
      ['wrong type (weight as a string)', policy('bad-type', (s) => { s.models[0].deployments[0].weight = 'heavy'; }),
        'spec.models[0].deployments[0].weight', 'must be of type integer'],
      ['wrong type (threshold as a string)', policy('bad-type2', (s) => { s.router.threshold = 'high'; }),
        'spec.router.threshold', 'must be of type number'],
      ['out of range (retries.attempts)', policy('bad-range', (s) => { s.retries = { attempts: 9 }; }),
        'spec.retries.attempts', 'should be less than or equal to 5'],
      ['bad model name', policy('bad-name', (s) => { s.models[0].name = 'Strong Model'; s.router.strong = 'Strong Model'; }),
        'spec.models[0].name', 'should match'],
      ['missing required (RoutingPolicy models)', policy('no-models', (s) => { delete s.models; delete s.fallbacks; s.router = { type: 'fixed', target: 'x' }; }),
        'spec.models', 'Required value'],
      ['missing required (ProviderKey secretRef)', providerKey('no-secret', (s) => { delete s.secretRef; }),
        'spec.secretRef', 'Required value'],
      ['missing required (deployment model)', policy('no-model', (s) => { delete s.models[0].deployments[0].model; }),
        'spec.models[0].deployments[0].model', 'Required value'],
      ['empty models list', policy('empty-models', (s) => { s.models = []; delete s.fallbacks; s.router = { type: 'fixed', target: 'x' }; }),
        'spec.models', 'should have at least 1 items'],
      ['missing spec', { apiVersion: GV, kind: 'RoutingPolicy', metadata: { name: 'no-spec', namespace: NS } },
        'spec', 'Required value'],
    ];

    for (const [name, obj, field, message] of [...cel, ...schema]) {
      it(name, async () => {
        const r = await apply(obj);
        assert.notEqual(r.code, 0, `accepted: ${r.stdout}`);
        assert.match(r.stderr, new RegExp(`The ${obj.kind} "${obj.metadata.name}" is invalid`), r.stderr);
        assert.ok(r.stderr.includes(`${field}: `), `error does not name ${field}:\n${r.stderr}`);
        assert.ok(r.stderr.includes(message), `error does not say "${message}":\n${r.stderr}`);
        const get = await cp.kubectl(['get', obj.kind, obj.metadata.name, '-n', NS]);
        assert.match(get.stderr, /NotFound/, 'the invalid object was not stored');
      });
    }

    it('an unknown field (a typo) is rejected by strict field validation', async () => {
      const r = await apply(policy('typo', (s) => { s.router.treshold = 0.5; }));
      assert.notEqual(r.code, 0, r.stdout);
      assert.match(r.stderr, /unknown field "spec\.router\.treshold"/, r.stderr);
    });

    it('an update that breaks a rule is rejected and the stored object is unchanged', async () => {
      assert.equal((await apply(policy('update-me'))).code, 0);
      const r = await apply(policy('update-me', (s) => { s.router.weak = 'medium'; }));
      assert.notEqual(r.code, 0, r.stdout);
      assert.match(r.stderr, /spec\.router\.weak: .*router\.weak must name a model in models/, r.stderr);
      assert.equal((await getJSON('rp', 'update-me')).spec.router.weak, 'weak');
    });
  });

  describe('kubectl ergonomics', () => {
    it('kubectl explain routingpolicy.spec.router shows the descriptions', async () => {
      // The OpenAPI document is republished shortly after a CRD is established: retry briefly.
      let out = '';
      for (let i = 0; i < 50; i++) {
        const r = await cp.kubectl(['explain', 'routingpolicy.spec.router']);
        out = r.stdout + r.stderr;
        if (r.code === 0 && out.includes('onRouterError')) break;
        await new Promise((res) => setTimeout(res, 200));
      }
      for (const text of [
        'How the policy picks a model for requests that name the policy.',
        'classifier scores each prompt; random picks by strongFraction; fixed always',
        'Route to strong when score >= threshold.',
        'Where requests go when the classifier cannot score.',
        'strongFraction', 'onRouterError', 'threshold',
      ]) assert.ok(out.replace(/\s+/g, ' ').includes(text), `explain lacks "${text}":\n${out}`);
      const pk = await kubectlOK(cp, ['explain', 'providerkey.spec.baseURL']);
      assert.ok(pk.replace(/\s+/g, ' ').includes('Required for azure-openai'), pk);
    });

    it('kubectl get routingpolicies shows the printer columns', async () => {
      // Status is written through the status subresource, as the operator does; Models comes from status.
      const status = {
        status: {
          observedGeneration: 1,
          models: 'strong,weak',
          conditions: [{ type: 'Ready', status: 'True', reason: 'Compiled', message: 'pushed to 3 sidecars', lastTransitionTime: '2025-01-01T00:00:00Z' }],
          sidecars: { connected: 3, inSync: 3 },
        },
      };
      await kubectlOK(cp, ['patch', 'routingpolicy', 'chat', '-n', NS, '--subresource=status', '--type=merge', '-p', JSON.stringify(status)]);
      const out = await kubectlOK(cp, ['get', 'routingpolicies', '-n', NS]);
      const lines = out.trimEnd().split('\n');
      assert.deepEqual(lines[0]!.split(/\s+/), ['NAME', 'READY', 'ROUTER', 'MODELS', 'SIDECARS', 'AGE'], out);
      const chat = lines.find((l) => l.startsWith('chat '))?.split(/\s+/);
      assert.ok(chat, out);
      assert.deepEqual(chat.slice(0, 5), ['chat', 'True', 'classifier', 'strong,weak', '3'], out);
      assert.match(lines.find((l) => l.startsWith('fixed ')) ?? '', /^fixed\s+fixed\s+\d+s$/, `no status: Ready, Models and Sidecars are empty\n${out}`);

      const pk = await kubectlOK(cp, ['get', 'providerkeys', '-n', NS]);
      assert.deepEqual(pk.split('\n')[0]!.split(/\s+/), ['NAME', 'READY', 'PROVIDER', 'AGE'], pk);
      assert.match(pk, /^azure\s+azure-openai\s/m, pk);
    });

    it('short names rp, rpol and pk and the triage category work', async () => {
      for (const [short, name] of [['rp', 'chat'], ['rpol', 'chat'], ['pk', 'openai']] as const) {
        const out = await kubectlOK(cp, ['get', short, '-n', NS, '-o', 'name']);
        assert.match(out, new RegExp(`\\.triage\\.dev/${name}$`, 'm'), `${short}: ${out}`);
      }
      const all = await kubectlOK(cp, ['get', 'triage', '-n', NS, '-o', 'name']);
      assert.match(all, /^routingpolicy\.triage\.dev\/chat$/m, all);
      assert.match(all, /^providerkey\.triage\.dev\/openai$/m, all);
    });

    it('kubectl get crd shows the group and version', async () => {
      const out = await kubectlOK(cp, ['api-resources', '--api-group=triage.dev', '-o', 'wide']);
      assert.match(out, /^routingpolicies\s+rp,rpol\s+triage\.dev\/v1alpha1\s+true\s+RoutingPolicy\s.*triage/m, out);
      assert.match(out, /^providerkeys\s+pk\s+triage\.dev\/v1alpha1\s+true\s+ProviderKey\s.*triage/m, out);
    });
  });
});

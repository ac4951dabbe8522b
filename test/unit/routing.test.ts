// sidecar/routing: what a request's `model` names (resolveModel) and which target answers (decide).

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';

import type { Router } from '../../api/routingPolicy.ts';
import { parseConfigText } from '../../sidecar/config/load.ts';
import type { CompiledConfig } from '../../sidecar/config/compile.ts';
import { ProxyError } from '../../sidecar/http/errors.ts';
import { decide, thresholdOf } from '../../sidecar/routing/decide.ts';
import { knownNames, resolveModel } from '../../sidecar/routing/resolve.ts';

const YAML = `
providerKeys:
  - { name: oa, provider: openai, apiKey: k }
policies:
  - name: chat
    models:
      - { name: big, deployments: [{ providerKey: oa, model: gpt-4o }] }
      - { name: small, deployments: [{ providerKey: oa, model: gpt-4o-mini }] }
    router: { type: classifier, strong: big, weak: small, threshold: 0.6 }
  - name: cheap
    models:
      - { name: small, deployments: [{ providerKey: oa, model: gpt-4.1-nano }] }
      - { name: tiny, deployments: [{ providerKey: oa, model: gpt-4.1-nano }] }
    router: { type: fixed, target: tiny }
`;

function config(): CompiledConfig {
  const r = parseConfigText(YAML, {});
  assert.ok(r.ok, JSON.stringify(r));
  return r.config;
}
const cfg = config();

describe('resolveModel', () => {
  it('"auto" is the default (first) policy', () => {
    const r = resolveModel(cfg, 'auto');
    assert.equal(r.kind, 'policy');
    assert.equal(r.policy.name, 'chat');
  });

  it('a policy name resolves to that policy', () => {
    const r = resolveModel(cfg, 'cheap');
    assert.deepEqual([r.kind, r.policy.name], ['policy', 'cheap']);
  });

  it('"policy/model" picks that policy\'s model, even when another policy owns the bare name', () => {
    const r = resolveModel(cfg, 'cheap/small');
    assert.equal(r.kind, 'model');
    assert.equal(r.policy.name, 'cheap');
    assert.equal((r as { model: string }).model, 'small');
    assert.equal(r.policy.models.get('small')!.deployments[0]!.target.model, 'gpt-4.1-nano');
  });

  it('a bare model name resolves to the first policy defining it', () => {
    const small = resolveModel(cfg, 'small');
    assert.deepEqual([small.kind, small.policy.name, (small as { model: string }).model], ['model', 'chat', 'small']);
    const tiny = resolveModel(cfg, 'tiny');
    assert.deepEqual([tiny.kind, tiny.policy.name, (tiny as { model: string }).model], ['model', 'cheap', 'tiny']);
  });

  function notFound(name: string): ProxyError {
    let caught: unknown;
    try {
      resolveModel(cfg, name);
    } catch (err) {
      caught = err;
    }
    assert.ok(caught instanceof ProxyError, `expected a ProxyError for ${JSON.stringify(name)}, got ${String(caught)}`);
    return caught;
  }

  for (const name of ['gpt-4o', 'unknown', 'chat/tiny', 'chat/unknown', 'nope/small', '/small', 'chat/', '', 'Auto', 'CHAT']) {
    it(`${JSON.stringify(name)} → 404 model_not_found`, () => {
      const err = notFound(name);
      assert.equal(err.status, 404);
      assert.equal(err.code, 'model_not_found');
      assert.equal(err.type, 'invalid_request_error');
      assert.equal(err.param, 'model');
      assert.ok(err.message.includes(`"${name}"`), err.message);
    });
  }

  it('the 404 lists every usable name', () => {
    const err = notFound('gpt-5');
    for (const n of ['auto', 'chat', 'cheap', 'big', 'small', 'tiny']) assert.ok(err.message.includes(n), `${n} missing in: ${err.message}`);
    assert.ok(err.message.endsWith('auto, chat, cheap, big, small, tiny.'), err.message);
  });

  it('knownNames: auto, policies, then models (each model once)', () => {
    assert.deepEqual(knownNames(cfg), ['auto', 'chat', 'cheap', 'big', 'small', 'tiny']);
  });
});

const router = (r: Partial<Router>): Router =>
  ({ type: 'classifier', strong: 'S', weak: 'W', input: 'lastUser', onRouterError: 'strong', model: 'builtin', ...r }) as Router;
const never = () => assert.fail('random must not be drawn');

describe('thresholdOf', () => {
  it('is the threshold when set', () => assert.equal(thresholdOf(router({ threshold: 0.42 })), 0.42));
  it('is 1 − strongFraction otherwise', () => {
    assert.equal(thresholdOf(router({ strongFraction: 0.25 })), 0.75);
    assert.equal(thresholdOf(router({ strongFraction: 0 })), 1);
    assert.equal(thresholdOf(router({ strongFraction: 1 })), 0);
  });
  it('a threshold of 0 is used (not treated as absent)', () => assert.equal(thresholdOf(router({ threshold: 0, strongFraction: 0.9 })), 0));
  it('defaults to 0.5 with neither (validation forbids it, but decide stays total)', () => assert.equal(thresholdOf(router({})), 0.5));
});

describe('decide', () => {
  it('fixed: always the target, whatever the score, and no random draw', () => {
    const r = router({ type: 'fixed', target: 'T' });
    assert.deepEqual(decide(r, { score: 0.99 }, never), { route: 'fixed', model: 'T' });
    assert.deepEqual(decide(r, { error: 'down' }, never), { route: 'fixed', model: 'T' });
    assert.deepEqual(decide(r, undefined, never), { route: 'fixed', model: 'T' });
  });

  it('classifier: score ≥ threshold → strong (the boundary counts), below → weak', () => {
    const r = router({ threshold: 0.6 });
    assert.deepEqual(decide(r, { score: 0.6 }, never), { route: 'strong', model: 'S', score: 0.6, threshold: 0.6 });
    assert.deepEqual(decide(r, { score: 0.95 }, never), { route: 'strong', model: 'S', score: 0.95, threshold: 0.6 });
    assert.deepEqual(decide(r, { score: 0.5999 }, never), { route: 'weak', model: 'W', score: 0.5999, threshold: 0.6 });
    assert.deepEqual(decide(r, { score: 0 }, never), { route: 'weak', model: 'W', score: 0, threshold: 0.6 });
  });

  it('classifier with strongFraction uses 1 − strongFraction as the threshold', () => {
    const r = router({ strongFraction: 0.2 });
    assert.equal(decide(r, { score: 0.81 }, never).route, 'strong');
    assert.equal(decide(r, { score: 0.79 }, never).route, 'weak');
    assert.equal(decide(r, { score: 0.5 }, never).threshold, 0.8);
  });

  it('classifier without a score → onRouterError, with routerError set', () => {
    assert.deepEqual(decide(router({ threshold: 0.5 }), undefined, never),
      { route: 'strong', model: 'S', threshold: 0.5, routerError: 'classifier unavailable' });
    assert.deepEqual(decide(router({ threshold: 0.5, onRouterError: 'weak' }), { error: 'onnx session failed' }, never),
      { route: 'weak', model: 'W', threshold: 0.5, routerError: 'onnx session failed' });
  });

  it('classifier error decisions carry no score', () => {
    const d = decide(router({ threshold: 0.5 }), { error: 'x' }, never);
    assert.equal('score' in d, false);
  });

  it('random: draws once and compares with 1 − strongFraction, ignoring any classifier score', () => {
    const r = router({ type: 'random', strongFraction: 0.3 });
    assert.deepEqual(decide(r, { score: 0 }, () => 0.7), { route: 'strong', model: 'S', score: 0.7, threshold: 0.7 });
    assert.deepEqual(decide(r, { score: 1 }, () => 0.69), { route: 'weak', model: 'W', score: 0.69, threshold: 0.7 });
    assert.equal(decide(r, { error: 'down' }, () => 0.9).routerError, undefined, 'random never reports a router error');
  });

  it('random with strongFraction 0 never picks strong, with 1 always does', () => {
    fc.assert(fc.property(fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }), (u) => {
      assert.equal(decide(router({ type: 'random', strongFraction: 0 }), undefined, () => u).route, 'weak');
      assert.equal(decide(router({ type: 'random', strongFraction: 1 }), undefined, () => u).route, 'strong');
    }));
  });

  it('property: over a uniform grid of draws the random router sends exactly ≈ strongFraction to strong', () => {
    fc.assert(fc.property(fc.integer({ min: 0, max: 100 }), (pct) => {
      const f = pct / 100;
      const r = router({ type: 'random', strongFraction: f });
      const N = 1000;
      let strong = 0;
      for (let k = 0; k < N; k++) if (decide(r, undefined, () => (k + 0.5) / N).route === 'strong') strong++;
      assert.ok(Math.abs(strong - f * N) <= 1, `strongFraction ${f}: ${strong}/${N} strong`);
    }));
  });

  it('property: classifier route is strong exactly when score ≥ threshold, and the model matches the route', () => {
    fc.assert(fc.property(fc.double({ min: 0, max: 1, noNaN: true }), fc.double({ min: 0, max: 1, noNaN: true }), (score, threshold) => {
      const d = decide(router({ threshold }), { score }, never);
      assert.equal(d.route, score >= threshold ? 'strong' : 'weak');
      assert.equal(d.model, d.route === 'strong' ? 'S' : 'W');
    }));
  });
});

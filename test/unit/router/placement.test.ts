// sidecar/router/placement.ts: the contract's rules for turning a model name into weights over the table.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { createPlacer, sparse, type Placement } from '../../../sidecar/router/placement.ts';
import { golden, manifest } from './helpers.ts';

const placer = createPlacer({ models: manifest.models, anchors: manifest.placement.anchors, ratings: manifest.placement.ratings });
const K = manifest.models.length;
const ok = (r: ReturnType<typeof placer.place>): Placement => {
  assert.ok(!('error' in r), 'error' in r ? r.error : '');
  return r;
};
const idx = (name: string) => manifest.models.find((m) => m.name === name)!.index;

describe('placement', () => {
  it('a model in the table is one-hot at its index (case-insensitive)', () => {
    const p = ok(placer.place('GPT-4-1106-Preview'));
    assert.equal(p.how, 'table');
    assert.deepEqual(Array.from(p.weights), golden.strong_weights);
    assert.deepEqual(Array.from(ok(placer.place(golden.weak)).weights), golden.weak_weights);
    assert.equal(ok(placer.place('claude-1')).how, 'table'); // in the table, unrated: still one-hot
  });

  it('a rated model sits between its adjacent anchors: the golden placed_weak (0.367 / 0.633)', () => {
    const p = ok(placer.place(golden.placed_weak.model));
    assert.equal(p.how, 'placed');
    assert.equal(p.rating, 21.34);
    golden.placed_weak.weights.forEach((w, i) => assert.ok(Math.abs(p.weights[i]! - w) < 1e-6, `weight ${i}: ${p.weights[i]} vs ${w}`));
    assert.ok(Math.abs(p.weights[idx('gpt-3.5-turbo-1106')]! - 0.3666667) < 1e-6);
    assert.ok(Math.abs(p.weights[idx('claude-2.1')]! - 0.6333333) < 1e-6);
  });

  it('clamps outside the anchor range (no extrapolation)', () => {
    assert.deepEqual(ok(placer.place('gpt-4o-2024-05-13')).parts, [{ name: 'gpt-4-1106-preview', weight: 1 }]); // 79.21 > 77.96
    assert.deepEqual(ok(placer.place('gemma-2b-it')).parts, [{ name: 'vicuna-33b-v1.3', weight: 1 }]); // 3.0 < 8.63
  });

  it('a rating equal to an anchor\'s puts all weight on it; an explicit rating wins over the leaderboard', () => {
    assert.deepEqual(ok(placer.place('some-model', 50)).parts, [{ name: 'gpt-4-0314', weight: 1 }]);
    assert.deepEqual(ok(placer.place('gpt-4-0125-preview')).parts, [{ name: 'gpt-4-1106-preview', weight: 1 }]);
    assert.deepEqual(ok(placer.place('llama-3.1-8b-instruct', 8)).parts, [{ name: 'vicuna-33b-v1.3', weight: 1 }]);
  });

  it('anchors with equal ratings share their weight equally', () => {
    const models = ['a', 'b', 'c', 'd'].map((name, index) => ({ name, index }));
    const p = createPlacer({ models, anchors: { a: 10, b: 20, c: 20, d: 30 }, ratings: {} });
    assert.deepEqual(Array.from(ok(p.place('x', 20)).weights), [0, 0.5, 0.5, 0]);
    const w = Array.from(ok(p.place('x', 15)).weights);
    assert.deepEqual(w.map((v) => +v.toFixed(6)), [0.5, 0.25, 0.25, 0]);
    assert.deepEqual(Array.from(ok(p.place('x', 40)).weights), [0, 0, 0, 1]);
  });

  it('unknown and unrated → an error naming the model (and similar rated ids)', () => {
    const r = placer.place('gpt-4o');
    assert.ok('error' in r);
    assert.match(r.error, /"gpt-4o"/);
    assert.match(r.error, /gpt-4o-2024-05-13/);
    const r2 = placer.place('claude-3-5-haiku-latest');
    assert.ok('error' in r2 && r2.error.includes('"claude-3-5-haiku-latest"'));
    assert.ok('error' in placer.place('x', Number.NaN));
  });

  it('weights always sum to 1 and interpolate monotonically in the rating (property)', () => {
    fc.assert(fc.property(fc.double({ min: -10, max: 120, noNaN: true }), fc.double({ min: -10, max: 120, noNaN: true }), (r1, r2) => {
      const a = ok(placer.place('m', Math.min(r1, r2)));
      const b = ok(placer.place('m', Math.max(r1, r2)));
      for (const p of [a, b]) assert.ok(Math.abs(p.weights.reduce((s, x) => s + x, 0) - 1) < 1e-6);
      // expected rating of the mixture (over anchors) is monotone in the input rating
      const er = (p: Placement) => p.parts.reduce((s, x) => s + x.weight * manifest.placement.anchors[x.name]!, 0);
      assert.ok(er(a) <= er(b) + 1e-4);
    }));
    assert.equal(placer.K, K);
  });

  it('sparse() lists the non-zero weights', () => {
    assert.deepEqual(sparse(Float32Array.from([0, 0.5, 0, 0.5])), [1, 0.5, 3, 0.5]);
  });

  it('a manifest anchor outside the table is an error at load', () => {
    assert.throws(() => createPlacer({ models: [{ name: 'a', index: 0 }], anchors: { b: 1 }, ratings: {} }), /"b" is not in the model table/);
  });
});

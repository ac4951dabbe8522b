// sidecar/router/calibration.ts: reference interpolation, the rolling window, the handover, and that the strong
// share holds on the pod's own traffic even when it is distributed unlike the reference set.

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { Calibrator, QuantileTable, ReferenceSet, RollingWindow, parseReferenceScores, sortedQuantile, thresholdForShare } from '../../../sidecar/router/calibration.ts';
import { createPlacer } from '../../../sidecar/router/placement.ts';
import { quantile } from '../../../sidecar/router/metrics.ts';
import { ARTIFACTS, manifest } from './helpers.ts';

const ref = parseReferenceScores(JSON.parse(readFileSync(join(ARTIFACTS, 'reference_scores.json'), 'utf8')));
const names = manifest.models.map((m) => m.name);
const refSet = new ReferenceSet(ref, names);
const placer = createPlacer({ models: manifest.models, anchors: manifest.placement.anchors, ratings: manifest.placement.ratings });
const w = (name: string) => { const p = placer.place(name); assert.ok(!('error' in p)); return p.weights; };

/** A seeded uniform source for reproducible "traffic". */
function rng(seed: number) {
  let s = seed >>> 0;
  return () => { s = (Math.imul(s, 1664525) + 1013904223) >>> 0; return s / 4294967296; };
}

describe('reference quantiles', () => {
  const table = new QuantileTable(ref.quantile_levels, ref.default_pair!.quantiles);

  it('a listed level gives its value; between levels the value is linear; outside, clamped', () => {
    const q = ref.default_pair!.quantiles;
    assert.equal(table.at(0.7), q[70]);
    assert.ok(Math.abs(table.at(0.705) - (q[70]! + q[71]!) / 2) < 1e-12);
    assert.ok(Math.abs(table.at(0.7025) - (0.75 * q[70]! + 0.25 * q[71]!)) < 1e-12);
    assert.equal(table.at(-1), q[0]);
    assert.equal(table.at(2), q[100]);
  });

  it('threshold for share p is the (1 − p) level; p = 0 never strong, p = 1 always', () => {
    assert.equal(thresholdForShare(0.3, (l) => table.at(l)), table.at(0.7));
    assert.equal(thresholdForShare(0, (l) => table.at(l)), Number.POSITIVE_INFINITY);
    assert.equal(thresholdForShare(1, (l) => table.at(l)), 0);
  });

  it('the default pair and anchor pairs are exact; the reverse pair is 1 − score', () => {
    const d = refSet.forPair(w(manifest.default_pair.strong), w(manifest.default_pair.weak));
    assert.equal(d?.how, 'exact');
    assert.deepEqual(d!.table.values, ref.default_pair!.quantiles);
    const key = 'gpt-4-0314|claude-2.1';
    const a = refSet.forPair(w('gpt-4-0314'), w('claude-2.1'))!;
    assert.deepEqual(a.table.values, ref.anchor_pairs![key]);
    const rev = refSet.forPair(w('claude-2.1'), w('gpt-4-0314'))!;
    assert.ok(Math.abs(rev.table.at(0.3) - (1 - a.table.at(0.7))) < 1e-12);
  });

  it('a placed pair combines the anchor pairs in logit space (within its anchors\' range)', () => {
    const m = refSet.forPair(w('gpt-4-1106-preview'), w('llama-3.1-8b-instruct'))!;
    assert.equal(m.how, 'mixture');
    const lo = refSet.forPair(w('gpt-4-1106-preview'), w('claude-2.1'))!.table;
    const hi = refSet.forPair(w('gpt-4-1106-preview'), w('gpt-3.5-turbo-1106'))!.table;
    for (const l of [0, 0.3, 0.5, 0.9, 1]) {
      const [a, b] = [lo.at(l), hi.at(l)].sort((x, y) => x - y);
      assert.ok(m.table.at(l) >= a! - 1e-9 && m.table.at(l) <= b! + 1e-9, `level ${l}`);
    }
  });

  it('no reference for a table model that is no anchor, nor for strong ≡ weak', () => {
    assert.equal(refSet.forPair(w('claude-1'), w('gpt-4-0314')), null);
    assert.equal(refSet.forPair(w('gpt-4-0314'), w('gpt-4-0314')), null);
  });

  it('rejects a malformed reference file', () => {
    assert.throws(() => parseReferenceScores({}), /quantile_levels/);
    assert.throws(() => parseReferenceScores({ quantile_levels: [0, 1], default_pair: { strong: 'a', weak: 'b', quantiles: [0.6, 0.5] } }), /must not decrease/);
  });
});

describe('RollingWindow', () => {
  it('its quantile equals numpy\'s over the last N values (property)', () => {
    fc.assert(fc.property(fc.integer({ min: 1, max: 50 }), fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { minLength: 1, maxLength: 300 }), fc.double({ min: 0, max: 1, noNaN: true }),
      (cap, xs, level) => {
        const win = new RollingWindow(cap);
        for (const x of xs) win.push(x);
        const last = xs.slice(-cap);
        assert.equal(win.size, last.length);
        assert.equal(win.quantile(level), quantile(last, level));
      }));
  });

  it('sortedQuantile is numpy\'s linear method', () => {
    assert.equal(sortedQuantile([1, 2, 3, 4], 4, 0.5), 2.5);
    assert.equal(sortedQuantile([1, 2, 3, 4], 4, 1), 4);
    assert.ok(Number.isNaN(sortedQuantile([], 0, 0.5)));
  });
});

describe('Calibrator', () => {
  const table = new QuantileTable(ref.quantile_levels, ref.default_pair!.quantiles);

  it('starts from the reference, hands over to the pod\'s own window at minScores', () => {
    const c = new Calibrator({ window: 2000, minScores: 200 });
    const first = c.threshold('k', 0.3, table);
    assert.deepEqual([first.source, first.threshold], ['reference', table.at(0.7)]);
    for (let i = 0; i < 199; i++) c.observe('k', 0.9);
    assert.equal(c.threshold('k', 0.3, table).source, 'reference');
    c.observe('k', 0.9);
    const after = c.threshold('k', 0.3, table);
    assert.deepEqual([after.source, after.threshold, after.seen], ['traffic', 0.9, 200]);
    assert.equal(c.threshold('other', 0.3, table).source, 'reference'); // keys are independent
  });

  it('without a reference: the own scores from the first one on; before any, everything strong', () => {
    const c = new Calibrator();
    assert.deepEqual(c.threshold('k', 0.2, null), { threshold: 0, source: 'none', seen: 0, inWindow: 0 });
    c.observe('k', 0.4);
    assert.equal(c.threshold('k', 0.2, null).threshold, 0.4);
  });

  it('the strong share converges to p on traffic unlike the reference (property: shifted distributions)', () => {
    fc.assert(fc.property(fc.double({ min: 0.05, max: 0.95, noNaN: true }), fc.double({ min: -0.1, max: 0.1, noNaN: true }), fc.double({ min: 0.2, max: 3, noNaN: true }), fc.integer(),
      (p, shift, spread, seed) => {
        const c = new Calibrator({ window: 2000, minScores: 200 });
        const r = rng(seed);
        // the pod's traffic: the reference distribution, shifted and widened
        const draw = () => { const base = table.at(r()); return 0.58 + (base - 0.58) * spread + shift; };
        let strong = 0;
        const N = 6000;
        for (let i = 0; i < N; i++) {
          const s = draw();
          const t = c.threshold('k', p, table).threshold;
          if (i >= 2000 && s >= t) strong++;
          c.observe('k', s);
        }
        const share = strong / (N - 2000);
        // sampling error of a 2000-score window: sd ≈ √(p(1−p)/2000) ≤ 0.011, plus the share's own noise over 4000
        assert.ok(Math.abs(share - p) < 0.045, `p=${p} share=${share}`);
      }), { numRuns: 25 });
  });

  it('the reference alone would miss the share on shifted traffic (why the handover exists)', () => {
    const r = rng(1);
    const t = thresholdForShare(0.3, (l) => table.at(l));
    let strong = 0;
    for (let i = 0; i < 4000; i++) if (table.at(r()) + 0.003 >= t) strong++;
    assert.ok(strong / 4000 > 0.5);
  });

  it('retain() drops keys of removed policies', () => {
    const c = new Calibrator();
    c.observe('a', 0.5);
    c.observe('b', 0.5);
    c.retain((k) => k === 'a');
    assert.deepEqual(c.keys(), ['a']);
  });
});

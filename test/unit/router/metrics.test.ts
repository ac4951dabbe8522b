// sidecar/router/metrics.ts agrees with the Python pipeline's router/triage_router/metrics.py (RouteLLM's
// definitions) on fixed examples: fixtures/metrics_example.json was written by fixtures/make_fixtures.py.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { interp, oracleMetrics, pairwiseSum, quantile, randomMetrics, routellmMetrics, trapz } from '../../../sidecar/router/metrics.ts';
import { fixture } from './helpers.ts';

interface Example {
  scores: number[]; q_strong: number[]; q_weak: number[];
  metrics: Record<string, number> & { curve: { strong_fraction: number[]; pgr: number[] } };
  oracle: Record<string, number>;
  random: Record<string, number>;
}
const { examples } = fixture<{ examples: Example[] }>('metrics_example.json');

describe('RouteLLM metrics (TS ⇔ Python)', () => {
  for (const e of examples) {
    it(`n = ${e.scores.length}: APGR, 10-pt APGR, CPT(20/50/80), fine metrics equal the Python's`, () => {
      const m = routellmMetrics(e.scores, e.q_strong, e.q_weak);
      for (const k of ['apgr', 'apgr_10pt', 'cpt20', 'cpt50', 'cpt80', 'apgr_fine', 'cpt50_fine', 'cpt80_fine', 'q_strong', 'q_weak', 'n']) {
        assert.ok(Math.abs((m as unknown as Record<string, number>)[k]! - e.metrics[k]!) <= 1e-12, `${k}: ${(m as unknown as Record<string, number>)[k]} vs ${e.metrics[k]}`);
      }
      m.curve.strong_fraction.forEach((c, i) => assert.ok(Math.abs(c - e.metrics.curve.strong_fraction[i]!) < 1e-6));
      m.curve.pgr.forEach((c, i) => assert.ok(Math.abs(c - e.metrics.curve.pgr[i]!) < 1e-6));
    });
    it(`n = ${e.scores.length}: the oracle equals the Python's; the random router is within noise of it`, () => {
      const o = oracleMetrics(e.q_strong, e.q_weak);
      for (const k of ['apgr', 'apgr_10pt', 'cpt50', 'cpt80']) assert.ok(Math.abs((o as unknown as Record<string, number>)[k]! - e.oracle[k]!) <= 1e-12, k);
      const r = randomMetrics(e.q_strong, e.q_weak, 200);
      assert.ok(Math.abs(r.apgr - e.random.apgr!) < 0.01, `random apgr ${r.apgr} vs ${e.random.apgr}`);
      assert.ok(Math.abs(r.apgr - 0.5) < 0.02);
    });
  }

  it('numpy building blocks: interp on a non-monotone xp, quantile, trapz, pairwise sums', () => {
    // np.interp(0.5, [0, 1, 0.8, 2], [0, 10, 20, 30]) == 5.0; np.interp(0.9, ...) == 9.0; out of range → ends
    assert.equal(interp(0.5, [0, 1, 0.8, 2], [0, 10, 20, 30]), 5);
    assert.equal(interp(0.9, [0, 1, 0.8, 2], [0, 10, 20, 30]), 9);
    assert.equal(interp(-1, [0, 1], [3, 4]), 3);
    assert.equal(interp(5, [0, 1], [3, 4]), 4);
    assert.equal(quantile([3, 1, 2, 4], 0.5), 2.5);
    assert.equal(trapz([1, 1, 1], [0, 0.5, 1]), 1);
    const xs = Array.from({ length: 1000 }, (_, i) => 0.1 * ((i * 7919) % 13));
    assert.ok(Math.abs(pairwiseSum(xs) - xs.reduce((a, b) => a + b, 0)) < 1e-9);
  });
});

#!/usr/bin/env python3
"""Fast self-tests of the router pipeline (`make router-test`, a few seconds, no data needed except for the
artefact checks). Plain Python: prints one line per test and 'N passed, N failed' at the end."""
from __future__ import annotations

import os

for _v in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_v] = "1"

import json
import sys
import traceback
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from triage_router.head import Head, HeadConfig, make_pairs, merge_heads, train_head  # noqa: E402
from triage_router.metrics import fine_metrics, oracle_metrics, random_metrics, routellm_metrics  # noqa: E402
from triage_router.ratings import place  # noqa: E402

TESTS = []


def test(fn):
    TESTS.append(fn)
    return fn


@test
def metrics_perfect_router_beats_random():
    rng = np.random.default_rng(0)
    qs = (rng.random(2000) < 0.8).astype(float)
    qw = (rng.random(2000) < 0.6).astype(float)
    perfect = routellm_metrics(qs - qw + 1e-6 * rng.random(2000), qs, qw)
    rnd = random_metrics(qs, qw, seeds=50)
    assert perfect["apgr"] > 0.9, perfect["apgr"]
    assert abs(rnd["apgr"] - 0.5) < 0.03, rnd["apgr"]
    assert oracle_metrics(qs, qw)["apgr"] >= perfect["apgr"] - 1e-9


@test
def metrics_match_routellm_formulas_on_a_hand_example():
    # 10 prompts, scores 0..9; strong right everywhere, weak right on the 5 lowest-scored prompts
    s = np.arange(10, dtype=float)
    qs = np.ones(10)
    qw = (s < 5).astype(float)
    m = routellm_metrics(s, qs, qw)
    # edges = quantiles 0, .1, ..., 1 of 0..9 = 0, .9, 1.8, ...; strong share 100%, 90%, ..., 0%
    assert m["curve"]["strong_fraction"] == [round(x, 6) for x in np.linspace(0, 1, 11)], m["curve"]
    # quality at 10k% strong calls = 0.5 + min(k, 5)/10 -> PGR = min(c, .5) / .5
    pgr = np.minimum(np.linspace(0, 1, 11), 0.5) / 0.5
    assert np.allclose(m["curve"]["pgr"], pgr), m["curve"]["pgr"]
    assert abs(m["apgr"] - np.trapezoid(pgr, np.linspace(0, 1, 11))) < 1e-12
    assert abs(m["cpt50"] - 0.25) < 1e-9, m["cpt50"]  # np.interp on the curve
    assert abs(m["apgr_10pt"] - pgr[1:].mean()) < 1e-12
    assert fine_metrics(s, qs, qw)["cpt50_fine"] == 0.3  # smallest c with PGR >= .5: 3 of 10 calls


@test
def placement_interpolates_and_clamps():
    MI = {"a": 0, "b": 1, "c": 2}
    anchors = {"a": 10.0, "b": 20.0, "c": 40.0}
    assert np.allclose(place(15.0, anchors, MI), [0.5, 0.5, 0])
    assert np.allclose(place(35.0, anchors, MI), [0, 0.25, 0.75])
    assert np.allclose(place(5.0, anchors, MI), [1, 0, 0])
    assert np.allclose(place(99.0, anchors, MI), [0, 0, 1])
    assert np.allclose(place(20.0, anchors, MI), [0, 1, 0])


@test
def merged_ensemble_is_exactly_the_mean_of_heads():
    rng = np.random.default_rng(1)
    X = rng.normal(size=(50, 9)).astype(np.float32)
    Q = rng.integers(0, 2, size=(50, 3)).astype(float)
    pairs = make_pairs(Q, [0, 1, 2], 0, 1.0, 1.0)
    heads = [train_head(X, pairs, 3, HeadConfig(hidden=4, epochs=2, batch=16, seed=s)) for s in range(3)]
    merged = merge_heads(heads)
    want = np.mean([h.model_logits(X) for h in heads], axis=0)
    assert np.allclose(merged.model_logits(X), want, atol=1e-5)


@test
def pair_labels_and_weights():
    Q = np.array([[1.0, 0.0, np.nan], [5.0, 5.0, 8.0]])
    p = make_pairs(Q, [0, 1, 2], 10, tau=1.0, weight_total=2.0)
    assert list(p.prompt) == [10, 11, 11, 11]
    assert np.allclose(p.y, [1.0, 0.5, 0.0, 0.0])
    assert np.allclose(p.w, [1.0, 1 / 3, 1 / 3, 1 / 3])  # each prompt's weight spread over its pairs


@test
def shipped_onnx_matches_golden_and_contract():
    import onnxruntime as ort

    art = HERE / "artifacts"
    man = json.loads((art / "manifest.json").read_text())
    g = json.loads((art / "golden_scores.json").read_text())
    so = ort.SessionOptions()
    so.intra_op_num_threads = 1
    sess = ort.InferenceSession(str(art / "router.onnx"), so, providers=["CPUExecutionProvider"])
    assert [i.name for i in sess.get_inputs()] == [i["name"] for i in man["inputs"]]
    assert [o.name for o in sess.get_outputs()] == [o["name"] for o in man["outputs"]]
    K = len(man["models"])
    for c in g["cases"]:
        ids = np.array([c["input_ids"]], dtype=np.int64)
        # padded to a longer row: the score must not change
        pad = np.zeros((1, ids.shape[1] + 7), dtype=np.int64)
        pad[0, : ids.shape[1]] = ids
        mask = (np.arange(pad.shape[1]) < ids.shape[1]).astype(np.int64)[None]
        sw = np.array([g["strong_weights"]], dtype=np.float32)
        ww = np.array([g["weak_weights"]], dtype=np.float32)
        assert sw.shape[1] == K
        s, lg = sess.run(None, {"input_ids": pad, "attention_mask": mask, "strong_weights": sw, "weak_weights": ww})
        assert abs(float(s[0]) - c["score"]) <= g["tolerance"]["abs"], (c["prompt"][:40], s[0], c["score"])
        d = float(((sw - ww) * lg).sum())
        assert abs(1 / (1 + np.exp(-d)) - float(s[0])) < 1e-6
        assert len(c["input_ids"]) <= man["tokenizer"]["max_length"]


@test
def tokenizer_reproduces_golden_ids():
    from tokenizers import Tokenizer

    tok = Tokenizer.from_file(str(HERE / "artifacts" / "tokenizer.json"))
    g = json.loads((HERE / "artifacts" / "golden_scores.json").read_text())
    for c in g["cases"]:
        assert tok.encode(c["prompt"]).ids == c["input_ids"], c["prompt"][:40]


def main():
    passed = failed = 0
    for fn in TESTS:
        try:
            fn()
            print(f"ok   {fn.__name__}")
            passed += 1
        except Exception:
            print(f"FAIL {fn.__name__}")
            traceback.print_exc()
            failed += 1
    print(f"{passed} passed, {failed} failed")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()

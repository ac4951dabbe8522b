#!/usr/bin/env python3
"""`make model`: rebuild the shipped router artefacts from the shared data, deterministically.

    python router/train.py [--config router/config.json] [--out router/artifacts]

Writes router.onnx, tokenizer.json, manifest.json, reference_scores.json, golden_scores.json into --out.
Everything is seeded and single-threaded (OMP/BLAS/onnxruntime at 1 thread), so a rebuild on the same pinned
environment reproduces the files bit for bit (checked by `make model-check`).
"""
from __future__ import annotations

import os

for _v in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_v] = "1"

import argparse
import hashlib
import json
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from triage_router import data as D  # noqa: E402
from triage_router.distill import build_static_table, quantize_rows_int8, teacher_token_vectors  # noqa: E402
from triage_router.encoder import TEACHER_NAME, TEACHER_PACKAGE, load_teacher, ort_session, router_tokenizer_json  # noqa: E402
from triage_router.export import build_router_graph, run_router  # noqa: E402
from triage_router.head import HeadConfig, train_ensemble  # noqa: E402
from triage_router.pipeline import (MAX_TOKENS, features, load_splits, merge_val_into_train, tokenize,  # noqa: E402
                                    tokenizer, training_pairs)
from triage_router.ratings import anchor_ratings, leaderboard_ratings, model_weights  # noqa: E402

GOLDEN_PROMPTS = [
    "hi",
    "Hello! How are you today?",
    "thanks, that's all",
    "What is the capital of France?",
    "Tell me a joke about cats.",
    "Translate 'good morning' into Spanish.",
    "Write a haiku about autumn leaves.",
    "What is 2 + 2?",
    "Solve for x: 3x + 7 = 22.",
    "Prove that there are infinitely many prime numbers.",
    "Let f(x) = x^3 - 6x^2 + 11x - 6. Find all real roots and prove that f has no other roots.",
    "Compute the integral of x^2 * e^x dx from 0 to 1, showing each step.",
    "Write a Python function that returns the n-th Fibonacci number.",
    "Implement a thread-safe LRU cache in Rust with O(1) get and put, and explain the ownership model you chose.",
    "My React component re-renders infinitely when I call setState inside useEffect. Why, and how do I fix it?",
    "Write a SQL query that returns the second highest salary per department.",
    "Summarize the causes of the First World War in three sentences.",
    "Explain the difference between TCP and UDP to a five-year-old.",
    "Design a distributed rate limiter for a multi-region API gateway. Discuss consistency, failure modes and "
    "the trade-offs between token buckets and sliding windows.",
    # long prompt (> 512 tokens after tokenisation: exercises truncation)
    "Please review the following text and list every factual claim it makes. " + " ".join(
        f"Paragraph {i}: the committee met on day {i} and decided that item {i * 7 % 13} would be postponed "
        f"because the budget for quarter {i % 4 + 1} had not been approved by the board." for i in range(1, 40)),
    "",
]


def sha256_file(p: Path) -> str:
    return hashlib.sha256(p.read_bytes()).hexdigest()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--config", default=str(HERE / "config.json"))
    ap.add_argument("--out", default=str(HERE / "artifacts"))
    args = ap.parse_args()
    cfg = json.loads(Path(args.config).read_text())
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    t_start = time.time()

    def log(msg):
        print(f"[{time.time() - t_start:6.1f}s] {msg}", flush=True)

    # 1. teacher + tokenizer
    weights, tconf, tok_text = load_teacher()
    tok_json = router_tokenizer_json(tok_text, MAX_TOKENS)
    (out / "tokenizer.json").write_text(tok_json, encoding="utf-8")
    tok = tokenizer(tok_json)
    log("teacher loaded")

    # 2. data + tokens
    sp = load_splits(arena_test_fold=cfg["arena_test_fold"], use_dcrouter=cfg["weights"].get("dcrouter", 0) > 0)
    train = merge_val_into_train(sp) if cfg["train_on_val"] else sp.train
    train = {k: v for k, v in train.items() if cfg["weights"].get(k, 0) > 0}
    train_toks = {k: tokenize(tok, t.prompts) for k, t in train.items()}
    ref = D.load_arena_hard_prompts()
    ref_toks = tokenize(tok, [p for _, p in ref])
    log(f"data: " + ", ".join(f"{k}={len(t.prompts)}" for k, t in train.items()) + f", reference={len(ref)}")

    # 3. static table distilled from the teacher, then int8
    T = teacher_token_vectors(weights, tconf)
    corpus = [x for v in train_toks.values() for x in v] + ref_toks
    E = build_static_table(T, corpus, cfg["dim"], cfg["sif_a"])
    Eq, Es = quantize_rows_int8(E)
    Edq = Eq.astype(np.float32) * Es[:, None]
    log(f"static table {E.shape}, int8")

    # 4. head
    models = sorted(set(m for t in train.values() for m in t.models))
    MI = {m: i for i, m in enumerate(models)}
    Xs, offs, o = [], {}, 0
    for k, t in train.items():
        Xs.append(features(Edq, train_toks[k]))
        offs[k] = o
        o += len(t.prompts)
    X = np.concatenate(Xs)
    pairs = training_pairs(train, offs, MI, cfg["weights"], cfg["taus"])
    head = train_ensemble(X, pairs, len(models), HeadConfig(**cfg["head"]), cfg["ensemble"])
    log(f"head trained on {len(pairs.y)} pairs, {cfg['ensemble']} heads, H={head.W1.shape[1]}")

    # 5. ONNX
    version = cfg["version"]
    model = build_router_graph(Eq, Es, head, models, version)
    onnx_path = out / "router.onnx"
    onnx_path.write_bytes(model.SerializeToString())
    sess = ort_session(onnx_path.read_bytes(), 1)
    log(f"router.onnx {onnx_path.stat().st_size / 1e6:.2f} MB")

    anchors = anchor_ratings()
    board = leaderboard_ratings()
    strong_name, weak_name = cfg["default_pair"]["strong"], cfg["default_pair"]["weak"]
    sw, _ = model_weights(strong_name, MI, anchors)
    ww, _ = model_weights(weak_name, MI, anchors)

    # 6. reference scores (calibration start): unlabeled real Arena prompts
    ref_scores, ref_logits = run_router(sess, ref_toks, sw, ww)
    qs = np.linspace(0, 1, 101)

    def qlist(v):
        return [round(float(x), 6) for x in np.quantile(v.astype(np.float64), qs)]

    anchor_names = sorted(anchors, key=lambda m: -anchors[m])
    pair_q = {}
    for a in anchor_names:
        for b in anchor_names:
            if anchors[a] > anchors[b]:
                d = ref_logits[:, MI[a]].astype(np.float64) - ref_logits[:, MI[b]]
                pair_q[f"{a}|{b}"] = qlist(1.0 / (1.0 + np.exp(-d)))
    reference = {
        "version": version,
        "reference_set": "Arena-Hard v0.1 + v2.0 prompts (1,250 real Chatbot Arena prompts, unlabeled, not used to "
                         "train the head; ../shared/data/arena-hard, Apache-2.0)",
        "n": len(ref_scores),
        "quantile_levels": [round(float(x), 2) for x in qs],
        "default_pair": {"strong": strong_name, "weak": weak_name, "quantiles": qlist(ref_scores),
                         "mean": round(float(ref_scores.mean()), 6)},
        "how_to_use": "threshold for a target strong-call fraction p = the (1 - p) quantile of scores (RouteLLM's "
                      "calibration). Interpolate linearly between the listed levels. Replace with quantiles of the "
                      "pod's own traffic once enough requests were scored.",
        "anchor_pairs": pair_q,
    }
    (out / "reference_scores.json").write_text(json.dumps(reference, indent=1) + "\n")
    log("reference_scores.json")

    # 7. golden scores from the exported ONNX
    g_toks = tokenize(tok, GOLDEN_PROMPTS)
    g_scores, g_logits = run_router(sess, g_toks, sw, ww, batch=1)
    # also batched with padding: the same scores must come out
    gb_scores, _ = run_router(sess, g_toks, sw, ww, batch=len(g_toks))
    placed_name = cfg["golden_placed_model"]
    pw, how = model_weights(placed_name, MI, anchors, board)
    gp_scores, _ = run_router(sess, g_toks, sw, pw, batch=1)
    golden = {
        "version": version,
        "tolerance": {"abs": 1e-5, "note": "float32; batch-of-1 vs padded batch differ by < 1e-6 here"},
        "max_batch_vs_single_abs_diff": float(np.max(np.abs(g_scores - gb_scores))),
        "strong": strong_name, "weak": weak_name,
        "strong_weights": [float(x) for x in sw], "weak_weights": [float(x) for x in ww],
        "placed_weak": {"model": placed_name, "how": how, "weights": [round(float(x), 7) for x in pw]},
        "cases": [
            {"prompt": p, "input_ids": ids, "n_tokens": len(ids), "score": float(s),
             "score_vs_placed_weak": float(s2), "model_logits": [round(float(x), 6) for x in lg]}
            for p, ids, s, s2, lg in zip(GOLDEN_PROMPTS, g_toks, g_scores, gp_scores, g_logits)
        ],
    }
    (out / "golden_scores.json").write_text(json.dumps(golden, indent=1, ensure_ascii=False) + "\n")
    log("golden_scores.json")

    # 8. manifest (the I/O contract, machine-readable)
    manifest = {
        "name": "triage-router",
        "version": version,
        "format": "onnx", "opset": 17, "ir_version": 8,
        "files": {"model": "router.onnx", "tokenizer": "tokenizer.json", "reference_scores": "reference_scores.json",
                  "golden_scores": "golden_scores.json"},
        "inputs": [
            {"name": "input_ids", "dtype": "int64", "shape": ["batch", "seq"],
             "doc": "tokenizer.json ids incl. [CLS] (101) first and [SEP] (102) last, right-padded with 0"},
            {"name": "attention_mask", "dtype": "int64", "shape": ["batch", "seq"], "doc": "1 = token, 0 = padding"},
            {"name": "strong_weights", "dtype": "float32", "shape": ["batch", len(models)],
             "doc": "mixture over `models` (one-hot for a known model, see `placement` for others)"},
            {"name": "weak_weights", "dtype": "float32", "shape": ["batch", len(models)], "doc": "as strong_weights"},
        ],
        "outputs": [
            {"name": "score", "dtype": "float32", "shape": ["batch"],
             "doc": "P(strong model needed | prompt) = sigmoid(logit(strong) - logit(weak))"},
            {"name": "model_logits", "dtype": "float32", "shape": ["batch", len(models)],
             "doc": "per-model logits; score = sigmoid(sum((strong_weights - weak_weights) * model_logits))"},
        ],
        "tokenizer": {"file": "tokenizer.json", "type": "BertWordPiece (uncased) from " + TEACHER_NAME,
                      "max_length": MAX_TOKENS, "truncation": "right (keep the first 511 tokens + [SEP])",
                      "add_special_tokens": True, "padding": "none in tokenizer.json; runtime pads with 0"},
        "text": "the last user message's text content (RouteLLM routes on the last turn); empty -> [CLS][SEP]",
        "models": [{"name": m, "index": MI[m], "rating": anchors.get(m), "anchor": m in anchors} for m in models],
        "default_pair": cfg["default_pair"],
        "placement": {
            "method": "linear interpolation by rating between adjacent anchors; clamp outside the anchor range",
            "rating_scale": "Arena-Hard-Auto v0.1 score (win rate % vs gpt-4-0314), leaderboard 2024-07-31",
            "anchors": {m: anchors[m] for m in anchor_names},
            "ratings": dict(sorted(board.items())),
        },
        "calibration": {"file": "reference_scores.json",
                        "rule": "threshold(p) = quantile(scores, 1 - p); route strong iff score >= threshold"},
        "teacher": {"model": TEACHER_NAME, "pypi": TEACHER_PACKAGE, "licence": "Apache-2.0"},
    }
    (out / "manifest.json").write_text(json.dumps(manifest, indent=1) + "\n")
    log("manifest.json")
    rows = []
    for p in sorted(out.iterdir()):
        print(f"  {p.name:24s} {p.stat().st_size:>10d}  sha256:{sha256_file(p)}")
        rows.append(f"| `{p.name}` | {p.stat().st_size:,} | `{sha256_file(p)}` |")
    card = HERE / "MODEL_CARD.md"
    if out.resolve() == (HERE / "artifacts").resolve() and card.exists():
        a, z = "<!-- artifacts:begin -->", "<!-- artifacts:end -->"
        text = card.read_text()
        if a in text and z in text:
            total = sum(p.stat().st_size for p in out.iterdir())
            block = "\n".join(["| file | bytes | sha256 |", "|---|---|---|", *rows,
                               f"| **total** | {total:,} ({total / 2**20:.1f} MiB) | |"])
            card.write_text(text[: text.index(a) + len(a)] + "\n" + block + "\n" + text[text.index(z):])
    log("done")


if __name__ == "__main__":
    main()

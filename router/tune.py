#!/usr/bin/env python3
"""Hyperparameter selection on VALIDATION data only (never the test splits). Reproduces results/tuning.json.

    python router/tune.py [--with-transformer]      # `make router-tune`

Validation criteria (all computed without the held-out test splits: MMLU test subjects, arena fold 0,
AlpacaEval, dcrouter test):
  mmlu          APGR on the 16 MMLU validation subjects (gpt-4-1106-preview vs Mixtral)
  arena_default APGR on arena-bench-v1 folds 1-4, out-of-fold (4-fold CV inside the non-test folds), same pair
  arena_pairs   mean full-sweep APGR over realistic pairs on the same out-of-fold scores: strong in
                {gpt-4-1106-preview, gpt-4-0314}, weak = models with mean score >= 4 and >= 1 point below
  dc_transfer   APGR of the default pair's score on dcrouter *train* (nemotron-49B vs mistral-7B outcomes)
                when dcrouter is not trained on: a transfer check to a different distribution
--with-transformer adds the same head on all-MiniLM-L6-v2 transformer embeddings (about 13 min at 1 thread)
to measure what the static distillation gives up.
"""
from __future__ import annotations

import os

for _v in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_v] = "1"

import argparse
import itertools
import json
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from triage_router import data as D  # noqa: E402
from triage_router.baseline import Baseline  # noqa: E402
from triage_router.distill import build_static_table, quantize_rows_int8, teacher_token_vectors  # noqa: E402
from triage_router.encoder import (build_transformer_graph, encode_batches, load_teacher, ort_session,  # noqa: E402
                                   router_tokenizer_json)
from triage_router.head import HeadConfig, train_ensemble, train_head  # noqa: E402
from triage_router.metrics import routellm_metrics  # noqa: E402
from triage_router.pipeline import features, tokenize, tokenizer, training_pairs  # noqa: E402

BASE_CFG = {"epochs": 8, "batch": 256, "hidden": 32, "l2": 1e-2, "lr": 5e-4}
GRID = [  # (label, kwargs) -- the runs recorded in results/tuning.json, in the order they were explored
    ("baseline (length+keywords LR)", {"baseline": True}),
    ("l2=1e-3, sif=1e-3", {"cfg": {**BASE_CFG, "l2": 1e-3}, "sif": 1e-3}),
    ("l2=1e-3, 4 epochs", {"cfg": {**BASE_CFG, "l2": 1e-3, "epochs": 4}, "sif": 1e-3}),
    ("l2=1e-3, 16 epochs", {"cfg": {**BASE_CFG, "l2": 1e-3, "epochs": 16}, "sif": 1e-3}),
    ("l2=1e-3, H=128", {"cfg": {**BASE_CFG, "l2": 1e-3, "hidden": 128}, "sif": 1e-3}),
    ("l2=1e-3, linear H=8", {"cfg": {**BASE_CFG, "l2": 1e-3, "hidden": 8, "act": "linear"}, "sif": 1e-3}),
    ("l2=1e-2, sif=1e-3", {"sif": 1e-3}),
    ("l2=1e-1, sif=1e-3", {"cfg": {**BASE_CFG, "l2": 1e-1}, "sif": 1e-3}),
    ("+ dcrouter w=0.3", {"sif": 1e-3, "weights": {"mmlu": 1.0, "arena": 0.5, "dcrouter": 0.3}}),
    ("+ dcrouter w=1.0", {"sif": 1e-3, "weights": {"mmlu": 1.0, "arena": 0.5, "dcrouter": 1.0}}),
    ("MMLU only", {"sif": 1e-3, "weights": {"mmlu": 1.0, "arena": 0.0, "dcrouter": 0.0}}),
    ("arena only", {"sif": 1e-3, "weights": {"mmlu": 0.0, "arena": 1.0, "dcrouter": 0.0}}),
    ("dcrouter only", {"sif": 1e-3, "weights": {"mmlu": 0.0, "arena": 0.0, "dcrouter": 1.0}}),
    ("fp32 table (no int8)", {"sif": 1e-3, "quant": False}),
    ("dim=128", {"sif": 1e-3, "dim": 128}),
    ("dim=384 (no PCA)", {"sif": 1e-3, "dim": 384}),
    ("single head (no ensemble)", {"sif": 1e-3, "ens": 1}),
    ("sif=1e-4", {"sif": 1e-4}),
    ("sif=1e-2", {"sif": 1e-2}),
    ("sif=1.0 (SHIPPED)", {"sif": 1.0}),
    ("sif=1.0, l2=1e-1", {"sif": 1.0, "cfg": {**BASE_CFG, "l2": 1e-1}}),
    ("sif=1.0, no length feature", {"sif": 1.0, "nolen": True}),
    ("sif=1.0, no length, mmlu 0.3 / arena 1.0", {"sif": 1.0, "nolen": True,
                                                  "weights": {"mmlu": 0.3, "arena": 1.0, "dcrouter": 0.0}}),
]
TRANSFORMER_RUN = ("transformer embeddings (all-MiniLM-L6-v2), same head", {"sif": 1e-3, "emb": "transformer"})


class Tuner:
    def __init__(self):
        w, c, tj = load_teacher()
        self.w, self.c = w, c
        self.tok = tokenizer(router_tokenizer_json(tj, 512))
        self.T = teacher_token_vectors(w, c)
        mmlu = D.load_mmlu()
        ms = np.array([D.mmlu_split(g) for g in mmlu.groups])
        self.arena = D.load_arena_bench()
        self.af = np.array([D.arena_fold(q) for q in self.arena.groups])
        self.dc = D.decontaminate(D.load_dcrouter("train"), mmlu.prompts)
        self.mm_tr = mmlu.subset(ms == "train", "mmlu-train")
        self.mm_va = mmlu.subset(ms == "val", "mmlu-val")
        self.TOK = {}
        for t in (mmlu, self.arena, self.dc):
            for p, ids in zip(t.prompts, tokenize(self.tok, t.prompts)):
                self.TOK[p] = ids
        self.ref_toks = tokenize(self.tok, [p for _, p in D.load_arena_hard_prompts()])
        self.models = sorted(set(self.arena.models) | set(self.dc.models))
        self.MI = {m: i for i, m in enumerate(self.models)}
        self.temb = None

    def transformer_embeddings(self):
        if self.temb is None:
            prompts = sorted(self.TOK)
            tok256 = tokenizer(router_tokenizer_json(json.dumps(json.loads(self.tok.to_str())), 256))
            sess = ort_session(build_transformer_graph(self.w, self.c).SerializeToString(), 1)
            E = encode_batches(sess, tokenize(tok256, prompts), batch_size=16)
            self.temb = {p: E[i] for i, p in enumerate(prompts)}
        return self.temb

    def feats(self, E, t, emb, nolen):
        toks = [self.TOK[p] for p in t.prompts]
        if emb == "static":
            X = features(E, toks)
        else:
            te = self.transformer_embeddings()
            n = np.array([len(x) for x in toks], dtype=np.float32)
            X = np.concatenate([np.stack([te[p] for p in t.prompts]), (np.log(n) / np.log(512))[:, None]], 1)
        if nolen:
            X[:, -1] = 0
        return X

    def default_apgr(self, t, s):
        i, j = t.models.index(D.GPT4_1106), t.models.index(D.MIXTRAL)
        ok = ~np.isnan(t.Q[:, i]) & ~np.isnan(t.Q[:, j])
        return routellm_metrics(s[ok], t.Q[ok, i], t.Q[ok, j])["apgr"]

    def pair_apgrs(self, t, L):
        means = np.nanmean(t.Q, 0)
        ap = []
        for i, j in itertools.permutations(range(len(t.models)), 2):
            if t.models[i] not in (D.GPT4_1106, "gpt-4-0314") or means[j] < 4.0 or means[i] - means[j] < 1.0:
                continue
            ok = ~np.isnan(t.Q[:, i]) & ~np.isnan(t.Q[:, j])
            ap.append(routellm_metrics(L[ok, self.MI[t.models[i]]] - L[ok, self.MI[t.models[j]]],
                                       t.Q[ok, i], t.Q[ok, j])["apgr_fine"])
        return float(np.mean(ap))

    def run(self, dim=256, sif=1.0, quant=True, weights=None, taus=None, cfg=None, ens=5, emb="static",
            baseline=False, nolen=False):
        weights = weights or {"mmlu": 1.0, "arena": 0.5, "dcrouter": 0.0}
        taus = taus or {"mmlu": 1.0, "arena": 3.0, "dcrouter": 1.0}
        cfg = HeadConfig(**(cfg or BASE_CFG))
        arena, af, dc = self.arena, self.af, self.dc
        corpus = ([self.TOK[p] for p in self.mm_tr.prompts + dc.prompts]
                  + [self.TOK[p] for p, f in zip(arena.prompts, af) if f != 0] + self.ref_toks)
        E = None
        if emb == "static":
            E = build_static_table(self.T, corpus, dim, sif)
            if quant:
                q, s = quantize_rows_int8(E)
                E = q.astype(np.float32) * s[:, None]
        oof, oof_t = [], []
        res = {}
        for f in (1, 2, 3, 4):
            a_tr = arena.subset((af != 0) & (af != f), "arena-tr")
            a_va = arena.subset(af == f, "arena-va")
            train = {"mmlu": self.mm_tr, "arena": a_tr}
            if weights.get("dcrouter", 0) > 0:
                train["dcrouter"] = dc
            train = {k: v for k, v in train.items() if weights.get(k, 0) > 0}
            evals = [a_va] + ([self.mm_va, dc] if f == 1 else [])
            if baseline:
                b = Baseline().fit(train, weights, taus)
                Ls = [b.score(t.prompts) for t in evals]
                sc = Ls
            else:
                Xs, offs, o = [], {}, 0
                for k, t in train.items():
                    Xs.append(self.feats(E, t, emb, nolen))
                    offs[k] = o
                    o += len(t.prompts)
                pairs = training_pairs(train, offs, self.MI, weights, taus)
                X = np.concatenate(Xs)
                head = (train_ensemble(X, pairs, len(self.models), cfg, ens) if ens > 1
                        else train_head(X, pairs, len(self.models), cfg))
                Ls = [head.model_logits(self.feats(E, t, emb, nolen)) for t in evals]
                sc = [L[:, self.MI[D.GPT4_1106]] - L[:, self.MI[D.MIXTRAL]] for L in Ls]
            oof.append(Ls[0])
            oof_t.append(a_va)
            if f == 1:
                res["mmlu"] = self.default_apgr(self.mm_va, sc[1])
                if weights.get("dcrouter", 0) <= 0:
                    res["dc_transfer"] = routellm_metrics(sc[2], dc.col("llama-3.3-nemotron-super-49b-v1"),
                                                          dc.col("mistral-7b-instruct-v0.3"))["apgr"]
        at = D.Table("arena-oof", sum([t.prompts for t in oof_t], []), arena.models,
                     np.concatenate([t.Q for t in oof_t]), sum([t.groups for t in oof_t], []))
        O = np.concatenate(oof)
        if baseline:
            res["arena_default"] = self.default_apgr(at, O)
        else:
            res["arena_default"] = self.default_apgr(at, O[:, self.MI[D.GPT4_1106]] - O[:, self.MI[D.MIXTRAL]])
            res["arena_pairs"] = self.pair_apgrs(at, O)
        return res


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--with-transformer", action="store_true")
    ap.add_argument("--out", default=str(HERE / "results" / "tuning.json"))
    args = ap.parse_args()
    tuner = Tuner()
    grid = GRID + ([TRANSFORMER_RUN] if args.with_transformer else [])
    rows = []
    for label, kw in grid:
        t0 = time.time()
        r = tuner.run(**kw)
        rows.append({"label": label, "params": kw, **{k: round(v, 4) for k, v in r.items()},
                     "seconds": round(time.time() - t0, 1)})
        print(json.dumps(rows[-1]), flush=True)
    Path(args.out).write_text(json.dumps({"criteria": __doc__.split("Validation criteria")[1].split("--with")[0],
                                          "runs": rows}, indent=1) + "\n")


if __name__ == "__main__":
    main()

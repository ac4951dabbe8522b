"""Shared pipeline pieces: the training/validation/test tables, tokenisation, features and the pair sets."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from tokenizers import Tokenizer

from . import data as D
from .distill import pool
from .head import Pairs, concat_pairs, make_pairs

MAX_TOKENS = 512
LEN_NORM = float(np.log(MAX_TOKENS))


@dataclass
class Splits:
    train: dict  # name -> Table
    val: dict
    test: dict


def load_splits(arena_test_fold: int = 0, use_dcrouter: bool = True) -> Splits:
    """The fixed splits. MMLU by whole subject; arena-bench-v1 by prompt (5 hash folds: test fold, the next
    fold = validation); dcrouter train.jsonl (decontaminated against every MMLU prompt) for training only;
    dcrouter test.jsonl and AlpacaEval for evaluation only."""
    mmlu = D.load_mmlu()
    ms = np.array([D.mmlu_split(g) for g in mmlu.groups])
    arena = D.load_arena_bench()
    as_ = np.array([D.arena_split(q, arena_test_fold) for q in arena.groups])
    train = {"mmlu": mmlu.subset(ms == "train", "mmlu-train"), "arena": arena.subset(as_ == "train", "arena-train")}
    val = {"mmlu": mmlu.subset(ms == "val", "mmlu-val"), "arena": arena.subset(as_ == "val", "arena-val")}
    test = {"mmlu": mmlu.subset(ms == "test", "mmlu-test"), "arena": arena.subset(as_ == "test", "arena-test")}
    if use_dcrouter:
        train["dcrouter"] = D.decontaminate(D.load_dcrouter("train"), mmlu.prompts)
    test["dcrouter"] = D.decontaminate(D.load_dcrouter("test"), mmlu.prompts)
    test["alpacaeval"] = D.load_alpacaeval()
    return Splits(train, val, test)


def merge_val_into_train(sp: Splits) -> dict:
    """After hyperparameters are chosen, the shipped model is trained on train + validation."""
    out = dict(sp.train)
    for k, v in sp.val.items():
        t = out[k]
        out[k] = D.Table(t.name + "+val", t.prompts + v.prompts, t.models, np.concatenate([t.Q, v.Q]),
                         t.groups + v.groups, t.scale, dict(t.meta))
    return out


def tokenizer(tok_json: str) -> Tokenizer:
    return Tokenizer.from_str(tok_json)


def tokenize(tok: Tokenizer, texts: list[str]) -> list[list[int]]:
    return [e.ids for e in tok.encode_batch(texts)]


def features(E: np.ndarray, token_lists: list[list[int]]) -> np.ndarray:
    """x = [normalised mean of token vectors, log(n_tokens)/log(512)] -- mirrors the ONNX graph."""
    pooled = pool(E, token_lists)
    n = np.array([len(t) for t in token_lists], dtype=np.float32)
    lf = (np.log(np.maximum(n, 1.0)) / np.float32(LEN_NORM)).astype(np.float32)
    return np.concatenate([pooled, lf[:, None]], axis=1).astype(np.float32)


def training_pairs(tables: dict, offsets: dict, model_index: dict, weights: dict, taus: dict,
                   max_pairs: int | None = None, seed: int = 0) -> Pairs:
    rng = np.random.default_rng(seed)
    ps = []
    for name, t in tables.items():
        if weights.get(name, 0) <= 0:
            continue
        ps.append(make_pairs(t.Q, [model_index[m] for m in t.models], offsets[name], taus[name], weights[name],
                             max_pairs, rng))
    return concat_pairs(ps)

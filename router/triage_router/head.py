"""The routing head: RouteLLM's matrix-factorisation router, made N-model, trained with numpy (no torch).

    x          = [mean-pooled static embedding (L2-normalised), log(n_tokens)/log(512)]        (F = dim + 1)
    h          = act(x W1 + b1)                                                             (H)
    logit(p,m) = h . M[m] + beta[m]            M: learned model embeddings [K, H], beta: model bias [K]
    score(p, strong, weak) = sigmoid(logit(p, strong) - logit(p, weak))  ~ P(strong model needed | prompt)

RouteLLM's mf router is the special case act = identity, x = a 1536-d OpenAI embedding, logit = w.(P x * m):
its classifier vector w folds into M here. Because logit is linear in (M[m], beta[m]), a model that was not in
the training data can be placed as a convex combination of known models (see ratings.py), and the ONNX graph
takes such mixtures as input.

Training data are pairwise: for a prompt and two models a, b with qualities qa, qb on the dataset's scale,
    y = 0.5 + 0.5 * clip((qa - qb) / tau, -1, 1)
(ties -> 0.5, "a clearly better" -> 1), and the loss is the weighted binary cross-entropy of score(p, a, b).
With ties at 0.5 the optimum sigmoid(.) = 0.5 + 0.5 * E[sign-ish(qa - qb) | p]: monotone in the expected gain of
calling a instead of b, which is what a threshold router needs.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass
class HeadConfig:
    hidden: int = 128
    act: str = "relu"  # relu | tanh | linear
    epochs: int = 30
    batch: int = 1024
    lr: float = 2e-3
    l2: float = 1e-5
    seed: int = 0


@dataclass
class Head:
    W1: np.ndarray
    b1: np.ndarray
    M: np.ndarray
    beta: np.ndarray
    act: str
    history: list = field(default_factory=list)

    def hidden(self, X: np.ndarray) -> np.ndarray:
        z = X @ self.W1 + self.b1
        return _act(z, self.act)

    def model_logits(self, X: np.ndarray) -> np.ndarray:
        return self.hidden(X) @ self.M.T + self.beta

    def score(self, X: np.ndarray, strong: int | np.ndarray, weak: int | np.ndarray) -> np.ndarray:
        L = self.model_logits(X)
        s = np.eye(len(self.beta))[strong] if np.ndim(strong) == 0 else strong
        w = np.eye(len(self.beta))[weak] if np.ndim(weak) == 0 else weak
        d = (L * (s - w)).sum(axis=-1)
        return 1.0 / (1.0 + np.exp(-d))


def _act(z, act):
    if act == "relu":
        return np.maximum(z, 0.0)
    if act == "tanh":
        return np.tanh(z)
    return z


def _dact(z, h, act):
    if act == "relu":
        return (z > 0).astype(z.dtype)
    if act == "tanh":
        return 1.0 - h * h
    return np.ones_like(z)


@dataclass
class Pairs:
    prompt: np.ndarray  # int index into X
    a: np.ndarray
    b: np.ndarray
    y: np.ndarray
    w: np.ndarray


def make_pairs(Q: np.ndarray, model_idx: list[int], prompt_offset: int, tau: float, weight_total: float,
               max_pairs_per_prompt: int | None = None, rng: np.random.Generator | None = None) -> Pairs:
    """All model pairs per prompt (both qualities present). The dataset's total weight is spread evenly
    over its prompts, and each prompt's weight evenly over its pairs."""
    P, A, B, Y, W = [], [], [], [], []
    n_prompts = 0
    K = Q.shape[1]
    per_prompt = []
    for i in range(Q.shape[0]):
        pr = []
        for x in range(K):
            for z in range(x + 1, K):
                qa, qb = Q[i, x], Q[i, z]
                if np.isnan(qa) or np.isnan(qb):
                    continue
                pr.append((x, z, 0.5 + 0.5 * float(np.clip((qa - qb) / tau, -1, 1))))
        if not pr:
            continue
        if max_pairs_per_prompt and len(pr) > max_pairs_per_prompt:
            sel = rng.choice(len(pr), max_pairs_per_prompt, replace=False)
            pr = [pr[j] for j in sorted(sel)]
        per_prompt.append((i, pr))
        n_prompts += 1
    for i, pr in per_prompt:
        for x, z, y in pr:
            P.append(prompt_offset + i)
            A.append(model_idx[x])
            B.append(model_idx[z])
            Y.append(y)
            W.append(weight_total / n_prompts / len(pr))
    return Pairs(np.array(P, dtype=np.int64), np.array(A, dtype=np.int64), np.array(B, dtype=np.int64),
                 np.array(Y, dtype=np.float64), np.array(W, dtype=np.float64))


def concat_pairs(ps: list[Pairs]) -> Pairs:
    return Pairs(*[np.concatenate([getattr(p, f) for p in ps]) for f in ("prompt", "a", "b", "y", "w")])


def train_head(X: np.ndarray, pairs: Pairs, n_models: int, cfg: HeadConfig, callback=None) -> Head:
    """Adam on the weighted pairwise BCE. Deterministic for a given seed (single-threaded BLAS)."""
    rng = np.random.default_rng(cfg.seed)
    F = X.shape[1]
    H = cfg.hidden
    X = X.astype(np.float64)
    params = {
        "W1": rng.normal(0, 1.0 / np.sqrt(F), (F, H)),
        "b1": np.zeros(H),
        "M": rng.normal(0, 0.1, (n_models, H)),
        "beta": np.zeros(n_models),
    }
    if cfg.act == "relu":
        params["b1"] += 0.01
    m = {k: np.zeros_like(v) for k, v in params.items()}
    v = {k: np.zeros_like(v) for k, v in params.items()}
    b1_, b2_, eps = 0.9, 0.999, 1e-8
    step = 0
    N = len(pairs.y)
    wsum = pairs.w.sum()
    head = Head(params["W1"], params["b1"], params["M"], params["beta"], cfg.act)
    for ep in range(cfg.epochs):
        perm = rng.permutation(N)
        tot = 0.0
        for s in range(0, N, cfg.batch):
            idx = perm[s:s + cfg.batch]
            pi, a, b, y, w = pairs.prompt[idx], pairs.a[idx], pairs.b[idx], pairs.y[idx], pairs.w[idx]
            w = w / wsum * N  # mean weight 1: the batch mean below estimates the full weighted mean
            Xb = X[pi]
            z = Xb @ params["W1"] + params["b1"]
            h = _act(z, cfg.act)
            dm = params["M"][a] - params["M"][b]
            logit = (h * dm).sum(1) + params["beta"][a] - params["beta"][b]
            p = 1.0 / (1.0 + np.exp(-logit))
            pc = np.clip(p, 1e-7, 1 - 1e-7)
            tot += float((w * -(y * np.log(pc) + (1 - y) * np.log(1 - pc))).sum())
            g = w * (p - y)
            grads = {}
            gM = g[:, None] * h
            grads["M"] = np.zeros_like(params["M"])
            np.add.at(grads["M"], a, gM)
            np.add.at(grads["M"], b, -gM)
            grads["beta"] = np.zeros(n_models)
            np.add.at(grads["beta"], a, g)
            np.add.at(grads["beta"], b, -g)
            dz = (g[:, None] * dm) * _dact(z, h, cfg.act)
            grads["W1"] = Xb.T @ dz
            grads["b1"] = dz.sum(0)
            step += 1
            for k in params:
                gk = grads[k] / len(idx)
                if k in ("W1", "M"):
                    gk = gk + cfg.l2 * params[k]
                m[k] = b1_ * m[k] + (1 - b1_) * gk
                v[k] = b2_ * v[k] + (1 - b2_) * gk * gk
                mh = m[k] / (1 - b1_ ** step)
                vh = v[k] / (1 - b2_ ** step)
                params[k] -= cfg.lr * mh / (np.sqrt(vh) + eps)
        head = Head(params["W1"], params["b1"], params["M"], params["beta"], cfg.act, head.history)
        head.history.append({"epoch": ep + 1, "loss": tot / max(1, (N + cfg.batch - 1) // cfg.batch)})
        if callback:
            callback(ep + 1, head)
    return Head(params["W1"].astype(np.float32), params["b1"].astype(np.float32), params["M"].astype(np.float32),
                params["beta"].astype(np.float32), cfg.act, head.history)


def merge_heads(heads: list[Head]) -> Head:
    """An ensemble of heads as ONE head: hidden units concatenated, model embeddings scaled by 1/n, biases averaged.
    logit(p, m) = mean_i (h_i . M_i[m] + beta_i[m]) exactly."""
    n = len(heads)
    assert len({h.act for h in heads}) == 1
    return Head(np.concatenate([h.W1 for h in heads], axis=1), np.concatenate([h.b1 for h in heads]),
                np.concatenate([h.M for h in heads], axis=1) / np.float32(n),
                (np.sum([h.beta for h in heads], axis=0) / np.float32(n)).astype(np.float32), heads[0].act,
                [h.history for h in heads])


def train_ensemble(X: np.ndarray, pairs: Pairs, n_models: int, cfg: HeadConfig, n: int, callback=None) -> Head:
    from dataclasses import replace
    heads = []
    for i in range(n):
        heads.append(train_head(X, pairs, n_models, replace(cfg, seed=cfg.seed + i)))
    merged = merge_heads(heads)
    if callback:
        callback(cfg.epochs, merged)
    return merged

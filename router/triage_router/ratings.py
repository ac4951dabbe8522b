"""Placing a model the router was not trained on: interpolation between anchor models by public rating.

Anchors = models that have a learned embedding from arena-bench-v1 (one judge, one scale) AND a rating in
router/model_ratings.csv (Arena-Hard-Auto v0.1 score, win rate vs gpt-4-0314, from the leaderboard file
arena_hard_leaderboard_20240731.csv of lmarena/arena-hard-auto, Apache-2.0; in ../shared/data/arena-hard).

For an unseen model with rating r (same scale; the manifest carries the whole leaderboard so the runtime can look
it up by name):
  - r between two adjacent anchors r_lo <= r <= r_hi: weights (r_hi - r)/(r_hi - r_lo) on lo, the rest on hi;
  - r outside the anchors' range: all weight on the nearest anchor (no extrapolation).
Anchors with equal ratings are averaged. Because a model's logit is linear in its embedding, the mixture is an
exact convex combination of the anchors' logits; the ONNX graph takes the mixture weights directly.
"""
from __future__ import annotations

import csv
from pathlib import Path

import numpy as np

from .data import DATA_DIR

RATINGS_CSV = Path(__file__).resolve().parents[1] / "model_ratings.csv"
LEADERBOARD = DATA_DIR / "arena-hard" / "leaderboard" / "arena_hard_leaderboard_20240731.csv"


def anchor_ratings() -> dict[str, float]:
    with open(RATINGS_CSV, newline="") as f:
        return {r["model"]: float(r["rating"]) for r in csv.DictReader(f)}


def leaderboard_ratings() -> dict[str, float]:
    with open(LEADERBOARD, newline="") as f:
        return {r["model"]: float(r["score"]) for r in csv.DictReader(f)}


def place(rating: float, anchors: dict[str, float], model_index: dict[str, int]) -> np.ndarray:
    """Mixture weights [K] for a model with `rating`."""
    K = len(model_index)
    # group equal ratings
    levels: dict[float, list[str]] = {}
    for m, r in anchors.items():
        levels.setdefault(r, []).append(m)
    rs = sorted(levels)

    def onehot(r):
        w = np.zeros(K, dtype=np.float32)
        for m in levels[r]:
            w[model_index[m]] += 1.0 / len(levels[r])
        return w

    if rating <= rs[0]:
        return onehot(rs[0])
    if rating >= rs[-1]:
        return onehot(rs[-1])
    hi = next(i for i, r in enumerate(rs) if r >= rating)
    lo = hi - 1
    if rs[hi] == rating:
        return onehot(rs[hi])
    t = (rs[hi] - rating) / (rs[hi] - rs[lo])
    return (t * onehot(rs[lo]) + (1 - t) * onehot(rs[hi])).astype(np.float32)


def model_weights(name: str, model_index: dict[str, int], anchors: dict[str, float],
                  extra: dict[str, float] | None = None) -> tuple[np.ndarray, str]:
    """Known model -> one-hot; else placed by rating from `anchors` or `extra` (e.g. the leaderboard)."""
    if name in model_index:
        w = np.zeros(len(model_index), dtype=np.float32)
        w[model_index[name]] = 1.0
        return w, "learned"
    r = anchors.get(name, (extra or {}).get(name))
    if r is None:
        raise KeyError(f"model {name!r} is neither known to the router nor rated")
    return place(r, anchors, model_index), f"placed by rating {r}"

"""RouteLLM's router metrics, reproduced exactly from lm-sys/RouteLLM routellm/evals/{benchmarks,evaluate}.py.

Threshold sweep (benchmarks.py `evaluate`): thresholds = the bin edges of `pd.qcut(scores, num_results=10)`,
i.e. the 0, 0.1, ..., 1.0 quantiles (linear interpolation); for edge i the router calls the strong model where
`score >= edge` (and `score > edge` for the last edge, so that the last point has no strong call). Each point is
(strong_percentage = strong calls / total * 100, quality = mean quality of the routed answers).

APGR (evaluate.py `apgr_metric`): (trapz(quality, pct/100) - weak_auc) / (strong_auc - weak_auc), with the points
sorted by strong_percentage and weak_auc/strong_auc the trapezoid of the constant weak/strong quality over the
same points. PGR at a point = (quality - q_weak) / (q_strong - q_weak).

CPT(x) (evaluate.py `pct_call_metric`): np.interp(x * (q_strong - q_weak) + q_weak, quality, strong_percentage),
the points sorted by strong_percentage (RouteLLM passes the quality column as np.interp's xp as it stands).

Also reported, clearly labelled as ours:
  - apgr_10pt: the paper's "average of 10 evenly spaced points": mean PGR at the 10 swept points with strong calls
    > 0 (c ~ 0.1, 0.2, ..., 1.0).
  - apgr_fine / cpt_fine: the same quantities on the full sweep (every distinct threshold), CPT as the smallest
    strong-call fraction whose PGR reaches x.
"""
from __future__ import annotations

import numpy as np


def _trapz(y, x):
    y = np.asarray(y, dtype=np.float64)
    x = np.asarray(x, dtype=np.float64)
    return float(np.sum((x[1:] - x[:-1]) * (y[1:] + y[:-1]) / 2.0))


def routellm_points(scores: np.ndarray, q_strong: np.ndarray, q_weak: np.ndarray, num_results: int = 10):
    """Returns arrays (pct in [0,100], quality) sorted by pct, as RouteLLM's evaluate loop produces them."""
    s = np.asarray(scores, dtype=np.float64)
    edges = np.quantile(s, np.linspace(0.0, 1.0, num_results + 1))  # == pd.qcut(..., retbins=True)[1]
    pct, qual = [], []
    n = len(s)
    for i, t in enumerate(edges):
        sel = s >= t if i != len(edges) - 1 else s > t
        res = np.where(sel, q_strong, q_weak)
        pct.append(sel.sum() / n * 100.0)
        qual.append(res.mean())
    pct = np.array(pct)
    qual = np.array(qual)
    order = np.argsort(pct, kind="stable")  # sort_values(by=["strong_percentage"])
    return pct[order], qual[order]


def routellm_metrics(scores, q_strong, q_weak, num_results: int = 10) -> dict:
    q_strong = np.asarray(q_strong, dtype=np.float64)
    q_weak = np.asarray(q_weak, dtype=np.float64)
    strong_acc, weak_acc = float(q_strong.mean()), float(q_weak.mean())
    pct, qual = routellm_points(scores, q_strong, q_weak, num_results)
    x = pct / 100.0
    auc = _trapz(qual, x)
    weak_auc = _trapz(np.full(len(x), weak_acc), x)
    strong_auc = _trapz(np.full(len(x), strong_acc), x)
    gap = strong_acc - weak_acc
    apgr = (auc - weak_auc) / (strong_auc - weak_auc) if strong_auc != weak_auc else float("nan")
    cpt = {}
    for p in (0.2, 0.5, 0.8):
        cpt[f"cpt{int(p * 100)}"] = float(np.interp(p * gap + weak_acc, qual, pct)) / 100.0
    pgr = (qual - weak_acc) / gap if gap != 0 else np.full(len(qual), np.nan)
    apgr10 = float(np.mean(pgr[pct > 0])) if np.any(pct > 0) else float("nan")
    fine = fine_metrics(scores, q_strong, q_weak)
    return {"apgr": float(apgr), "apgr_10pt": apgr10, **cpt, **fine,
            "q_strong": strong_acc, "q_weak": weak_acc, "n": int(len(q_strong)),
            "curve": {"strong_fraction": [round(float(v), 6) for v in x], "pgr": [round(float(v), 6) for v in pgr]}}


def fine_metrics(scores, q_strong, q_weak) -> dict:
    """Full sweep: route the top-k prompts by score to the strong model for every k (ties broken by order)."""
    s = np.asarray(scores, dtype=np.float64)
    d = np.asarray(q_strong, dtype=np.float64) - np.asarray(q_weak, dtype=np.float64)
    n = len(s)
    order = np.argsort(-s, kind="stable")
    gain = np.concatenate([[0.0], np.cumsum(d[order])]) / n  # quality - q_weak at k strong calls
    gap = d.mean()
    if gap == 0:
        return {"apgr_fine": float("nan"), "cpt50_fine": float("nan"), "cpt80_fine": float("nan")}
    pgr = gain / gap
    c = np.arange(n + 1) / n
    out = {"apgr_fine": _trapz(pgr, c)}
    for p in (0.5, 0.8):
        hit = np.flatnonzero(pgr >= p - 1e-12)
        out[f"cpt{int(p * 100)}_fine"] = float(c[hit[0]]) if len(hit) else 1.0
    return out


def oracle_metrics(q_strong, q_weak) -> dict:
    """The optimal router (RouteLLM `get_optimal_accuracy`): strong calls go to the prompts with the largest
    q_strong - q_weak first, and only where it helps; APGR by trapezoid over c = 0, 0.1, ..., 1."""
    d = np.asarray(q_strong, dtype=np.float64) - np.asarray(q_weak, dtype=np.float64)
    n = len(d)
    gap = d.mean()
    pos = np.sort(d[d > 0])[::-1]
    cs = np.linspace(0, 1, 11)
    pgr = []
    for c in cs:
        k = int(n * c)
        pgr.append(pos[:k].sum() / n / gap)
    cum = np.concatenate([[0.0], np.cumsum(pos)]) / n / gap
    out = {"apgr": _trapz(pgr, cs), "apgr_10pt": float(np.mean(pgr[1:]))}
    for p in (0.5, 0.8):
        hit = np.flatnonzero(cum >= p - 1e-12)
        out[f"cpt{int(p * 100)}"] = float(hit[0] / n) if len(hit) else 1.0
    return out


def random_metrics(q_strong, q_weak, seeds: int = 200) -> dict:
    """RouteLLM's random router (uniform random scores), averaged over seeds. Expected APGR ~ 0.5."""
    acc = {}
    for sd in range(seeds):
        r = np.random.default_rng(sd).random(len(q_strong))
        m = routellm_metrics(r, q_strong, q_weak)
        for k in ("apgr", "apgr_10pt", "cpt50", "cpt80", "apgr_fine"):
            acc.setdefault(k, []).append(m[k])
    return {k: float(np.mean(v)) for k, v in acc.items()}


def bootstrap_ci(fn, n: int, B: int = 1000, seed: int = 0, alpha: float = 0.05):
    """Percentile CI of fn(idx) over B resamples of range(n) with replacement."""
    rng = np.random.default_rng(seed)
    vals = []
    for _ in range(B):
        idx = rng.integers(0, n, n)
        v = fn(idx)
        if np.isfinite(v):
            vals.append(v)
    vals = np.array(vals)
    return [float(np.quantile(vals, alpha / 2)), float(np.quantile(vals, 1 - alpha / 2))]

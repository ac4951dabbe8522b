"""The simple baseline the embedding has to beat: prompt length + keyword/regex features + logistic regression.

Trained on the same training pairs as the router, oriented so that the first model is the one with the higher
mean quality on that dataset (the baseline cannot tell models apart, only prompts): label = P(the better model
is needed). Soft labels are fed as two weighted rows (y=1 with weight w*y, y=0 with weight w*(1-y)).
"""
from __future__ import annotations

import re

import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.preprocessing import StandardScaler

KEYWORDS = {
    "math": r"\b(prove|proof|theorem|integral|derivative|equation|solve|calculate|compute|probability|matrix|"
            r"polynomial|sum of|how many|what is the value)\b",
    "code": r"\b(code|function|python|javascript|java|c\+\+|sql|regex|implement|algorithm|compile|bug|error|"
            r"script|class|api|def|return)\b",
    "reasoning": r"\b(why|explain|analy[sz]e|compare|evaluate|reason|step by step|justify|argue)\b",
    "writing": r"\b(write|story|poem|essay|letter|email|rewrite|summari[sz]e|translate|draft)\b",
    "chitchat": r"^\s*(hi|hello|hey|thanks|thank you|good (morning|night)|how are you)\b",
    "factual": r"\b(who|when|where|what is|define|capital of|name)\b",
    "choice": r"(^|\n)\s*[A-D][\.\)]\s",
}
_KW = {k: re.compile(v, re.I | re.M) for k, v in KEYWORDS.items()}


def prompt_features(texts: list[str]) -> np.ndarray:
    rows = []
    for t in texts:
        n_chars = len(t)
        words = t.split()
        digits = sum(ch.isdigit() for ch in t)
        rows.append([
            np.log1p(n_chars), np.log1p(len(words)), np.log1p(t.count("\n")),
            digits / max(1, n_chars), sum(ch in "=+-*/^<>" for ch in t) / max(1, n_chars),
            float("```" in t or "    " in t), float("?" in t), t.count("?"),
            np.mean([len(w) for w in words]) if words else 0.0,
            *[float(bool(r.search(t))) for r in _KW.values()],
            *[len(r.findall(t)) for r in _KW.values()],
        ])
    return np.array(rows, dtype=np.float64)


class Baseline:
    def __init__(self, C: float = 1.0):
        self.scaler = StandardScaler()
        self.lr = LogisticRegression(C=C, max_iter=5000)

    def fit(self, tables: dict, weights: dict, taus: dict):
        X, Y, W = [], [], []
        for name, t in tables.items():
            if weights.get(name, 0) <= 0:
                continue
            F = prompt_features(t.prompts)
            means = np.nanmean(t.Q, axis=0)
            K = len(t.models)
            rows_y, rows_w, rows_i = [], [], []
            per_prompt = np.zeros(len(t.prompts))
            for i in range(len(t.prompts)):
                for a in range(K):
                    for b in range(a + 1, K):
                        qa, qb = t.Q[i, a], t.Q[i, b]
                        if np.isnan(qa) or np.isnan(qb):
                            continue
                        if means[a] < means[b]:
                            qa, qb = qb, qa
                        rows_y.append(0.5 + 0.5 * np.clip((qa - qb) / taus[name], -1, 1))
                        rows_i.append(i)
                        per_prompt[i] += 1
            n_prompts = (per_prompt > 0).sum()
            for i, y in zip(rows_i, rows_y):
                w = weights[name] / n_prompts / per_prompt[i]
                X += [F[i], F[i]]
                Y += [1, 0]
                W += [w * y, w * (1 - y)]
        X = self.scaler.fit_transform(np.array(X))
        W = np.array(W)
        self.lr.fit(X, np.array(Y), sample_weight=W / W.mean())
        return self

    def score(self, texts: list[str]) -> np.ndarray:
        return self.lr.predict_proba(self.scaler.transform(prompt_features(texts)))[:, 1]

"""Static token embeddings distilled from the teacher (the Model2Vec recipe, done with numpy + onnxruntime).

1. Every vocabulary token t is encoded alone as [CLS] t [SEP] by the teacher transformer; its mean-pooled
   output (before normalisation) is the token's vector.
2. PCA (centred, SVD) to `dim` dimensions.
3. SIF weighting: vector * a / (a + p(t)), p(t) the token's relative frequency in an unlabeled corpus
   (training-split prompts + the unlabeled Arena-Hard prompts; never the held-out test prompts), with
   add-one smoothing. Frequent, uninformative tokens ([CLS], [SEP], "the", "?") are shrunk.
A prompt's embedding is then the mean of its tokens' vectors: a Gather and a ReduceSum in ONNX, O(tokens * dim),
which is what makes the 512-token latency budget reachable (see bench_latency.py for the transformer numbers).
"""
from __future__ import annotations

import numpy as np

from .encoder import build_transformer_graph, encode_batches, ort_session


def teacher_token_vectors(weights, config, batch: int = 1024, threads: int = 1) -> np.ndarray:
    sess = ort_session(build_transformer_graph(weights, config, normalize=False).SerializeToString(), threads)
    V = config["vocab_size"]
    encs = [[101, t, 102] for t in range(V)]
    return encode_batches(sess, encs, batch_size=batch)


def pca(X: np.ndarray, dim: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Deterministic PCA: returns (projected, mean, components[dim, in]). Component signs fixed so that the
    largest-magnitude loading of each component is positive."""
    X = X.astype(np.float64)
    mu = X.mean(axis=0)
    C = np.cov((X - mu).T)
    w, v = np.linalg.eigh(C)
    order = np.argsort(w)[::-1][:dim]
    comp = v[:, order].T
    for i in range(comp.shape[0]):
        j = np.argmax(np.abs(comp[i]))
        if comp[i, j] < 0:
            comp[i] = -comp[i]
    return (X - mu) @ comp.T, mu, comp


def sif_weights(token_lists: list[list[int]], vocab_size: int, a: float = 1e-3) -> np.ndarray:
    counts = np.ones(vocab_size, dtype=np.float64)  # add-one smoothing
    for ids in token_lists:
        np.add.at(counts, np.asarray(ids, dtype=np.int64), 1.0)
    p = counts / counts.sum()
    return a / (a + p)


def build_static_table(token_vectors: np.ndarray, token_lists: list[list[int]], dim: int, sif_a: float = 1e-3):
    proj, _, _ = pca(token_vectors, dim)
    w = sif_weights(token_lists, token_vectors.shape[0], sif_a)
    return (proj * w[:, None]).astype(np.float32)


def quantize_rows_int8(E: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Symmetric per-row int8: E ~= q * scale[:, None]."""
    amax = np.abs(E).max(axis=1)
    scale = np.where(amax > 0, amax / 127.0, 1.0).astype(np.float32)
    q = np.clip(np.rint(E / scale[:, None]), -127, 127).astype(np.int8)
    return q, scale


def pool(E: np.ndarray, token_lists: list[list[int]]) -> np.ndarray:
    """Mean of token vectors, then L2 normalisation (mirrors the ONNX graph; float32 throughout)."""
    out = np.zeros((len(token_lists), E.shape[1]), dtype=np.float32)
    for i, ids in enumerate(token_lists):
        v = E[np.asarray(ids, dtype=np.int64)].sum(axis=0, dtype=np.float32) / np.float32(len(ids))
        out[i] = v
    n = np.sqrt((out * out).sum(axis=1, keepdims=True))
    return out / np.maximum(n, 1e-12)

#!/usr/bin/env python3
"""`make router-bench`: classification latency and memory at ONE thread (onnxruntime, Python), batch 1.

Measures the shipped router.onnx (static int8 table + head, the whole classification) and, for the record, the
transformer it was distilled from (all-MiniLM-L6-v2 + the same pooling), fp32 and dynamic-int8, to show why the
transformer is not shipped. Tokenisation is excluded (done by the TS tokenizer in the sidecar) and timed
separately with the Python `tokenizers` library for reference. Writes router/results/latency.json.
"""
from __future__ import annotations

import os

for _v in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_v] = "1"

import json
import platform
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from triage_router.encoder import build_transformer_graph, load_teacher, ort_session  # noqa: E402
from triage_router.pipeline import tokenizer  # noqa: E402

LENGTHS = [8, 32, 128, 256, 512]


def rss_mib() -> float:
    for line in open("/proc/self/status"):
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024.0
    return float("nan")


def time_session(sess, feeds_fn, n: int, warmup: int = 20) -> dict:
    for _ in range(warmup):
        sess.run(None, feeds_fn())
    ts = []
    for _ in range(n):
        f = feeds_fn()
        t0 = time.perf_counter_ns()
        sess.run(None, f)
        ts.append((time.perf_counter_ns() - t0) / 1e6)
    ts = np.array(ts)
    return {"p50_ms": round(float(np.percentile(ts, 50)), 4), "p99_ms": round(float(np.percentile(ts, 99)), 4),
            "mean_ms": round(float(ts.mean()), 4), "n": n}


def main():
    art = HERE / "artifacts"
    manifest = json.loads((art / "manifest.json").read_text())
    K = len(manifest["models"])
    rng = np.random.default_rng(0)
    res = {"machine": {"cpu": platform.processor() or platform.machine(), "python": platform.python_version(),
                       "onnxruntime": __import__("onnxruntime").__version__, "threads": 1, "batch": 1},
           "router": {}, "transformer_fp32": {}, "transformer_int8": {}}

    def feeds(L, with_models=True):
        def f():
            ids = rng.integers(1000, 30000, size=(1, L), dtype=np.int64)
            ids[0, 0], ids[0, -1] = 101, 102
            d = {"input_ids": ids, "attention_mask": np.ones_like(ids)}
            if with_models:
                s = np.zeros((1, K), dtype=np.float32)
                w = np.zeros((1, K), dtype=np.float32)
                s[0, 0] = 1
                w[0, 1] = 1
                d["strong_weights"], d["weak_weights"] = s, w
            return d
        return f

    r0 = rss_mib()
    sess = ort_session((art / "router.onnx").read_bytes(), 1)
    for L in LENGTHS:
        res["router"][str(L)] = time_session(sess, feeds(L), 2000)
    res["router_rss_added_mib"] = round(rss_mib() - r0, 1)
    res["router_file_mib"] = round((art / "router.onnx").stat().st_size / 2**20, 2)
    print("router", json.dumps(res["router"]), "rss+", res["router_rss_added_mib"], "MiB", flush=True)

    tok = tokenizer((art / "tokenizer.json").read_text(encoding="utf-8"))
    text = "Explain the difference between a mutex and a semaphore, with an example in C. " * 40
    ts = []
    for _ in range(200):
        t0 = time.perf_counter_ns()
        tok.encode(text)
        ts.append((time.perf_counter_ns() - t0) / 1e6)
    res["python_tokenizer_512_tokens_p50_ms"] = round(float(np.median(ts)), 4)

    weights, conf, _ = load_teacher()
    fp32 = build_transformer_graph(weights, conf).SerializeToString()
    r0 = rss_mib()
    ts32 = ort_session(fp32, 1)
    for L in LENGTHS:
        res["transformer_fp32"][str(L)] = time_session(ts32, feeds(L, False), 30 if L >= 256 else 100, 3)
    res["transformer_fp32_rss_added_mib"] = round(rss_mib() - r0, 1)
    print("transformer fp32", json.dumps(res["transformer_fp32"]), flush=True)
    del ts32
    from onnxruntime.quantization import QuantType, quantize_dynamic
    with tempfile.TemporaryDirectory() as d:
        src, dst = Path(d) / "t.onnx", Path(d) / "t8.onnx"
        src.write_bytes(fp32)
        quantize_dynamic(str(src), str(dst), weight_type=QuantType.QInt8)
        q8 = dst.read_bytes()
    res["transformer_int8_file_mib"] = round(len(q8) / 2**20, 2)
    r0 = rss_mib()
    ts8 = ort_session(q8, 1)
    for L in LENGTHS:
        res["transformer_int8"][str(L)] = time_session(ts8, feeds(L, False), 30 if L >= 256 else 100, 3)
    res["transformer_int8_rss_added_mib"] = round(rss_mib() - r0, 1)
    print("transformer int8", json.dumps(res["transformer_int8"]), flush=True)
    out = HERE / "results" / "latency.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(res, indent=1) + "\n")
    print("wrote", out)


if __name__ == "__main__":
    main()

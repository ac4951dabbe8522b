"""The fused router graph: token ids + two model mixtures -> P(strong needed). One ONNX file, one session.

    input_ids       int64   [batch, seq]   tokenizer.json ids ([CLS] ... [SEP]), right-padded with 0
    attention_mask  int64   [batch, seq]   1 for real tokens, 0 for padding
    strong_weights  float32 [batch, K]     mixture over the manifest's model table (one-hot for a known model)
    weak_weights    float32 [batch, K]
 -> score           float32 [batch]        sigmoid(logit(strong) - logit(weak))
    model_logits    float32 [batch, K]     per-model logits (N-model routing in one call)

Inside: int8 static table (per-row scale) -> Gather -> masked mean -> L2 norm -> [.., log(n)/log(512)]
-> Linear -> act -> Linear to K model logits -> mixture difference -> Sigmoid. Opset 17, IR 8.
"""
from __future__ import annotations

import numpy as np
import onnx
from onnx import TensorProto, helper

from .encoder import OPSET, _G
from .pipeline import LEN_NORM


def build_router_graph(Eq: np.ndarray, Escale: np.ndarray, head, model_names: list[str], version: str) -> onnx.ModelProto:
    g = _G()
    K = len(model_names)
    f32 = lambda a: np.ascontiguousarray(np.asarray(a, dtype=np.float32))
    i64 = lambda a: np.asarray(a, dtype=np.int64)
    tab = g.const(np.ascontiguousarray(Eq.astype(np.int8)), "token_table_int8")
    scl = g.const(f32(Escale), "token_scale")
    q = g.op("Gather", [tab, "input_ids"], axis=0)                 # [B,S,D] int8
    qf = g.op("Cast", [q], to=TensorProto.FLOAT)
    sc = g.op("Gather", [scl, "input_ids"], axis=0)                # [B,S]
    maskf = g.op("Cast", ["attention_mask"], to=TensorProto.FLOAT)
    wts = g.op("Mul", [sc, maskf])                                 # scale * mask
    wts3 = g.op("Unsqueeze", [wts, g.const(i64([2]))])
    summed = g.op("ReduceSum", [g.op("Mul", [qf, wts3]), g.const(i64([1]))], keepdims=0)   # [B,D]
    cnt = g.op("ReduceSum", [maskf, g.const(i64([1]))], keepdims=1)                         # [B,1]
    cnt = g.op("Max", [cnt, g.const(f32(1.0))])
    mean = g.op("Div", [summed, cnt])
    nrm = g.op("ReduceL2", [mean], axes=[1], keepdims=1)
    nrm = g.op("Max", [nrm, g.const(f32(1e-12))])
    pooled = g.op("Div", [mean, nrm])
    lenf = g.op("Mul", [g.op("Log", [cnt]), g.const(f32(1.0 / LEN_NORM))])                 # [B,1]
    x = g.op("Concat", [pooled, lenf], axis=1)
    z = g.op("Add", [g.op("MatMul", [x, g.const(f32(head.W1), "W1")]), g.const(f32(head.b1), "b1")])
    if head.act == "relu":
        h = g.op("Relu", [z])
    elif head.act == "tanh":
        h = g.op("Tanh", [z])
    else:
        h = z
    logits = g.op("Add", [g.op("MatMul", [h, g.const(f32(head.M.T), "model_embeddings_T")]),
                          g.const(f32(head.beta), "model_bias")])                           # [B,K]
    diff = g.op("Sub", ["strong_weights", "weak_weights"])
    d = g.op("ReduceSum", [g.op("Mul", [logits, diff]), g.const(i64([1]))], keepdims=0)     # [B]
    g.nodes.append(helper.make_node("Sigmoid", [d], ["score"], name="score"))
    g.nodes.append(helper.make_node("Identity", [logits], ["model_logits"], name="model_logits"))
    graph = helper.make_graph(
        g.nodes, "triage_router",
        [helper.make_tensor_value_info("input_ids", TensorProto.INT64, ["batch", "seq"]),
         helper.make_tensor_value_info("attention_mask", TensorProto.INT64, ["batch", "seq"]),
         helper.make_tensor_value_info("strong_weights", TensorProto.FLOAT, ["batch", K]),
         helper.make_tensor_value_info("weak_weights", TensorProto.FLOAT, ["batch", K])],
        [helper.make_tensor_value_info("score", TensorProto.FLOAT, ["batch"]),
         helper.make_tensor_value_info("model_logits", TensorProto.FLOAT, ["batch", K])],
        g.inits,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)], producer_name="triage-router",
                              producer_version=version, doc_string="Triage router: P(strong model needed | prompt)")
    model.ir_version = 8
    for k, v in (("triage.version", version), ("triage.models", ",".join(model_names))):
        e = model.metadata_props.add()
        e.key, e.value = k, v
    onnx.checker.check_model(model)
    return model


def run_router(sess, token_lists: list[list[int]], strong: np.ndarray, weak: np.ndarray, batch: int = 64):
    """Score prompts with an ONNX router session. strong/weak: [n, K] mixtures (or [K], broadcast)."""
    n = len(token_lists)
    strong = np.broadcast_to(np.asarray(strong, dtype=np.float32), (n, strong.shape[-1]))
    weak = np.broadcast_to(np.asarray(weak, dtype=np.float32), (n, weak.shape[-1]))
    out = np.zeros(n, dtype=np.float32)
    logits = None
    for s in range(0, n, batch):
        idx = range(s, min(n, s + batch))
        L = max(len(token_lists[i]) for i in idx)
        ids = np.zeros((len(idx), L), dtype=np.int64)
        mask = np.zeros((len(idx), L), dtype=np.int64)
        for r, i in enumerate(idx):
            ids[r, :len(token_lists[i])] = token_lists[i]
            mask[r, :len(token_lists[i])] = 1
        sc, lg = sess.run(["score", "model_logits"], {"input_ids": ids, "attention_mask": mask,
                                                       "strong_weights": np.ascontiguousarray(strong[s:s + len(idx)]),
                                                       "weak_weights": np.ascontiguousarray(weak[s:s + len(idx)])})
        out[s:s + len(idx)] = sc
        if logits is None:
            logits = np.zeros((n, lg.shape[1]), dtype=np.float32)
        logits[s:s + len(idx)] = lg
    return out, logits

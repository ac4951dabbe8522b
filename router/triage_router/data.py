"""Loading the shared data in place (never copied into the repository) and the fixed, hash-based splits.

Every dataset becomes a `Benchmark`-like table: prompts, a set of models, and a quality matrix
Q[prompt, model] (NaN = missing), with values on the dataset's own scale:
  - routellm-evals/mmlu:   correctness 0/1 of gpt-4-1106-preview and Mixtral-8x7B (Apache-2.0 / MIT)
  - arena-hard/arena-bench-v1: GPT-4 score 1..10 of 15 models (Apache-2.0)
  - llmrouter-dcrouter:    correctness (mostly 0/1) of 9 open models (MIT)
  - alpacaeval-pairwise:   preference vs gpt-4-1106-preview (CC BY-NC 4.0: evaluation only, never training
                           for the shipped default)
"""
from __future__ import annotations

import csv
import glob
import hashlib
import json
import os
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

# The repo root is router/..; the shared data lives beside the repo: ../shared/data relative to the root.
REPO_ROOT = Path(__file__).resolve().parents[2]
DATA_DIR = Path(os.environ.get("TRIAGE_DATA_DIR", REPO_ROOT / ".." / "shared" / "data")).resolve()

# Canonical model names (the router's model table uses these).
GPT4_1106 = "gpt-4-1106-preview"
MIXTRAL = "mixtral-8x7b-instruct-v0.1"

_ARENA_NAME = {
    "gpt-4-1106-preview": GPT4_1106,
    "gpt-4-0314": "gpt-4-0314",
    "gpt-3.5-turbo": "gpt-3.5-turbo-0613",  # arena-bench-v1 (Dec 2023) "gpt-3.5-turbo" = the 0613 snapshot then served
    "gpt-3.5-turbo-1106": "gpt-3.5-turbo-1106",
    "mistralai/Mixtral-8x7B-Instruct-v0.1": MIXTRAL,
    "claude-2.1": "claude-2.1",
    "claude-1": "claude-1",
    "claude-instant-1": "claude-instant-1",
    "Starling-LM-7B-alpha": "starling-lm-7b-alpha",
    "openchat_3.5": "openchat-3.5",
    "vicuna-33b-v1.3": "vicuna-33b-v1.3",
    "Llama-2-70b-chat": "llama-2-70b-chat",
    "mistralai/Mistral-7B-Instruct-v0.1": "mistral-7b-instruct-v0.1",
    "palm-2-chat-bison-001": "palm-2-chat-bison-001",
    "llama-13b": "llama-13b",
}

# AlpacaEval generator names -> canonical names (only models we can place: known to the router or rated).
ALPACA_NAME = {
    "Mixtral-8x7B-Instruct-v0.1": MIXTRAL,
    "claude-2.1": "claude-2.1",
    "gpt-3.5-turbo-1106": "gpt-3.5-turbo-1106",
    "llama-2-70b-chat-hf": "llama-2-70b-chat",
    "vicuna-33b-v1.3": "vicuna-33b-v1.3",
    "Mistral-7B-Instruct-v0.2": "mistral-7b-instruct-v0.2",
    "gemini-pro": "gemini-pro",
    "tulu-2-dpo-70b": "tulu-2-dpo-70b",
    "claude-2": "claude-2.0",
    "gemma-7b-it": "gemma-7b-it",
    "gemma-2b-it": "gemma-2b-it",
}
# For models with several annotator files, the one used (binary GPT-4-Turbo judge, same for all where possible).
ALPACA_ANNOTATOR_PREF = ["alpaca_eval_gpt4_turbo_fn", "weighted_alpaca_eval_gpt4_turbo", "alpaca_eval_cot_gpt4_turbo_fn"]

DC_EXCLUDE = {"llama3-chatqa-1.5-70b", "llama3-chatqa-1.5-8b"}  # format mismatch upstream (see SOURCE.md)


@dataclass
class Table:
    name: str
    prompts: list[str]
    models: list[str]
    Q: np.ndarray  # [n_prompts, n_models] float, NaN = missing
    groups: list[str]  # split unit per prompt (subject / question id / task)
    scale: float = 1.0  # range of the quality scale (for label construction)
    meta: dict = field(default_factory=dict)

    def subset(self, mask: np.ndarray, name: str | None = None) -> "Table":
        idx = np.flatnonzero(mask)
        return Table(name or self.name, [self.prompts[i] for i in idx], list(self.models), self.Q[idx],
                     [self.groups[i] for i in idx], self.scale, dict(self.meta))

    def col(self, model: str) -> np.ndarray:
        return self.Q[:, self.models.index(model)]


def h01(key: str, salt: str = "triage-router-v1") -> float:
    """Stable hash in [0,1) for split assignment."""
    d = hashlib.sha256((salt + "|" + key).encode("utf-8")).digest()
    return int.from_bytes(d[:8], "big") / 2**64


def split_of(key: str, test: float, val: float) -> str:
    u = h01(key)
    return "test" if u < test else ("val" if u < test + val else "train")


def _norm(s: str) -> str:
    return re.sub(r"\s+", " ", s.strip().lower())


# ---------------------------------------------------------------------------------------------------------- MMLU
def load_mmlu() -> Table:
    base = DATA_DIR / "routellm-evals" / "mmlu"
    contaminated = set()
    with open(base / "contaminated_prompts.jsonl") as f:
        for line in f:
            contaminated.add(json.loads(line)["eval_prompt"])
    prompts, q, groups = [], [], []
    for path in sorted(glob.glob(str(base / "responses" / "mmlu_*.csv"))):
        subject = Path(path).stem[len("mmlu_"):]
        with open(path, newline="") as f:
            for row in csv.DictReader(f):
                if row["prompt"] in contaminated:  # RouteLLM drops these eval prompts
                    continue
                prompts.append(row["prompt"])
                q.append([row["gpt-4-1106-preview"] == "True", row["mistralai/Mixtral-8x7B-Instruct-v0.1"] == "True"])
                groups.append(subject)
    return Table("mmlu", prompts, [GPT4_1106, MIXTRAL], np.array(q, dtype=np.float64), groups, 1.0)


def mmlu_split(subject: str) -> str:
    # whole subjects held out: ~20% test, ~25% validation (many subjects in validation: between-subject
    # differences dominate MMLU routing, so a validation set of few subjects is too noisy to select on)
    return split_of("mmlu:" + subject, 0.20, 0.25)


# ----------------------------------------------------------------------------------------------- arena-bench-v1
def load_arena_bench() -> Table:
    base = DATA_DIR / "arena-hard" / "arena-bench-v1"
    qs = [json.loads(l) for l in open(base / "question.jsonl")]
    models = sorted(set(_ARENA_NAME.values()))
    pos = {q["question_id"]: i for i, q in enumerate(qs)}
    Q = np.full((len(qs), len(models)), np.nan)
    with open(base / "gpt4_scores.csv", newline="") as f:
        for row in csv.DictReader(f):
            if row["score"] == "":
                continue
            Q[pos[row["question_id"]], models.index(_ARENA_NAME[row["model"]])] = float(row["score"])
    return Table("arena-bench-v1", [q["turns"][0] for q in qs], models, Q, [q["question_id"] for q in qs], 9.0)


ARENA_FOLDS = 5


def arena_fold(qid: str) -> int:
    return int(h01("arena:" + qid) * ARENA_FOLDS)


def arena_split(qid: str, test_fold: int = 0) -> str:
    f = arena_fold(qid)
    return "test" if f == test_fold else ("val" if f == (test_fold + 1) % ARENA_FOLDS else "train")


# ------------------------------------------------------------------------------------------------------ dcrouter
def load_dcrouter(part: str = "train") -> Table:
    rows = [json.loads(l) for l in open(DATA_DIR / "llmrouter-dcrouter" / f"{part}.jsonl")]
    models = sorted(m for m in rows[0]["scores"] if m not in DC_EXCLUDE)
    Q = np.array([[r["scores"].get(m, np.nan) for m in models] for r in rows], dtype=np.float64)
    return Table(f"dcrouter-{part}", [r["question"] for r in rows], models, Q, [r["task_name"] for r in rows], 1.0)


def decontaminate(table: Table, against: list[str]) -> Table:
    """Drop rows whose normalised text shares its first 80 characters with any prompt in `against`."""
    keys = {_norm(p)[:80] for p in against}
    keep = np.array([_norm(p)[:80] not in keys for p in table.prompts])
    out = table.subset(keep)
    out.meta["decontaminated"] = int((~keep).sum())
    return out


# ----------------------------------------------------------------------------------------------------- AlpacaEval
def load_alpacaeval() -> Table:
    """Strong = gpt-4-1106-preview (the reference); columns = canonical weak models; Q = preference in [1,2]
    (1 = reference preferred). Evaluation only (CC BY-NC 4.0)."""
    base = DATA_DIR / "alpacaeval-pairwise"
    ins = [json.loads(l) for l in open(base / "instructions.jsonl")]
    by = {}
    with open(base / "preferences_vs_gpt4_1106_preview.csv", newline="") as f:
        for row in csv.DictReader(f):
            if row["model"] not in ALPACA_NAME or row["preference"] == "":
                continue
            by.setdefault((row["model"], row["annotator"]), {})[int(row["idx"])] = float(row["preference"])
    models, cols, annot = [], [], {}
    for gen, canon in ALPACA_NAME.items():
        for a in ALPACA_ANNOTATOR_PREF:
            if (gen, a) in by:
                d = by[(gen, a)]
                cols.append([d.get(i, np.nan) for i in range(len(ins))])
                models.append(canon)
                annot[canon] = a
                break
    Q = np.array(cols, dtype=np.float64).T
    return Table("alpacaeval", [i["instruction"] for i in ins], models, Q, [i["dataset"] for i in ins], 1.0,
                 {"annotator": annot})


# ------------------------------------------------------------------------------------------ unlabeled reference set
def load_arena_hard_prompts() -> list[tuple[str, str]]:
    """Real Chatbot Arena prompts without labels (Arena-Hard v0.1 + v2.0): the calibration reference set."""
    out = []
    for sub in ("arena-hard-v0.1", "arena-hard-v2.0"):
        for line in open(DATA_DIR / "arena-hard" / sub / "question.jsonl"):
            q = json.loads(line)
            p = q["prompt"] if isinstance(q.get("prompt"), str) else q["turns"][0]["content"]
            out.append((sub + ":" + q["uid"], p))
    return out

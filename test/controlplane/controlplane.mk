# The test control plane: kube-apiserver, etcd, kubectl and helm, built from source by build.sh into a
# cache outside the repository (${TRIAGE_CACHE:-$HOME/.cache/triage}/k8s-<version>/bin). Included from
# the top-level Makefile; `make test` depends on `controlplane`. See docs/dev-controlplane.md.

CONTROLPLANE_DIR := $(patsubst %/,%,$(dir $(lastword $(MAKEFILE_LIST))))

.PHONY: controlplane controlplane-clean

controlplane: ## build kube-apiserver, etcd, kubectl and helm for the integration tests (cached; ~15 min the first time)
	@bash $(CONTROLPLANE_DIR)/build.sh

controlplane-clean: ## remove the cached control plane binaries of this version
	@rm -rf "$$(bash $(CONTROLPLANE_DIR)/build.sh --print-bin-dir)"

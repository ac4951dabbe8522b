#!/usr/bin/env bash
# Builds the test control plane binaries -- kube-apiserver, etcd, kubectl and helm --
# into a cache outside the repository:
#
#   ${TRIAGE_CACHE:-$HOME/.cache/triage}/k8s-<version>/bin/
#
# The Kubernetes version is the one required by test/controlplane/testbin/go.mod (the single
# source of truth; cluster.ts reads it from there too). Idempotent: when all four binaries
# exist and report the expected versions it exits 0 at once. The first build takes 10-20 min
# on 2 cores; Go builds run under `nice -n 19` with -p 1 so they yield the CPU to other jobs.
#
# Usage: build.sh                  build what is missing or stale
#        build.sh --print-bin-dir  print the binary directory and exit
# Environment:
#   TRIAGE_CACHE   cache root (default $HOME/.cache/triage)
#   FORCE=1        rebuild even if the binaries are present and current
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
testbin="$here/testbin"

HELM_VERSION="v3.18.6"

die() { echo "controlplane: ERROR: $*" >&2; exit 1; }
log() { echo "controlplane: $*"; }

K8S_VERSION="$(awk '$1 == "k8s.io/kubernetes" && $2 ~ /^v1\./ { print $2; exit }' "$testbin/go.mod")"
[[ -n "$K8S_VERSION" ]] || die "cannot read the k8s.io/kubernetes version from $testbin/go.mod"
ETCD_VERSION="$(awk '$1 == "go.etcd.io/etcd/server/v3" && $2 ~ /^v3\./ { print $2; exit }' "$testbin/go.mod")"
[[ -n "$ETCD_VERSION" ]] || die "cannot read the go.etcd.io/etcd/server/v3 version from $testbin/go.mod"
minor="${K8S_VERSION#v1.}"; minor="${minor%%.*}"

cache="${TRIAGE_CACHE:-$HOME/.cache/triage}"
bin="$cache/k8s-$K8S_VERSION/bin"

if [[ "${1:-}" == --print-bin-dir ]]; then echo "$bin"; exit 0; fi
[[ $# -eq 0 ]] || die "unknown argument: $1 (usage: build.sh [--print-bin-dir])"

# --- fast path: everything present and at the right version ---------------------------------
check() { # name -> 0 if $bin/name exists and reports the expected version
  local out
  case "$1" in
    kube-apiserver) out="$("$bin/kube-apiserver" --version 2>/dev/null)" && [[ "$out" == "Kubernetes $K8S_VERSION" ]] ;;
    kubectl)        out="$("$bin/kubectl" version --client 2>/dev/null)" && [[ "$out" == *"Client Version: $K8S_VERSION"* ]] ;;
    etcd)           out="$("$bin/etcd" --version 2>/dev/null)" && [[ "$out" == *"etcd Version: ${ETCD_VERSION#v}"* ]] ;;
    helm)           out="$("$bin/helm" version --short 2>/dev/null)" && [[ "$out" == "$HELM_VERSION"* ]] ;;
  esac
}

missing=()
for b in kube-apiserver etcd kubectl helm; do
  if [[ "${FORCE:-}" == 1 ]] || ! [[ -x "$bin/$b" ]] || ! check "$b"; then missing+=("$b"); fi
done
if [[ ${#missing[@]} -eq 0 ]]; then
  log "kube-apiserver/kubectl $K8S_VERSION, etcd $ETCD_VERSION, helm $HELM_VERSION up to date in $bin"
  exit 0
fi

# --- build -----------------------------------------------------------------------------------
command -v go >/dev/null 2>&1 || die "go is not on PATH (Go >= 1.24 builds kube-apiserver, etcd, kubectl and helm)"
export GOTOOLCHAIN=local CGO_ENABLED=0 GOFLAGS="-p=1 -buildvcs=false"
gover="$(go env GOVERSION)"
[[ "$gover" =~ ^go1\.([0-9]+) ]] && (( BASH_REMATCH[1] >= 24 )) || die "Go >= 1.24 is needed, found ${gover:-none}"
mkdir -p "$bin"
log "building ${missing[*]} into $bin with $gover (first build: 10-20 min on 2 cores)"

k8s_ldflags="-s -w \
 -X k8s.io/component-base/version.gitVersion=$K8S_VERSION \
 -X k8s.io/component-base/version.gitMajor=1 \
 -X k8s.io/component-base/version.gitMinor=$minor \
 -X k8s.io/component-base/version.gitTreeState=clean \
 -X k8s.io/client-go/pkg/version.gitVersion=$K8S_VERSION \
 -X k8s.io/client-go/pkg/version.gitMajor=1 \
 -X k8s.io/client-go/pkg/version.gitMinor=$minor"

gobuild() { # dir, output, package, ldflags
  local dir="$1" out="$2" pkg="$3" ldflags="$4" t0=$SECONDS tmp="$2.tmp.$$"
  log "  go build $pkg -> $out ..."
  if ! (cd "$dir" && nice -n 19 go build -p 1 -trimpath -ldflags "$ldflags" -o "$tmp" "$pkg"); then
    rm -f "$tmp"
    die "go build $pkg failed (see the output above). If a module is missing, check the replace block of $testbin/go.mod against the staging block of k8s.io/kubernetes@$K8S_VERSION's go.mod (go mod download -json k8s.io/kubernetes@$K8S_VERSION shows where it is)"
  fi
  mv -f "$tmp" "$out"
  log "  built $(basename "$out") in $((SECONDS - t0))s"
}

needs() { local m; for m in "${missing[@]}"; do [[ "$m" == "$1" ]] && return 0; done; return 1; }

if needs kube-apiserver || needs kubectl || needs etcd; then
  log "  downloading modules for $testbin (go mod download) ..."
  (cd "$testbin" && nice -n 19 go mod download) || die "go mod download failed in $testbin (module proxy reachable? go.sum current? try: cd $testbin && GOTOOLCHAIN=local go mod tidy)"
fi
needs kube-apiserver && gobuild "$testbin" "$bin/kube-apiserver" k8s.io/kubernetes/cmd/kube-apiserver "$k8s_ldflags"
needs kubectl        && gobuild "$testbin" "$bin/kubectl"        k8s.io/kubernetes/cmd/kubectl        "$k8s_ldflags"
needs etcd           && gobuild "$testbin" "$bin/etcd"           go.etcd.io/etcd/server/v3            "-s -w"

if needs helm; then
  # helm has its own dependency graph (a different k8s.io/* set), so it is built from its own
  # module with `go install pkg@version`, which uses helm's own go.mod and go.sum.
  t0=$SECONDS
  log "  go install helm.sh/helm/v3/cmd/helm@$HELM_VERSION ..."
  gobin="$cache/k8s-$K8S_VERSION/gobin.$$"
  rm -rf "$gobin"; mkdir -p "$gobin"
  if ! GOBIN="$gobin" nice -n 19 go install -p 1 -trimpath \
      -ldflags "-s -w -X helm.sh/helm/v3/internal/version.version=$HELM_VERSION -X helm.sh/helm/v3/internal/version.gitTreeState=clean" \
      "helm.sh/helm/v3/cmd/helm@$HELM_VERSION"; then
    rm -rf "$gobin"
    die "go install helm.sh/helm/v3/cmd/helm@$HELM_VERSION failed (see the output above)"
  fi
  mv -f "$gobin/helm" "$bin/helm"; rm -rf "$gobin"
  log "  built helm in $((SECONDS - t0))s"
fi

for b in kube-apiserver etcd kubectl helm; do
  check "$b" || die "$bin/$b was built but does not report the expected version"
done
log "done: kube-apiserver/kubectl $K8S_VERSION, etcd $ETCD_VERSION, helm $HELM_VERSION in $bin"

#!/bin/sh
# Builds the Kubernetes test servers pinned by tools/kube/go.mod into the Ops cache:
# kube-apiserver, kube-controller-manager and kube-scheduler (k8s.io/kubernetes), etcd, kwok (nodes and
# kubelets simulated, with exec run locally) and kustomize; and kwok's stage definitions (node and
# pod lifecycles), which the kwok controller needs in its configuration, into BIN_DIR/../kwok-stages.
# Usage: sh tools/kube/build.sh [BIN_DIR]   (default ${OPS_CACHE_DIR:-~/.cache/ops}/bin)
set -eu
here=$(cd "$(dirname "$0")" && pwd)
bin_dir=${1:-${OPS_CACHE_DIR:-$HOME/.cache/ops}/bin}
go=$(command -v go || echo /usr/local/go/bin/go)
mkdir -p "$bin_dir"
cd "$here"
version=$("$go" list -m -f '{{.Version}}' k8s.io/kubernetes)   # e.g. v1.36.3
minor=$(echo "$version" | cut -d. -f2)
# Kubernetes binaries need their version stamped in: the API server derives its API and
# feature-gate compatibility from it.
ldflags="-s -X k8s.io/component-base/version.gitVersion=$version -X k8s.io/component-base/version.gitMajor=1 \
  -X k8s.io/component-base/version.gitMinor=$minor -X k8s.io/component-base/version.gitTreeState=clean \
  -X k8s.io/component-base/version.buildDate=1970-01-01T00:00:00Z"
# Low priority: the API server alone takes minutes of both cores.
nice -n 19 "$go" build -trimpath -ldflags="$ldflags" -o "$bin_dir/" \
  k8s.io/kubernetes/cmd/kube-apiserver k8s.io/kubernetes/cmd/kube-controller-manager \
  k8s.io/kubernetes/cmd/kube-scheduler sigs.k8s.io/kwok/cmd/kwok sigs.k8s.io/kustomize/kustomize/v5
# etcd as the API server wants it (Debian's 3.4 lacks the watch progress requests 1.36 relies on).
nice -n 19 "$go" build -trimpath -ldflags=-s -o "$bin_dir/etcd" go.etcd.io/etcd/server/v3

stages=$("$go" list -m -f '{{.Dir}}' sigs.k8s.io/kwok)/kustomize/stage
mkdir -p "$bin_dir/../kwok-stages"
cp -f "$stages/node/fast/node-initialize.yaml" "$stages/node/heartbeat/node-heartbeat.yaml" \
  "$stages/pod/fast/pod-ready.yaml" "$stages/pod/fast/pod-complete.yaml" "$stages/pod/fast/pod-delete.yaml" \
  "$bin_dir/../kwok-stages/"

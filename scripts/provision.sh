#!/bin/sh
# Installs what Ops needs outside node_modules, skipping whatever is present.
#   sh scripts/provision.sh stack   Temporal CLI + nats-server (the embedded stack), musl-tools (builds the step helper)
#   sh scripts/provision.sh test    also sshd, pssh, PostgreSQL, sudo and openssl, and the Kubernetes test servers
#                                   (etcd, kube-apiserver, controller manager, scheduler, kwok, kustomize)
#                                   built by tools/kube/build.sh (integration tests; the default)
set -eu

mode=${1:-test}
case $mode in
  stack) packages="nats-server musl-tools" ;;
  test) packages="openssh-server nats-server pssh postgresql sudo openssl musl-tools" ;;
  *) echo "usage: sh scripts/provision.sh [stack|test]" >&2; exit 2 ;;
esac

# Newest tag that `go install` accepts: later tags carry a replace directive.
TEMPORAL_CLI_VERSION=v1.5.1
cache_dir=${OPS_CACHE_DIR:-$HOME/.cache/ops}
temporal_bin=$cache_dir/bin/temporal

problems=""
say() { printf 'provision: %s\n' "$*"; }
problem() { printf 'provision: ERROR: %s\n' "$*" >&2; problems="$problems
  - $*"; }
is_root() { [ "$(id -u)" -eq 0 ]; }

# --- Debian packages: apt only runs when something is missing.
if ! command -v dpkg-query >/dev/null 2>&1; then
  problem "not a Debian system (no dpkg-query): install $packages yourself"
else
  missing=""
  for package in $packages; do
    dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q 'install ok installed' || missing="$missing $package"
  done
  if [ -z "$missing" ]; then
    say "Debian packages present: $packages"
  elif ! is_root; then
    say "not root: skipping apt-get"
    problem "missing Debian packages:$missing (as root: apt-get install -y$missing)"
  else
    say "installing Debian packages:$missing"
    export DEBIAN_FRONTEND=noninteractive
    # $missing is a list of words on purpose.
    # shellcheck disable=SC2086
    if ! { apt-get update -q && apt-get install -y -q $missing; }; then
      problem "apt-get could not install:$missing"
    fi
  fi
fi

# --- Temporal CLI (dev server), built from source into the Ops cache.
if [ -x "$temporal_bin" ]; then
  say "temporal present: $temporal_bin"
else
  go=$(command -v go || true)
  if [ -z "$go" ] && [ -x /usr/local/go/bin/go ]; then go=/usr/local/go/bin/go; fi
  if [ -z "$go" ]; then
    problem "Go not found (PATH, /usr/local/go/bin): install Go >= 1.25 from https://go.dev/dl to build the Temporal CLI"
  else
    say "building temporal $TEMPORAL_CLI_VERSION into $cache_dir/bin with $go (a few minutes)"
    if ! { mkdir -p "$cache_dir/bin" &&
      GOBIN="$cache_dir/bin" "$go" install "github.com/temporalio/cli/cmd/temporal@$TEMPORAL_CLI_VERSION"; }; then
      problem "could not build github.com/temporalio/cli/cmd/temporal@$TEMPORAL_CLI_VERSION into $cache_dir/bin"
    fi
  fi
fi

# --- Kubernetes test servers (test mode), built from the Go modules pinned in tools/kube/go.mod.
if [ "$mode" = test ]; then
  kube_missing=""
  for bin in etcd kube-apiserver kube-controller-manager kube-scheduler kwok kustomize; do
    [ -x "$cache_dir/bin/$bin" ] || kube_missing="$kube_missing $bin"
  done
  [ -f "$cache_dir/kwok-stages/pod-ready.yaml" ] || kube_missing="$kube_missing kwok-stages"
  if [ -z "$kube_missing" ]; then
    say "Kubernetes test servers present in $cache_dir/bin"
  else
    go=$(command -v go || true)
    if [ -z "$go" ] && [ -x /usr/local/go/bin/go ]; then go=/usr/local/go/bin/go; fi
    if [ -z "$go" ]; then
      problem "Go not found: needed to build the Kubernetes test servers ($kube_missing)"
    else
      say "building the Kubernetes test servers ($kube_missing) into $cache_dir/bin (about 10 minutes on 2 cores)"
      PATH="$(dirname "$go"):$PATH" sh "$(dirname "$0")/../tools/kube/build.sh" "$cache_dir/bin" ||
        problem "could not build the Kubernetes test servers (tools/kube/build.sh)"
    fi
  fi
fi

# --- sshd's privilege separation directory (lives on a tmpfs, gone after reboot).
if [ "$mode" = test ]; then
  if [ -d /run/sshd ]; then
    say "/run/sshd present"
  elif is_root; then
    say "creating /run/sshd"
    mkdir -p /run/sshd && chmod 0755 /run/sshd || problem "could not create /run/sshd"
  else
    problem "/run/sshd missing and not root to create it"
  fi
fi

if [ -n "$problems" ]; then
  printf 'provision: %s setup incomplete:%s\n' "$mode" "$problems" >&2
  exit 1
fi
say "$mode ready"

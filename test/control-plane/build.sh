#!/usr/bin/env bash
# Builds etcd, kube-apiserver, kube-controller-manager and kubectl from this Go module into ./bin.
# Skips the build when bin/ was built from the same go.mod + go.sum + this script (stamp file).
# Usage: test/control-plane/build.sh [--force]
set -euo pipefail
cd "$(dirname "$0")"

K8S_VERSION=$(awk '$1 == "k8s.io/kubernetes" { print $2; exit }' go.mod)
K8S_MINOR=$(echo "$K8S_VERSION" | cut -d. -f2)
stamp_want=$(cat go.mod go.sum build.sh | sha256sum | cut -d' ' -f1)
stamp_file=bin/.stamp

if [[ "${1:-}" != "--force" && -f "$stamp_file" && "$(cat "$stamp_file")" == "$stamp_want" \
      && -x bin/etcd && -x bin/kube-apiserver && -x bin/kube-controller-manager && -x bin/kubectl ]]; then
  echo "control-plane: bin/ is up to date for kubernetes $K8S_VERSION"
  exit 0
fi

if ! command -v go >/dev/null 2>&1; then
  echo "control-plane: 'go' is not on PATH; install Go >= $(awk '$1 == "go" { print $2 }' go.mod)" >&2
  exit 1
fi

export GOTOOLCHAIN=local CGO_ENABLED=0 GOFLAGS=-mod=mod
vpkg=k8s.io/component-base/version
ldflags="-s -w -X $vpkg.gitVersion=$K8S_VERSION -X $vpkg.gitMajor=1 -X $vpkg.gitMinor=$K8S_MINOR -X $vpkg.gitTreeState=clean"

start=$(date +%s)
echo "control-plane: building kubernetes $K8S_VERSION and etcd into $(pwd)/bin (cold builds take many minutes)"
mkdir -p bin
rm -f "$stamp_file"
go build -trimpath -ldflags "$ldflags" -o bin/kube-apiserver k8s.io/kubernetes/cmd/kube-apiserver
go build -trimpath -ldflags "$ldflags" -o bin/kube-controller-manager k8s.io/kubernetes/cmd/kube-controller-manager
# kubectl: the deploy tests apply the kustomize manifests with it, as a user would.
go build -trimpath -ldflags "$ldflags" -o bin/kubectl k8s.io/kubernetes/cmd/kubectl
go build -trimpath -ldflags "-s -w" -o bin/etcd go.etcd.io/etcd/server/v3
echo "$stamp_want" > "$stamp_file"
echo "control-plane: built in $(( $(date +%s) - start ))s; $(du -sh bin | cut -f1) in bin/"

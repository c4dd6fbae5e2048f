#!/usr/bin/env bash
# Copies the Gateway API standard-channel CRDs (config/crd/standard of the Go module
# sigs.k8s.io/gateway-api, at the version pinned in gateway-api/go.mod and checked against
# gateway-api/go.sum) into ./crds, for the integration tests to install while the gateway runs.
# The module comes from the Go module cache, fetched through the Go module proxy the first time.
# Skips when crds/ was filled from the same go.mod + go.sum + this script (stamp file).
# Kept apart from build.sh and its module so that a new Gateway API version never rebuilds
# the Kubernetes binaries.
# Usage: test/control-plane/fetch-gateway-api-crds.sh [--force]
set -euo pipefail
cd "$(dirname "$0")"

module=sigs.k8s.io/gateway-api
version=$(awk -v m="$module" '$1 == "require" && $2 == m { print $3; exit }' gateway-api/go.mod)
stamp_want=$(cat gateway-api/go.mod gateway-api/go.sum fetch-gateway-api-crds.sh | sha256sum | cut -d' ' -f1)
out=crds

if [[ "${1:-}" != "--force" && -f "$out/.stamp" && "$(cat "$out/.stamp")" == "$stamp_want" ]] && compgen -G "$out/*.yaml" >/dev/null; then
  echo "control-plane: crds/ holds the Gateway API $version standard CRDs"
  exit 0
fi

if ! command -v go >/dev/null 2>&1; then
  echo "control-plane: 'go' is not on PATH; install Go >= $(awk '$1 == "go" { print $2 }' gateway-api/go.mod)" >&2
  exit 1
fi

echo "control-plane: fetching $module $version (Go module cache) for its standard CRDs"
export GOTOOLCHAIN=local GOFLAGS=-mod=readonly
src=$(cd gateway-api && go mod download "$module" && go list -m -f '{{.Dir}}' "$module")
if [[ -z "$src" || ! -d "$src/config/crd/standard" ]]; then
  echo "control-plane: $module $version has no config/crd/standard (module directory: '${src}')" >&2
  exit 1
fi

# Only the CustomResourceDefinitions: the channel's ValidatingAdmissionPolicy (safe upgrades)
# is cluster policy, not an API the gateway reads.
tmp=$(mktemp -d "$PWD/.crds.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
for f in "$src"/config/crd/standard/*.yaml; do
  if grep -q '^kind: CustomResourceDefinition$' "$f"; then cp "$f" "$tmp/"; fi
done
chmod 755 "$tmp" && chmod 644 "$tmp"/*.yaml
echo "$version" > "$tmp/VERSION"
echo "$stamp_want" > "$tmp/.stamp"
rm -rf "$out"
mv "$tmp" "$out"
trap - EXIT
echo "control-plane: crds/ holds $(ls "$out"/*.yaml | wc -l) CRDs of Gateway API $version"

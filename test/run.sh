#!/usr/bin/env bash
# The one test command (README, `npm test`, .ci/run): installs what a fresh machine lacks,
# builds the control plane if its Go module changed, fetches the Gateway API CRDs once, checks
# types and generated code, then runs every unit and integration test once against one real
# control plane.
#
#   npm test                       # everything
#   npm test -- test/unit/x.test.ts  # only the named test files (control plane still started)
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PWD/node_modules/.bin:$PATH"

bash .ci/ensure-deps.sh
bash test/control-plane/build.sh
bash test/control-plane/fetch-gateway-api-crds.sh

# The explorer test drives Debian's chromium (not a browser download of Playwright's own).
if [[ ! -x /usr/bin/chromium ]]; then
  echo "setup: installing Debian's chromium for the explorer test" >&2
  apt_log=$(mktemp)
  if ! { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium; } >"$apt_log" 2>&1; then
    cat "$apt_log" >&2
    echo "test: installing chromium with apt-get failed (output above); the explorer test needs /usr/bin/chromium" >&2
    rm -f "$apt_log"
    exit 1
  fi
  rm -f "$apt_log"
fi

echo "test: typecheck"
tsc -p tsconfig.json
if [[ -f codegen.yml ]]; then
  echo "test: generated types are current"
  graphql-codegen --config codegen.yml --check >/dev/null || {
    echo "test: src/graphql/generated is stale: run 'npm run codegen' and commit the result" >&2
    exit 1
  }
fi

run_dir="$PWD/.tmp/run-$$"
mkdir -p "$run_dir"
cleanup() {
  # Belt and braces: every control-plane process carries $run_dir in its arguments.
  pkill -KILL -f -- "$run_dir" 2>/dev/null || true
}
trap cleanup EXIT

if [[ $# -gt 0 ]]; then files=("$@"); else files=('test/unit/**/*.test.ts' 'demo/test/**/*.test.ts' 'test/integration/**/*.test.ts'); fi
status=0
node test/harness/with-control-plane.ts --run-dir "$run_dir/control-plane" -- \
  node --test --test-concurrency=1 --test-timeout=300000 --test-reporter=spec "${files[@]}" || status=$?
if [[ $status -eq 0 ]]; then
  rm -rf "$run_dir"
else
  echo "test: failed; control-plane logs kept in $run_dir/control-plane/logs" >&2
fi
exit $status

#!/usr/bin/env bash
# Installs the project's npm dependencies (Node 24 among them) when node_modules is missing or
# was installed from another package-lock.json, rewrites graphql-jit's leaf code generation
# (src/patch-graphql-jit.js, idempotent), then bundles the explorer if it is stale and strips the
# TypeScript sources' types ahead of time (src/precompile.ts).
# Quiet when nothing needs doing.
set -euo pipefail
cd "$(dirname "$0")/.."
want=$(sha256sum package-lock.json | cut -d' ' -f1)
stamp=node_modules/.install-stamp
if [[ ! -f "$stamp" || "$(cat "$stamp")" != "$want" || ! -x node_modules/.bin/node ]]; then
  echo "setup: installing npm dependencies (includes the Node 24 runtime)" >&2
  npm ci --no-audit --no-fund --loglevel=error >&2
  echo "$want" > "$stamp"
fi
node_modules/.bin/node src/patch-graphql-jit.js
node_modules/.bin/node src/explorer/build.ts
node_modules/.bin/node --disable-warning=ExperimentalWarning src/precompile.ts

#!/usr/bin/env bash
# Node packages used as real third-party peers in tests (graphql-js, graphql-ws, gRPC for Node).
set -euo pipefail
cd "$WRENN_ROOT/tests/node"
if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund --loglevel=error
fi

#!/usr/bin/env bash
# The web console's third-party browser code (xterm.js and its fit addon) from npm, at the versions
# Wrenn.GraphQL/Console/vendor/package-lock.json pins. Wrenn.GraphQL embeds the built files when it is
# built; the silo serves them under /ui, so nothing is fetched from the internet at run time.
set -euo pipefail
cd "$WRENN_ROOT/Wrenn.GraphQL/Console/vendor"
if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund --loglevel=error
fi

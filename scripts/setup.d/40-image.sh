#!/usr/bin/env bash
# The guest image (kernel, initramfs, root filesystem with the agent); see guest/image/build.
set -euo pipefail
exec "$WRENN_ROOT/guest/image/build" "$WRENN_ROOT/artifacts/agent/wrenn-agent"

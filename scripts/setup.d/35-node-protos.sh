#!/usr/bin/env bash
# Generates the guest protocol's JavaScript (protoc-gen-es) for the Node Connect peers in
# tests/node/connect, with the protoc that Grpc.Tools ships (restored by the agent's build).
set -euo pipefail
cd "$WRENN_ROOT"
protoc=$(ls -d "${NUGET_PACKAGES:-$HOME/.nuget/packages}"/grpc.tools/*/tools/linux_x64/protoc 2>/dev/null | sort -V | tail -n 1)
[ -n "$protoc" ] || { echo "node-protos: protoc from Grpc.Tools not found: restore guest/Wrenn.Guest.Protocol first" >&2; exit 1; }
chmod +x "$protoc"
out=tests/node/connect/gen
rm -rf "$out" && mkdir -p "$out"
"$protoc" --plugin=protoc-gen-es=tests/node/node_modules/.bin/protoc-gen-es --es_out="$out" --es_opt=target=js \
  -I guest/Wrenn.Guest.Protocol/Protos guest/Wrenn.Guest.Protocol/Protos/wrenn/guest/v1/*.proto

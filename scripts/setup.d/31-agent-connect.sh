#!/usr/bin/env bash
# The last Connect agent (HTTP/1.1, Connect JSON/proto), published from the last commit before the
# agent moved to gRPC, into artifacts/agent-connect/wrenn-agent. Every snapshot, template and warm
# base frozen before the switch holds that agent in its memory: the agent probe is tested against
# it (tests/Wrenn.Guest.Tests/AgentProbeTests.cs) and bench/ measures it beside the gRPC agent.
# Its sources come from git history (git archive), are published once (NativeAOT, net9.0, about a
# minute), cached under $WRENN_CACHE/agent-connect/<commit>, and the sources are deleted again.
set -euo pipefail
cd "$WRENN_ROOT"
commit=47ed0473e9ba41016b11c575d0c0aa424d10e6a6
cached="$WRENN_CACHE/agent-connect/$commit/wrenn-agent"
if [ ! -x "$cached" ]; then
  if ! git cat-file -e "$commit^{commit}" 2>/dev/null; then
    echo "    agent-connect: commit $commit is not in this clone (shallow?): the Connect agent is not built, and the tests that need it will say so" >&2
    exit 0
  fi
  echo "    agent-connect: publishing the Connect agent of ${commit:0:12} (NativeAOT, about a minute)"
  src="$WRENN_CACHE/agent-connect/$commit.src"
  rm -rf "$src" && mkdir -p "$src"
  trap 'rm -rf "$src"' EXIT
  git archive "$commit" guest/Wrenn.Guest.Agent guest/Wrenn.Guest.Protocol Directory.Build.props global.json nuget.config | tar -x -C "$src"
  dotnet publish "$src/guest/Wrenn.Guest.Agent/Wrenn.Guest.Agent.csproj" -c Release -r linux-x64 -o "$src/out" -nologo -v quiet \
    -p:DebugType=none -p:StripSymbols=true -p:InformationalVersion="1.0.0-connect.${commit:0:12}" -p:IncludeSourceRevisionInInformationalVersion=false > "$src.log" 2>&1 \
    || { grep -E 'error' "$src.log" >&2; echo "agent-connect: publish failed (log: $src.log)" >&2; exit 1; }
  mkdir -p "$(dirname "$cached")"
  install -m 0755 "$src/out/wrenn-agent" "$cached"
  rm -f "$src.log"
fi
mkdir -p artifacts/agent-connect
ln -sfn "$cached" artifacts/agent-connect/wrenn-agent

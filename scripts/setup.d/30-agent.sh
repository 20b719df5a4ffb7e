#!/usr/bin/env bash
# Publishes the guest agent (gRPC server, NativeAOT, net10.0) to artifacts/agent/wrenn-agent. The publish takes
# about a minute, so it is cached under $WRENN_CACHE/agent/<hash of the agent's sources>.
set -euo pipefail
cd "$WRENN_ROOT"
key=$(find guest/Wrenn.Guest.Agent guest/Wrenn.Guest.Protocol Directory.Build.props \
        \( -name '*.cs' -o -name '*.proto' -o -name '*.csproj' -o -name '*.props' \) -not -path '*/obj/*' -not -path '*/bin/*' \
      | sort | xargs sha256sum | sha256sum | cut -c1-16)
cached="$WRENN_CACHE/agent/$key/wrenn-agent"
if [ ! -x "$cached" ]; then
  echo "    agent: publishing (NativeAOT, about a minute)"
  tmp="$WRENN_CACHE/agent/$key.tmp"
  mkdir -p "$WRENN_CACHE/agent"
  rm -rf "$tmp"
  dotnet publish guest/Wrenn.Guest.Agent/Wrenn.Guest.Agent.csproj -c Release -r linux-x64 -o "$tmp" -nologo -v quiet \
    -p:DebugType=none -p:StripSymbols=true -p:InformationalVersion="1.0.0-src.$key" -p:IncludeSourceRevisionInInformationalVersion=false > "$WRENN_CACHE/agent/publish.log" 2>&1 \
    || { grep -E 'error' "$WRENN_CACHE/agent/publish.log" >&2; echo "agent: publish failed (log: $WRENN_CACHE/agent/publish.log)" >&2; exit 1; }
  mkdir -p "$(dirname "$cached")"
  install -m 0755 "$tmp/wrenn-agent" "$cached"
  rm -rf "$tmp"
fi
mkdir -p artifacts/agent
ln -sfn "$cached" artifacts/agent/wrenn-agent
touch "$(dirname "$cached")"
# Keep the four builds used most recently (other checkouts on this machine may run on theirs);
# drop older ones only once nobody touched them for a day.
ls -1dt "$WRENN_CACHE"/agent/*/ 2>/dev/null | tail -n +5 | while read -r old; do
  find "$old" -maxdepth 0 -mmin +1440 -exec rm -rf {} +
done

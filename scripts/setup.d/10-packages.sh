#!/usr/bin/env bash
# Debian packages: QEMU, the image build's tools, host networking, clang for NativeAOT, chromium (the web console test).
set -euo pipefail
packages=(qemu-system-x86 qemu-utils debootstrap busybox-static tini chrony e2fsprogs
          iproute2 nftables iptables clang lld cpio zstd kmod util-linux chromium)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "    installing: ${missing[*]}"
  apt-get update -q
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

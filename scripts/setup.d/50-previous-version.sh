#!/usr/bin/env bash
# Builds the previous Wrenn version (the commit in scripts/previous-version: the last one before
# the move to Orleans) with its own agent and guest image, for the upgrade test, which starts it
# on a fresh database and data folder and then starts this version on them. Cached under
# $WRENN_CACHE/previous/<commit> (it takes a few minutes once). Needs the commit in the clone's
# history; without it the upgrade test fails, naming the commit.
set -euo pipefail
cd "$WRENN_ROOT"
if [ "${WRENN_SETUP_FOR_TESTS:-0}" != 1 ]; then
  echo "    previous version: only the tests need it (scripts/test builds it)"
  exit 0
fi
commit=$(tr -d '[:space:]' < scripts/previous-version)
dir="$WRENN_CACHE/previous/$commit"
if [ -f "$dir/ready" ]; then
  echo "    previous version $commit: cached"
  exit 0
fi
if ! git cat-file -e "$commit^{commit}" 2>/dev/null; then
  echo "    previous version $commit is not in this clone's history (shallow clone?): the upgrade test will fail until it is" >&2
  exit 0
fi
echo "    previous version $commit: building it with its agent and image (a few minutes, once)"
rm -rf "$dir" && mkdir -p "$dir/tree"
git archive "$commit" | tar -x -C "$dir/tree"
(
  export WRENN_ROOT="$dir/tree"
  cd "$dir/tree"
  bash scripts/setup.d/30-agent.sh
  bash scripts/setup.d/40-image.sh
  # Its own copy of the image: the shared image cache drops old builds. The manifest names the
  # files by path, so it is rewritten to the copies.
  for file in vmlinuz vmlinux initrd.img rootfs.ext4; do
    real=$(readlink -f "artifacts/image/$file")
    rm "artifacts/image/$file" && cp --sparse=always "$real" "artifacts/image/$file"
    sed -i "s|\"$real\"|\"$dir/tree/artifacts/image/$file\"|" artifacts/image/manifest.json
  done
  dotnet build Wrenn.Silo/Wrenn.Silo.csproj -c Release -nologo -v quiet -clp:ErrorsOnly
) > "$dir/build.log" 2>&1 || { tail -n 30 "$dir/build.log" >&2; echo "previous version: build failed (log: $dir/build.log)" >&2; exit 1; }
touch "$dir/ready"

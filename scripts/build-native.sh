#!/usr/bin/env bash
# Compiles the runtime's small native helpers (kubelet/runtime/native/*.c),
# one executable per C file, into build/native/. They do what cannot be done
# inside a multi-threaded Node process: unshare/setns, pivot_root, capability
# drops, and the per-container supervisor that must stay tiny. The proxy's
# long-lived nftables helper (proxy/native/tsk-nft.c) is built beside them.
set -euo pipefail
cd "$(dirname "$0")/.."
out=build/native
mkdir -p "$out"
shopt -s nullglob
for c in kubelet/runtime/native/*.c proxy/native/*.c; do
  src=$(dirname "$c")
  name=$(basename "$c" .c)
  # Rebuild only when a source or header is newer than the binary.
  if [ -x "$out/$name" ] && [ -z "$(find "$src" -newer "$out/$name" \( -name '*.c' -o -name '*.h' \) | head -1)" ]; then
    continue
  fi
  # The helpers that load seccomp filters (tsk-privs.h) link libseccomp (Debian libseccomp-dev).
  libs=()
  grep -q '"tsk-privs.h"' "$c" && libs+=(-lseccomp)
  # tsk-nft runs nft on a thread of its own while it streams the input in.
  grep -q '<pthread.h>' "$c" && libs+=(-pthread)
  gcc -O2 -Wall -Wextra -Werror -std=gnu11 -D_GNU_SOURCE -o "$out/$name.tmp" "$c" "${libs[@]}" ${NATIVE_LDFLAGS:-}
  mv "$out/$name.tmp" "$out/$name"
done

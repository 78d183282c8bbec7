#!/usr/bin/env bash
# Builds webinfer's WebAssembly engine (workers/engine/native/engine.c) in its four variants into
# workers/engine/wasm/, with Debian's clang-19 and wasm-ld-19 (apt-get install clang-19 lld-19).
# The binaries are committed; `--check` rebuilds into a temporary folder and fails unless every
# byte matches the committed files (CI runs it: the binaries are what the source says).
#
#   bash scripts/build-engine.sh           # rebuild workers/engine/wasm/*.wasm
#   bash scripts/build-engine.sh --check   # rebuild elsewhere and compare
set -euo pipefail
cd "$(dirname "$0")/.."
CLANG="${CLANG:-clang-19}"
WASM_LD="${WASM_LD:-wasm-ld-19}"
SRC=workers/engine/native/engine.c
OUT=workers/engine/wasm
check=""
[ "${1:-}" = "--check" ] && check=1
for tool in "$CLANG" "$WASM_LD"; do
  command -v "$tool" >/dev/null || { echo "build-engine: $tool not found (Debian: apt-get install -y clang-19 lld-19)" >&2; exit 1; }
done
dest="$OUT"
[ -n "$check" ] && dest="$(mktemp -d)"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"; [ -n "$check" ] && rm -rf "$dest"' EXIT
# -ffile-prefix-map keeps the build path out of the binary; no debug info, no producers section.
CFLAGS=(--target=wasm32 -O3 -std=c11 -Wall -Wextra -Werror -nostdlib -ffreestanding -fno-builtin-memcpy -fno-builtin-memset -msimd128 -mbulk-memory -mmutable-globals -ffile-prefix-map="$PWD"=.)
LDFLAGS=(--no-entry --import-memory --max-memory=4294967296 --export=__stack_pointer --export=__heap_base --strip-all -z stack-size=65536)
build() { # name, extra cflags, extra ldflags
  local name="$1" cflags="$2" ldflags="$3"
  # shellcheck disable=SC2086
  "$CLANG" "${CFLAGS[@]}" $cflags -c "$SRC" -o "$tmp/$name.o"
  # shellcheck disable=SC2086
  "$WASM_LD" "${LDFLAGS[@]}" $ldflags "$tmp/$name.o" -o "$dest/$name.wasm"
}
build engine-st "" ""
build engine-st-rx "-mrelaxed-simd -DWI_RELAXED" ""
build engine-mt "-matomics -DWI_THREADS" "--shared-memory"
build engine-mt-rx "-matomics -mrelaxed-simd -DWI_THREADS -DWI_RELAXED" "--shared-memory"
if [ -n "$check" ]; then
  status=0
  for f in "$dest"/*.wasm; do
    name="$(basename "$f")"
    if ! cmp -s "$f" "$OUT/$name"; then echo "build-engine: $OUT/$name differs from a build of $SRC (run: bash scripts/build-engine.sh)" >&2; status=1; fi
  done
  [ "$status" = 0 ] && echo "build-engine: the committed binaries match their source ($("$CLANG" --version | head -1))"
  exit "$status"
fi
ls -l "$OUT"/*.wasm

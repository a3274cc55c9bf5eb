#!/usr/bin/env bash
# Builds a real ollama from its Go module (cgo, CPU ggml) once per version
# and machine, caches the binary, and prints its path on stdout. The
# integration test in driver/managed runs tether's ollama backend against it.
#
# Needs: Go, a C/C++ toolchain, and the Debian packages nlohmann-json3-dev
# and libstb-dev (installed here when apt-get is usable and they are
# missing). ollama's module zip leaves out llama.cpp's vendor folder;
# nlohmann/json and stb come from those packages, miniaudio.h from the Go
# module github.com/gen2brain/malgo.
set -euo pipefail
version="${OLLAMA_VERSION:-0.17.4}"
malgo="github.com/gen2brain/malgo@v0.11.24"
cache="${TETHER_CI_CACHE:-$HOME/.cache/tether-ci}/ollama-v$version"
bin="$cache/ollama"
# The binary is renamed into place only when complete.
if [ -x "$bin" ]; then
  echo "$bin"
  exit 0
fi
log() { echo "tools/ollama/build.sh: $*" >&2; }
if [ ! -f /usr/include/nlohmann/json.hpp ] || [ ! -f /usr/include/stb/stb_image.h ]; then
  log "installing nlohmann-json3-dev libstb-dev"
  { apt-get update && apt-get install -y nlohmann-json3-dev libstb-dev; } >&2
fi
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
# go install pkg@version needs a directory outside any module.
cd "$work"
malgodir="$(go mod download -json "$malgo" | sed -n 's/^\t"Dir": "\(.*\)",$/\1/p')"
mkdir -p "$work/include/miniaudio"
cp "$malgodir/miniaudio.h" "$work/include/miniaudio/"
flags="-O3 -march=x86-64-v3 -I$work/include"
log "building ollama v$version (several minutes on 2 cores)"
start=$SECONDS
mkdir -p "$cache"
rm -rf "$cache.tmp"
# The C++ compiler's warnings run to thousands of lines: they go to a log,
# shown only when the build fails.
if ! GOBIN="$cache.tmp" CGO_ENABLED=1 GOFLAGS=-buildvcs=false \
  CGO_CFLAGS="$flags" CGO_CXXFLAGS="$flags" \
  go install -trimpath \
    -ldflags "-s -w -X github.com/ollama/ollama/version.Version=$version" \
    "github.com/ollama/ollama@v$version" >"$cache/build.log" 2>&1; then
  tail -n 40 "$cache/build.log" >&2
  log "build failed; the whole log is $cache/build.log"
  exit 1
fi
mv "$cache.tmp/ollama" "$bin"
rmdir "$cache.tmp"
log "built $bin in $((SECONDS - start))s"
echo "$bin"

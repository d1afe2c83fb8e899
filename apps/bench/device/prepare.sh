#!/bin/sh
# Prepares the GPU bench to run offline on a lent GPU machine (see
# apps/bench/README.md, "On a lent GPU machine"). Run from the repo root on
# the development machine; it writes only ignored paths:
#   apps/bench/gpu.bundle.js   apps/bench/gpu.ts and its imports in one file
#                              (TF.js included), so no package is fetched there
#   .gpu-bench/deno.gz         this Deno binary, compressed (~40 MB)
#   .gpu-bench/gl/*.deb        the Vulkan loader, unpacked there if it has none
#   .gpu-bench/commit          the commit the bundle was built from
#   .gpu-bench/tests.txt       the test files that run on WebGPU (run.sh runs them first)
#   .gpu-bench/deno-dir.txz    a Deno cache holding those tests' packages (npm webgpu for
#                              Dawn cut to linux-x64) and the Deno-vs-Dawn bench's, so
#                              they run offline
set -eu
deno bundle --platform deno --quiet apps/bench/gpu.ts -o apps/bench/gpu.bundle.js
mkdir -p .gpu-bench/gl
gzip -c "$(command -v deno)" > .gpu-bench/deno.gz
git rev-parse --short HEAD > .gpu-bench/commit
# Correctness before speed: every test file with WebGPU tests, and their packages.
git ls-files '*_test.ts' | xargs grep -l -E 'GPU_DEVICES|useWebGPU|hasWebGPU' |
  grep -v -E '^apps/(bench|web)/|^tests/browser_test.ts' > .gpu-bench/tests.txt
cache=/tmp/agd-gpu-test-deno-dir
rm -rf "$cache"
# shellcheck disable=SC2046
DENO_DIR="$cache" deno cache --quiet $(cat .gpu-bench/tests.txt)
DENO_DIR="$cache" deno cache --quiet npm:webgpu@0.6.2 apps/bench/implementations.ts
# Deno caches every npm package of the workspace; these few are what the carry
# limit (64 MiB) cannot hold and no WebGPU test imports (peers, browsers, bundlers).
npm="$cache/npm/registry.npmjs.org"
rm -rf "$npm/@tensorflow" "$npm/onnxruntime-web" "$npm/playwright-core" "$npm/@esbuild" \
  "$npm/esbuild" "$npm/core-js" "$npm/vite" "$npm/rollup" "$npm/@rollup" "$npm/@jax-js"
for d in "$npm"/webgpu/*/dist/*; do
  [ "$(basename "$d")" = linux-x64 ] || rm -rf "$d"
done
tar -C "$cache" -cJf .gpu-bench/deno-dir.txz .
# The device's README: bring the loader for the machine's architecture (amd64).
lists=/tmp/agd-amd64-lists
mkdir -p "$lists/partial"
o="-oAPT::Architecture=amd64 -oAPT::Architectures=amd64 -oDir::State::Lists=$lists"
# shellcheck disable=SC2086
apt-get $o update -qq
# shellcheck disable=SC2086
(cd .gpu-bench/gl && apt-get $o download -qq libvulkan1)
du -sh apps/bench/gpu.bundle.js .gpu-bench

#!/bin/sh
# Prepares the GPU bench to run offline on a lent GPU machine (see
# apps/bench/README.md, "On a lent GPU machine"). Run from the repo root on
# the development machine; it writes only ignored paths:
#   apps/bench/gpu.bundle.js   apps/bench/gpu.ts and its imports in one file
#                              (TF.js included), so no package is fetched there
#   .gpu-bench/deno.gz         this Deno binary, compressed (~40 MB)
#   .gpu-bench/gl/*.deb        the Vulkan loader, unpacked there if it has none
#   .gpu-bench/commit          the commit the bundle was built from
set -eu
deno bundle --platform deno --quiet apps/bench/gpu.ts -o apps/bench/gpu.bundle.js
mkdir -p .gpu-bench/gl
gzip -c "$(command -v deno)" > .gpu-bench/deno.gz
git rev-parse --short HEAD > .gpu-bench/commit
# The device's README: bring the loader for the machine's architecture (amd64).
lists=/tmp/agd-amd64-lists
mkdir -p "$lists/partial"
o="-oAPT::Architecture=amd64 -oAPT::Architectures=amd64 -oDir::State::Lists=$lists"
# shellcheck disable=SC2086
apt-get $o update -qq
# shellcheck disable=SC2086
(cd .gpu-bench/gl && apt-get $o download -qq libvulkan1)
du -sh apps/bench/gpu.bundle.js .gpu-bench

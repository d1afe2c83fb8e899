#!/bin/sh
# Runs the GPU bench on a lent GPU machine, from the repo root, offline:
# what apps/bench/device/prepare.sh left in the carried paths is all it needs.
# Results (JSON, Markdown, log) go to $OUT (the device tool's folder) or ./gpu-results.
# Extra arguments go to apps/bench/gpu.ts (--quick, --resnet-batch N, --python PATH).
set -eu
out="${OUT:-gpu-results}"
mkdir -p "$out"
if ! ldconfig -p | grep -q 'libvulkan\.so\.1'; then
  for f in .gpu-bench/gl/*.deb; do dpkg -x "$f" /; done
  ldconfig
fi
icd=/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json
if [ -f "$icd" ] && [ -z "${VK_DRIVER_FILES:-}" ]; then export VK_DRIVER_FILES="$icd"; fi
gunzip -c .gpu-bench/deno.gz > /tmp/agd-deno
chmod +x /tmp/agd-deno
export DENO_DIR=/tmp/agd-deno-dir NO_COLOR=1 AGD_COMMIT="$(cat .gpu-bench/commit)"
(nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv || true) > "$out/gpu.txt" 2>&1
# Correctness first: the WebGPU tests, on each implementation that starts here
# (test names end in "(webgpu:deno)" / "(webgpu:dawn)"); a failure is reported,
# and the bench still runs so the session's figures are not lost.
if [ -f .gpu-bench/deno-dir.txz ]; then
  mkdir -p /tmp/agd-test-deno-dir
  tar -C /tmp/agd-test-deno-dir -xJf .gpu-bench/deno-dir.txz
  # shellcheck disable=SC2046
  (DENO_DIR=/tmp/agd-test-deno-dir timeout 240 /tmp/agd-deno test -A --cached-only \
    $(cat .gpu-bench/tests.txt) || echo "GPU TESTS FAILED (exit $?)") 2>&1 | tee "$out/tests.txt" |
    grep -E '^(ok|FAILED) \||GPU TESTS FAILED|\.\.\. FAILED' || true
  # The same training step on Deno's WebGPU and on Dawn, on this GPU.
  (DENO_DIR=/tmp/agd-test-deno-dir timeout 180 /tmp/agd-deno run -A --cached-only \
    apps/bench/implementations.ts --out "$out/implementations.json" || echo "IMPLEMENTATIONS FAILED") \
    2>&1 | tee "$out/implementations.txt" | tail -n 6
fi
/tmp/agd-deno run -A --unstable-webgpu apps/bench/gpu.bundle.js --out "$out" "$@" 2>&1 |
  tee "$out/log.txt"

// The optim family's WebAssembly SIMD kernels: AGD's fused step (the
// reference: ops/optim/cpu.ts).
#include "../../backend/wasm/kernel.h"

// out[r] = weight · ‖x[:, r]‖ over the `rows` rows of x viewed as rows×slices
EXPORT(agd_terms) void agd_terms(const float *x, int rows, int slices, float weight, float *out) {
  if (slices == 1) {
    v128_t acc0 = wasm_f32x4_splat(0), acc1 = acc0;
    int i = 0;
    for (; i + 8 <= rows; i += 8) {
      v128_t a = wasm_v128_load(x + i), b = wasm_v128_load(x + i + 4);
      acc0 = MADD(a, a, acc0);
      acc1 = MADD(b, b, acc1);
    }
    v128_t acc = wasm_f32x4_add(acc0, acc1);
    double sum = (double)wasm_f32x4_extract_lane(acc, 0) + wasm_f32x4_extract_lane(acc, 1) +
                 wasm_f32x4_extract_lane(acc, 2) + wasm_f32x4_extract_lane(acc, 3);
    for (; i < rows; i++) sum += (double)x[i] * x[i];
    out[0] = weight * (float)__builtin_sqrt(sum);
    return;
  }
  for (int r = 0; r < slices; r++) {
    double sum = 0;
    for (int i = 0; i < rows; i++) {
      double v = x[i * slices + r];
      sum += v * v;
    }
    out[r] = weight * (float)__builtin_sqrt(sum);
  }
}

static inline float nan_to_num(float v) {
  if (v != v) return 0;
  if (v > 3.4028234663852886e38f) return 3.4028234663852886e38f;
  if (v < -3.4028234663852886e38f) return -3.4028234663852886e38f;
  return v;
}

// out = w − nan_to_num(c / terms[i mod slices]) · g, c = mul · η
EXPORT(agd_update) void agd_update(const float *w, const float *g, const float *terms, const float *eta, float *out, int n, int slices, float mul) {
  float c = mul * eta[0];
  if (slices == 1) {
    v128_t f = wasm_f32x4_splat(nan_to_num(c / terms[0]));
    int i = 0;
    for (; i + 4 <= n; i += 4) {
      v128_t wv = wasm_v128_load(w + i), gv = wasm_v128_load(g + i);
      wasm_v128_store(out + i, wasm_f32x4_sub(wv, wasm_f32x4_mul(f, gv)));
    }
    float fs = nan_to_num(c / terms[0]);
    for (; i < n; i++) out[i] = w[i] - fs * g[i];
    return;
  }
  for (int i = 0, r = 0; i < n; i++) {
    out[i] = w[i] - nan_to_num(c / terms[r]) * g[i];
    if (++r == slices) r = 0;
  }
}

// The elementwise family's WebAssembly SIMD kernels: four lanes at a time, a
// scalar tail. NaN handling follows the reference loops (ops/elementwise/cpu.ts):
// f32x4.max propagates NaN as Math.max does; a NaN x fails `x > 0` and gives
// 0 in relu_grad.
#include "../../backend/wasm/kernel.h"

// binary_same's operations (TypeScript: BINARY_OP in ops/elementwise/wasm.ts).
enum binary_op {
  BINARY_OP_ADD = 0,
  BINARY_OP_SUB = 1,
  BINARY_OP_MUL = 2,
  BINARY_OP_DIV = 3,
};

// out = max(x, 0) · scale (relu: scale 1)
EXPORT(scaled_relu) void scaled_relu(const float *x, float *out, int n, float scale) {
  v128_t zero = wasm_f32x4_splat(0), s = wasm_f32x4_splat(scale);
  int i = 0;
  for (; i + 4 <= n; i += 4) {
    wasm_v128_store(out + i, wasm_f32x4_mul(wasm_f32x4_max(wasm_v128_load(x + i), zero), s));
  }
  for (; i < n; i++) {
    float v = x[i];
    out[i] = (v != v ? v : (v > 0 ? v : 0)) * scale;
  }
}

// out = x > 0 ? dy · scale : 0
EXPORT(relu_grad) void relu_grad(const float *dy, const float *x, float *out, int n, float scale) {
  v128_t zero = wasm_f32x4_splat(0), s = wasm_f32x4_splat(scale);
  int i = 0;
  for (; i + 4 <= n; i += 4) {
    v128_t positive = wasm_f32x4_gt(wasm_v128_load(x + i), zero);
    wasm_v128_store(out + i, wasm_v128_and(positive, wasm_f32x4_mul(wasm_v128_load(dy + i), s)));
  }
  for (; i < n; i++) out[i] = x[i] > 0 ? dy[i] * scale : 0;
}

// out = x·mul + add, in double and rounded once, as the reference computes it
EXPORT(affine) void affine(const float *x, float *out, int n, double mul, double add) {
  v128_t m = wasm_f64x2_splat(mul), a = wasm_f64x2_splat(add);
  int i = 0;
  for (; i + 4 <= n; i += 4) {
    v128_t v = wasm_v128_load(x + i);
    v128_t lo = wasm_f64x2_add(wasm_f64x2_mul(PROMOTE_LO(v), m), a);
    v128_t hi = wasm_f64x2_add(wasm_f64x2_mul(PROMOTE_HI(v), m), a);
    wasm_v128_store(out + i, DEMOTE(lo, hi));
  }
  for (; i < n; i++) out[i] = (float)((double)x[i] * mul + add);
}

// out = a ∘ b for same-shape operands (IEEE, as the reference)
EXPORT(binary_same) void binary_same(enum binary_op op, const float *a, const float *b, float *out, int n) {
  int i = 0;
  for (; i + 4 <= n; i += 4) {
    v128_t x = wasm_v128_load(a + i), y = wasm_v128_load(b + i);
    v128_t r = op == BINARY_OP_ADD ? wasm_f32x4_add(x, y)
             : op == BINARY_OP_SUB ? wasm_f32x4_sub(x, y)
             : op == BINARY_OP_MUL ? wasm_f32x4_mul(x, y)
                                   : wasm_f32x4_div(x, y);
    wasm_v128_store(out + i, r);
  }
  for (; i < n; i++) {
    float x = a[i], y = b[i];
    out[i] = op == BINARY_OP_ADD ? x + y : op == BINARY_OP_SUB ? x - y : op == BINARY_OP_MUL ? x * y : x / y;
  }
}

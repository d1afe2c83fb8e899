// The norm family's WebAssembly SIMD kernels: batch norm over x [N, C, S]
// (S the trailing size), as ops/norm/cpu.ts defines it: sums in double (two
// f64 lanes, so in a different order than the reference's single running
// sum: equal up to double rounding), each element's arithmetic in double and
// rounded once, as the reference's.
#include "../../backend/wasm/kernel.h"

// Σ over channel ch of v(x) for v = x − shift (square: (x − shift)²)
static double channel_sum(const float *x, int n, int c, int s, int ch, double shift, int square) {
  v128_t acc0 = wasm_f64x2_splat(0), acc1 = acc0, sh = wasm_f64x2_splat(shift);
  double tail = 0;
  for (int b = 0; b < n; b++) {
    const float *p = x + (b * c + ch) * s;
    int k = 0;
    for (; k + 4 <= s; k += 4) {
      v128_t v = wasm_v128_load(p + k);
      v128_t lo = wasm_f64x2_sub(PROMOTE_LO(v), sh);
      v128_t hi = wasm_f64x2_sub(PROMOTE_HI(v), sh);
      if (square) {
        lo = wasm_f64x2_mul(lo, lo);
        hi = wasm_f64x2_mul(hi, hi);
      }
      acc0 = wasm_f64x2_add(acc0, lo);
      acc1 = wasm_f64x2_add(acc1, hi);
    }
    for (; k < s; k++) {
      double d = (double)p[k] - shift;
      tail += square ? d * d : d;
    }
  }
  v128_t acc = wasm_f64x2_add(acc0, acc1);
  return wasm_f64x2_extract_lane(acc, 0) + wasm_f64x2_extract_lane(acc, 1) + tail;
}

// out[0][ch] = mean, out[1][ch] = biased variance (two passes)
EXPORT(bn_stats) void bn_stats(const float *x, int n, int c, int s, float *out) {
  double count = (double)n * s;
  for (int ch = 0; ch < c; ch++) {
    double mean = channel_sum(x, n, c, s, ch, 0, 0) / count;
    out[ch] = (float)mean;
    out[c + ch] = (float)(channel_sum(x, n, c, s, ch, mean, 1) / count);
  }
}

// (x − mean)/√(var + eps) per channel
EXPORT(batch_norm) void batch_norm(const float *x, const float *stats, float *out, int n, int c,
                                                           int s, double eps) {
  for (int ch = 0; ch < c; ch++) {
    double mean = stats[ch], sd = __builtin_sqrt((double)stats[c + ch] + eps);
    v128_t m = wasm_f64x2_splat(mean), d = wasm_f64x2_splat(sd);
    for (int b = 0; b < n; b++) {
      const float *p = x + (b * c + ch) * s;
      float *q = out + (b * c + ch) * s;
      int k = 0;
      for (; k + 4 <= s; k += 4) {
        v128_t v = wasm_v128_load(p + k);
        v128_t lo = wasm_f64x2_div(wasm_f64x2_sub(PROMOTE_LO(v), m), d);
        v128_t hi = wasm_f64x2_div(
            wasm_f64x2_sub(PROMOTE_HI(v), m), d);
        wasm_v128_store(q + k, DEMOTE(lo, hi));
      }
      for (; k < s; k++) q[k] = (float)(((double)p[k] - mean) / sd);
    }
  }
}
// (dy − Σdy/M − x̂·Σ(dy·x̂)/M)/√(var + eps) per channel, x̂ = (x − mean)/√(var + eps)
EXPORT(batch_norm_grad) void batch_norm_grad(const float *dy, const float *x, const float *stats,
                                                                     float *out, int n, int c, int s, double eps) {
  double count = (double)n * s;
  for (int ch = 0; ch < c; ch++) {
    double mean = stats[ch], sd = __builtin_sqrt((double)stats[c + ch] + eps);
    v128_t m = wasm_f64x2_splat(mean), d = wasm_f64x2_splat(sd);
    v128_t sdy = wasm_f64x2_splat(0), sdx = sdy;
    double sum_dy = 0, sum_dy_xhat = 0;
    for (int b = 0; b < n; b++) {
      const float *g = dy + (b * c + ch) * s, *p = x + (b * c + ch) * s;
      int k = 0;
      for (; k + 4 <= s; k += 4) {
        v128_t gv = wasm_v128_load(g + k), pv = wasm_v128_load(p + k);
        v128_t glo = PROMOTE_LO(gv), ghi = PROMOTE_HI(gv);
        sdy = wasm_f64x2_add(sdy, wasm_f64x2_add(glo, ghi));
        // dy·(x − mean)/sd, in the reference's order
        v128_t tlo = wasm_f64x2_div(wasm_f64x2_mul(glo, wasm_f64x2_sub(PROMOTE_LO(pv), m)), d);
        v128_t thi = wasm_f64x2_div(wasm_f64x2_mul(ghi, wasm_f64x2_sub(PROMOTE_HI(pv), m)), d);
        sdx = wasm_f64x2_add(sdx, wasm_f64x2_add(tlo, thi));
      }
      for (; k < s; k++) {
        double gk = g[k];
        sum_dy += gk;
        sum_dy_xhat += gk * ((double)p[k] - mean) / sd;
      }
    }
    sum_dy += wasm_f64x2_extract_lane(sdy, 0) + wasm_f64x2_extract_lane(sdy, 1);
    sum_dy_xhat += wasm_f64x2_extract_lane(sdx, 0) + wasm_f64x2_extract_lane(sdx, 1);
    double a = sum_dy / count;
    v128_t av = wasm_f64x2_splat(a), sv = wasm_f64x2_splat(sum_dy_xhat), cv = wasm_f64x2_splat(count);
    for (int b = 0; b < n; b++) {
      const float *g = dy + (b * c + ch) * s, *p = x + (b * c + ch) * s;
      float *q = out + (b * c + ch) * s;
      int k = 0;
      for (; k + 4 <= s; k += 4) {
        v128_t gv = wasm_v128_load(g + k), pv = wasm_v128_load(p + k);
        v128_t xlo = wasm_f64x2_div(wasm_f64x2_sub(PROMOTE_LO(pv), m), d);
        v128_t xhi = wasm_f64x2_div(wasm_f64x2_sub(PROMOTE_HI(pv), m), d);
        // (dy − a − x̂·S/M)/sd, in the reference's order
        v128_t lo = wasm_f64x2_div(
            wasm_f64x2_sub(wasm_f64x2_sub(PROMOTE_LO(gv), av), wasm_f64x2_div(wasm_f64x2_mul(xlo, sv), cv)), d);
        v128_t hi = wasm_f64x2_div(
            wasm_f64x2_sub(wasm_f64x2_sub(PROMOTE_HI(gv), av), wasm_f64x2_div(wasm_f64x2_mul(xhi, sv), cv)), d);
        wasm_v128_store(q + k, DEMOTE(lo, hi));
      }
      for (; k < s; k++) {
        double xhat = ((double)p[k] - mean) / sd;
        q[k] = (float)(((double)g[k] - a - xhat * sum_dy_xhat / count) / sd);
      }
    }
  }
}

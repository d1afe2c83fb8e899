// The pool family's WebAssembly SIMD kernels (the reference: ops/pool/cpu.ts),
// NCHW, a few [H, W] planes per task. Window (oy, ox) covers rows
// oy·sh − ph + ky and columns ox·sw − pw + kx; cells outside the input are
// padding. Sums are in double and rounded once, as the reference's, so the
// outputs are the reference's to the bit.
#include "../../backend/wasm/kernel.h"

// pool's operations (TypeScript: POOL_OP in ops/pool/wasm.ts).
enum pool_op {
  POOL_OP_MAX_POOL2D = 0,
  POOL_OP_MAX_POOL2D_GRAD = 1,
  POOL_OP_AVG_POOL2D = 2,
  POOL_OP_AVG_POOL2D_GRAD = 3,
};

// The first maximum of window (oy, ox) of `plane` (ky outer, kx inner, strictly
// greater; NaN beats any number, so the first NaN wins, as in PyTorch), as an
// index into the plane, or −1 when the window holds no input cell.
static inline int first_max(const float *plane, int h, int w, int kh, int kw, int iy0, int ix0) {
  int best = -1;
  float bv = 0;
  for (int ky = 0; ky < kh; ky++) {
    int iy = iy0 + ky;
    if (iy < 0 || iy >= h) continue;
    for (int kx = 0; kx < kw; kx++) {
      int ix = ix0 + kx;
      if (ix < 0 || ix >= w) continue;
      float v = plane[iy * w + ix];
      if (best < 0 || v > bv || (v != v && bv == bv)) {
        best = iy * w + ix;
        bv = v;
      }
    }
  }
  return best;
}

static void pool_plane(enum pool_op op, const float *x, const float *dy, float *out, int h, int w, int kh, int kw, int sh,
                       int sw, int ph, int pw, int oh, int ow, double *acc) {
  double area = (double)kh * kw;
  if (op == POOL_OP_MAX_POOL2D) {
    for (int oy = 0; oy < oh; oy++) {
      for (int ox = 0; ox < ow; ox++) {
        int i = first_max(x, h, w, kh, kw, oy * sh - ph, ox * sw - pw);
        out[oy * ow + ox] = i < 0 ? -__builtin_inff() : x[i];
      }
    }
  } else if (op == POOL_OP_MAX_POOL2D_GRAD) {
    // Each dy cell goes to its window's first maximum; overlapping windows add up.
    for (int i = 0; i < h * w; i++) acc[i] = 0;
    for (int oy = 0; oy < oh; oy++) {
      for (int ox = 0; ox < ow; ox++) {
        int i = first_max(x, h, w, kh, kw, oy * sh - ph, ox * sw - pw);
        if (i >= 0) acc[i] += dy[oy * ow + ox];
      }
    }
    for (int i = 0; i < h * w; i++) out[i] = (float)acc[i];
  } else if (op == POOL_OP_AVG_POOL2D) {
    for (int oy = 0; oy < oh; oy++) {
      for (int ox = 0; ox < ow; ox++) {
        double sum = 0;
        for (int ky = 0; ky < kh; ky++) {
          int iy = oy * sh - ph + ky;
          if (iy < 0 || iy >= h) continue;
          for (int kx = 0; kx < kw; kx++) {
            int ix = ox * sw - pw + kx;
            if (ix >= 0 && ix < w) sum += x[iy * w + ix];
          }
        }
        out[oy * ow + ox] = (float)(sum / area);
      }
    }
  } else {
    // dx cell (iy, ix) sums dy over the windows that cover it (x is dy's plane).
    for (int iy = 0; iy < h; iy++) {
      for (int ix = 0; ix < w; ix++) {
        double sum = 0;
        for (int ky = 0; ky < kh; ky++) {
          int ty = iy + ph - ky;  // = oy·sh
          if (ty < 0 || ty % sh != 0 || ty / sh >= oh) continue;
          for (int kx = 0; kx < kw; kx++) {
            int tx = ix + pw - kx;  // = ox·sw
            if (tx < 0 || tx % sw != 0 || tx / sw >= ow) continue;
            sum += dy[(ty / sh) * ow + tx / sw];
          }
        }
        out[iy * w + ix] = (float)(sum / area);
      }
    }
  }
}

// The pooling op over `planes` planes (N·C), in tasks of planes; a
// task-taking kernel (see kernel.h) whose scratch holds max_pool2d_grad's H·W
// double sums.
EXPORT(pool) void pool(enum pool_op op, const float *x, const float *dy, float *out, int planes, int h,
                                               int w, int kh, int kw, int sh, int sw, int ph, int pw, int oh, int ow,
                                               float *scratch, int *next, int parts) {
  int chunk = planes / (4 * parts);
  if (chunk < 1) chunk = 1;
  int in = h * w, o = oh * ow;
  for (;;) {
    int lo = next_task(next) * chunk, hi = lo + chunk;
    if (lo >= planes) return;
    if (hi > planes) hi = planes;
    for (int p = lo; p < hi; p++) {
      if (op == POOL_OP_MAX_POOL2D || op == POOL_OP_AVG_POOL2D) {
        pool_plane(op, x + p * in, 0, out + p * o, h, w, kh, kw, sh, sw, ph, pw, oh, ow, 0);
      } else if (op == POOL_OP_MAX_POOL2D_GRAD) {
        pool_plane(op, x + p * in, dy + p * o, out + p * in, h, w, kh, kw, sh, sw, ph, pw, oh, ow,
                   (double *)scratch);
      } else {
        pool_plane(op, 0, dy + p * o, out + p * in, h, w, kh, kw, sh, sw, ph, pw, oh, ow, 0);
      }
    }
  }
}

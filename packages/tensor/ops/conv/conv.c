// Convolution's WebAssembly SIMD kernels. conv2d and its weight gradient are
// the GEMM of ops/matmul/gemm.h over the whole batch with B's panels packed
// straight from the NCHW input (implicit GEMM, conv_gemm): no patch matrix is
// written except for an input gradient at stride > 1, which is Wᵀ · dY'
// scattered back into the image (col2im). The reference: ops/conv/cpu.ts.
#include "../matmul/gemm.h"

// conv_gemm's two GEMMs (TypeScript: CONV_GEMM in ops/conv/wasm.ts).
enum conv_gemm {
  CONV_GEMM_FORWARD = 0,
  CONV_GEMM_GRAD_WEIGHT = 1,
};

// A convolution's input seen as its patch matrix col[C·kh·kw, N·OH·OW]
// (col[(ic·kh + ky)·kw + kx][(b·OH + oy)·OW + ox] = x[b][ic][oy·sh − ph + ky][ox·sw − pw + kx],
// 0 in the padding), so that a GEMM can pack its B panels straight from the
// NCHW input instead of from a materialised col (implicit GEMM).
struct im2col {
  const float *x, *end;  // x and one past its last float
  int c, h, w, kh, kw, sh, sw, ph, pw, oh, ow;
};

// The output columns ox whose tap kx lands inside a row of width w:
// lo ≤ ox < hi ⇔ 0 ≤ ox·sw − pw + kx < w. Outside them a patch reads the padding.
static inline void tap_range(int ow, int w, int sw, int pw, int kx, int *lo, int *hi) {
  int first = pw - kx, l = 0, h;
  if (first > 0) l = (first + sw - 1) / sw;
  h = (w - 1 + pw - kx) / sw + 1;  // w − 1 + pw − kx ≥ 0 whenever the kernel fits the padded row
  if (w - 1 + pw - kx < 0) h = 0;
  if (h > ow) h = ow;
  if (l > h) l = h;
  *lo = l;
  *hi = h;
}

// Four columns of col's row `t` (a tap) from output cell (b, oy, ox) on, at
// stride 1 within one output row: one load from x, lanes in the padding
// zeroed by a mask; a load that would leave x (at its first or last row)
// goes lane by lane.
static inline v128_t im2col_quad(const struct im2col *g, const int *t, int b, int oy, int ox) {
  int iy = oy * g->sh + t[1];
  if (iy < 0 || iy >= g->h) return wasm_f32x4_splat(0);
  const float *src = g->x + b * g->c * g->h * g->w + t[0] + iy * g->w + ox;
  if (ox >= t[2] && ox + 4 <= t[3]) return wasm_v128_load(src);
  v128_t lane = wasm_i32x4_add(wasm_i32x4_splat(ox), wasm_i32x4_make(0, 1, 2, 3));
  v128_t inside = wasm_v128_and(wasm_i32x4_ge(lane, wasm_i32x4_splat(t[2])), wasm_i32x4_lt(lane, wasm_i32x4_splat(t[3])));
  if (src >= g->x && src + 4 <= g->end) return wasm_v128_and(wasm_v128_load(src), inside);
  float v[4];
  for (int i = 0; i < 4; i++) v[i] = ox + i >= t[2] && ox + i < t[3] ? src[i] : 0.0f;
  return wasm_f32x4_make(v[0], v[1], v[2], v[3]);
}

// Packs col[k0:k0+kc, j0:j0+nc] (see pack_panel). Each tap's input offset,
// row and column range are worked out once per panel (in `taps`, TAP_INTS
// ints a tap). With stride 1 and rows a multiple of 4 long, every 4 columns of
// a strip lie in one output row and are one (masked) vector load from x;
// otherwise column by column.
static void pack_b_im2col(float *p, const void *source, int k0, int kc, int j0, int nc, int *taps) {
  const struct im2col *g = source;
  int area = g->kh * g->kw, hw = g->h * g->w, P = g->oh * g->ow;
  for (int k = 0; k < kc; k++) {
    int tap = k0 + k, ic = tap / area, ky = tap % area / g->kw, kx = tap % g->kw, lo, hi;
    tap_range(g->ow, g->w, g->sw, g->pw, kx, &lo, &hi);
    int *t = taps + k * TAP_INTS;
    t[0] = ic * hw + kx - g->pw;  // + b·C·H·W + iy·W + ox·sw: the input cell
    t[1] = ky - g->ph;            // + oy·sh: the input row
    t[2] = lo;
    t[3] = hi;
  }
  int quads = g->sw == 1 && g->ow % 4 == 0;
  for (int jr = 0; jr < nc; jr += NR) {
    int nr = nc - jr < NR ? nc - jr : NR, j = j0 + jr;
    int b = j / P, oy = j % P / g->ow, ox = j % g->ow;
    if (quads && nr == NR) {
      // The second four columns: the same row, or the next row's first four.
      int b2 = b, oy2 = oy, ox2 = ox + 4;
      if (ox2 == g->ow) {
        ox2 = 0;
        if (++oy2 == g->oh) oy2 = 0, b2++;
      }
      for (int k = 0; k < kc; k++, p += NR) {
        const int *t = taps + k * TAP_INTS;
        wasm_v128_store(p, im2col_quad(g, t, b, oy, ox));
        wasm_v128_store(p + 4, im2col_quad(g, t, b2, oy2, ox2));
      }
      continue;
    }
    for (int k = 0; k < kc; k++, p += NR) {
      const int *t = taps + k * TAP_INTS;
      int cb = b, cy = oy, cx = ox;
      for (int c = 0; c < NR; c++) {
        float v = 0;
        int y = cy * g->sh + t[1];
        if (c < nr && y >= 0 && y < g->h && cx >= t[2] && cx < t[3]) {
          v = g->x[cb * g->c * hw + t[0] + y * g->w + cx * g->sw];
        }
        p[c] = v;
        if (++cx == g->ow) {
          cx = 0;
          if (++cy == g->oh) cy = 0, cb++;
        }
      }
    }
  }
}

// Packs colᵀ[k0:k0+kc, j0:j0+nc] (rows: output cells; columns: taps; see
// pack_panel): tap by tap, the output cells in runs along an output row, each
// run a contiguous (stride 1) stretch of an input row between the padding's zeros.
static void pack_bt_im2col(float *p, const void *source, int k0, int kc, int j0, int nc, int *work) {
  (void)work;
  const struct im2col *g = source;
  int area = g->kh * g->kw, hw = g->h * g->w, P = g->oh * g->ow;
  for (int jr = 0; jr < nc; jr += NR, p += kc * NR) {
    int nr = nc - jr < NR ? nc - jr : NR;
    for (int c = 0; c < NR; c++) {
      float *dst = p + c;
      if (c >= nr) {
        for (int k = 0; k < kc; k++) dst[k * NR] = 0;
        continue;
      }
      int tap = j0 + jr + c, ic = tap / area, ky = tap % area / g->kw, kx = tap % g->kw, lo, hi;
      tap_range(g->ow, g->w, g->sw, g->pw, kx, &lo, &hi);
      int shift = kx - g->pw;
      int b = k0 / P, oy = k0 % P / g->ow, ox = k0 % g->ow;
      for (int j = k0, end = k0 + kc; j < end;) {
        int len = g->ow - ox < end - j ? g->ow - ox : end - j;
        int iy = oy * g->sh - g->ph + ky, i = 0;
        if (iy >= 0 && iy < g->h) {
          const float *row = g->x + (b * g->c + ic) * hw + iy * g->w;
          int first = lo > ox ? lo : ox, last = hi < ox + len ? hi : ox + len;  // inside: [first, last)
          for (; ox + i < first && i < len; i++) dst[i * NR] = 0;
          for (; ox + i < last; i++) dst[i * NR] = row[(ox + i) * g->sw + shift];
        }
        for (; i < len; i++) dst[i * NR] = 0;
        dst += len * NR;
        j += len;
        ox += len;
        if (ox == g->ow) {
          ox = 0;
          if (++oy == g->oh) oy = 0, b++;
        }
      }
    }
  }
}

// conv2d's GEMMs without their patch matrix col(x), a task-taking kernel (see
// kernel.h): CONV_GEMM_FORWARD, Y[O, N·OH·OW] = W[O, C·kh·kw] · col(x) (a = W,
// out = Y, channel-major); CONV_GEMM_GRAD_WEIGHT, dW[O, C·kh·kw] =
// dY'[O, N·OH·OW] · col(x)ᵀ (a = dY' channel-major, out = dW).
EXPORT(conv_gemm) void conv_gemm(enum conv_gemm mode, const float *a, const float *x, float *out, int o, int n, int c,
                                 int h, int wd, int kh, int kw, int sh, int sw, int ph, int pw, int oh, int ow,
                                 float *scratch, int *next, int parts) {
  struct im2col *col = (struct im2col *)(scratch + SCRATCH - GEOMETRY_FLOATS);
  *col = (struct im2col){x, x + n * c * h * wd, c, h, wd, kh, kw, sh, sw, ph, pw, oh, ow};
  int cells = n * oh * ow, taps = c * kh * kw;
  if (mode == CONV_GEMM_GRAD_WEIGHT) gemm_tasks(a, 0, pack_bt_im2col, col, out, o, taps, cells, 0, scratch, next, parts);
  else gemm_tasks(a, 0, pack_b_im2col, col, out, o, cells, taps, 0, scratch, next, parts);
}

// ---------------------------------------------------------------------------
// The rest of convolution: an input gradient the backend does not run as a
// forward convolution of dY (stride > 1, few channels) is Wᵀ · dY' (matmul
// into a patch matrix [C·kh·kw, N·OH·OW], `ld` = N·OH·OW floats between its
// rows, image b's columns from b·OH·OW) scattered back into the image
// (col2im), and the permutes between NCHW and the GEMMs' channel-major
// [O, N, OH·OW]. Taps in the padding receive nothing, as in the reference.

// x[ic][iy][ix] += col[…] over every tap that reads it (image x's columns of col)
static void col2im(const float *col, int c, int h, int w, int kh, int kw, int sh, int sw, int ph, int pw, int oh,
                   int ow, float *x, int ld) {
  for (int ic = 0; ic < c; ic++) {
    float *plane = x + ic * h * w;
    for (int ky = 0; ky < kh; ky++) {
      for (int kx = 0; kx < kw; kx++) {
        int lo, hi;
        tap_range(ow, w, sw, pw, kx, &lo, &hi);
        for (int oy = 0; oy < oh; oy++) {
          int iy = oy * sh - ph + ky;
          if (iy < 0 || iy >= h) continue;
          const float *src = col + oy * ow;
          float *row = plane + iy * w;
          int shift = kx - pw;  // ix = ox·sw + shift
          if (sw == 1) {
            float *run = row + lo + shift;
            const float *from = src + lo;
            int i = 0, len = hi - lo;
            for (; i + 4 <= len; i += 4) {
              wasm_v128_store(run + i, wasm_f32x4_add(wasm_v128_load(run + i), wasm_v128_load(from + i)));
            }
            for (; i < len; i++) run[i] += from[i];
          } else {
            for (int ox = lo; ox < hi; ox++) row[ox * sw + shift] += src[ox];
          }
        }
        col += ld;
      }
    }
  }
}

// out[ic][oc][ky][kx] = w[oc][ic][kh − 1 − ky][kw − 1 − kx]: the weights of
// the stride-1 convolution whose forward is w's input gradient (dX is dY
// convolved with the flipped, channel-swapped kernel, padded by k − 1 − p).
EXPORT(flip_kernel) void flip_kernel(const float *w, int o, int c, int kh, int kw, float *out) {
  int area = kh * kw;
  for (int oc = 0; oc < o; oc++) {
    for (int ic = 0; ic < c; ic++) {
      const float *src = w + (oc * c + ic) * area;
      float *dst = out + (ic * o + oc) * area;
      for (int t = 0; t < area; t++) dst[t] = src[area - 1 - t];
    }
  }
}

// The batch's col2im: the NCHW images x as the sums of the patch matrix
// `col` over the taps that read each cell, one image per task (zeroed, then
// added into); a task-taking kernel (see kernel.h; images touch disjoint
// parts of x and col).
EXPORT(col2im) void col2im_batch(float *x, int n, int c, int h, int w, int kh, int kw, int sh, int sw, int ph, int pw,
                                 int oh, int ow, const float *col, float *scratch, int *next, int parts) {
  (void)scratch, (void)parts;
  int p = oh * ow, ld = n * p;
  for (;;) {
    int b = next_task(next);
    if (b >= n) return;
    float *image = x + b * c * h * w;
    for (int i = 0; i < c * h * w; i++) image[i] = 0;
    col2im(col + b * p, c, h, w, kh, kw, sh, sw, ph, pw, oh, ow, image, ld);
  }
}

// [a][b][p] → [b][a][p] (NCHW ↔ channel-major, p contiguous floats per row),
// in tasks of rows; a task-taking kernel (see kernel.h).
EXPORT(swap_outer) void swap_outer(const float *src, int a, int b, int p, float *dst, float *scratch, int *next,
                                   int parts) {
  (void)scratch;
  int rows = a * b;
  int chunk = rows / (4 * parts);
  if (chunk < 1) chunk = 1;
  for (;;) {
    int t = next_task(next);
    int lo = t * chunk, hi = lo + chunk;
    if (lo >= rows) return;
    if (hi > rows) hi = rows;
    for (int r = lo; r < hi; r++) {
      int i = r / b, j = r % b;
      const float *s = src + r * p;
      float *d = dst + (j * a + i) * p;
      int k = 0;
      for (; k + 4 <= p; k += 4) wasm_v128_store(d + k, wasm_v128_load(s + k));
      for (; k < p; k++) d[k] = s[k];
    }
  }
}

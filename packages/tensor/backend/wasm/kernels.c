// WebAssembly SIMD kernels of the wasm backend (wasm_backend.ts), compiled by
// tools/build_wasm.ts (clang --target=wasm32 -msimd128 -mrelaxed-simd) into
// kernels_wasm.generated.ts. Pointers are byte offsets into the module's
// memory; the backend allocates every tensor there.
//
// matmul is a GEMM structured as OpenBLAS/XNNPACK structure theirs (Goto's
// algorithm): B is packed in KC×NC panels of NR-column strips, A in MC×KC
// blocks of MR-row strips (packing also applies the transposes and zero-pads
// the edges), and an MR×NR register-blocked micro-kernel (12 f32x4
// accumulators) runs over the packed strips, so its inner loop reads both
// operands sequentially. The panels sized to stay in L1 (A strip, B strip)
// and L2 (B panel). With threads, each thread computes its own block of C.
// Convolutions are that GEMM over the whole batch with B's panels packed
// straight from the NCHW input (implicit GEMM, conv_gemm): no patch matrix is
// written except for an input gradient at stride > 1 (col2im).
#include <wasm_simd128.h>

// a·b + c in one instruction: relaxed SIMD's f32x4.relaxed_madd (fused where
// the CPU has FMA). clang 14 knows it only as the prototype f32x4.fma
// (opcode 0xfd 0xaf 0x01), taking the operands in the order relaxed_madd
// reads them (a, b, c → a·b + c); build_wasm.ts rewrites
// that opcode to relaxed_madd's (0xfd 0x85 0x02), the same length.
#define MADD(a, b, c) __builtin_wasm_fma_f32x4(a, b, c)

#define MR 6
#define NR 8
#define KC 256
#define MC 72
#define NC 512

// Floats of scratch one thread's matmul needs: the packed A block, the packed
// B panel, one MR×NR tile and, for a convolution's B, a table of KC taps and
// the convolution's geometry. Threads share the memory, so each passes its
// own scratch (no static buffers, no shadow stack: nothing whose address is
// taken lives in a local).
#define TAP_INTS 4
#define GEOMETRY_FLOATS 16
#define SCRATCH (MC * KC + KC * NC + MR * NR + KC * TAP_INTS + GEOMETRY_FLOATS)

__attribute__((export_name("matmul_scratch_floats"))) int matmul_scratch_floats(void) { return SCRATCH; }

// Packs op(A)[i0:i0+mc, k0:k0+kc] into MR-row strips, k-major within a strip
// (zero rows past the edge), so the micro-kernel reads it sequentially.
static void pack_a(float *p, const float *a, int lda, int ta, int i0, int mc, int k0, int kc) {
  for (int ir = 0; ir < mc; ir += MR) {
    int mr = mc - ir < MR ? mc - ir : MR;
    for (int k = 0; k < kc; k++) {
      for (int r = 0; r < MR; r++) {
        int i = i0 + ir + r, kk = k0 + k;
        p[r] = r < mr ? (ta ? a[kk * lda + i] : a[i * lda + kk]) : 0.0f;
      }
      p += MR;
    }
  }
}

// Packs op(B)[k0:k0+kc, j0:j0+nc] into NR-column strips, k-major within a strip.
static void pack_b(float *p, const float *b, int ldb, int tb, int k0, int kc, int j0, int nc) {
  for (int jr = 0; jr < nc; jr += NR) {
    int nr = nc - jr < NR ? nc - jr : NR;
    for (int k = 0; k < kc; k++) {
      if (!tb && nr == NR) {
        const float *src = b + (k0 + k) * ldb + j0 + jr;
        wasm_v128_store(p, wasm_v128_load(src));
        wasm_v128_store(p + 4, wasm_v128_load(src + 4));
      } else {
        for (int c = 0; c < NR; c++) {
          int j = j0 + jr + c, kk = k0 + k;
          p[c] = c < nr ? (tb ? b[j * ldb + kk] : b[kk * ldb + j]) : 0.0f;
        }
      }
      p += NR;
    }
  }
}

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

// Packs col[k0:k0+kc, j0:j0+nc] into NR-column strips as pack_b does. Each
// tap's input offset, row and column range are worked out once per panel
// (in `taps`, TAP_INTS ints a tap). With stride 1 and rows a multiple of 4
// long, every 4 columns of a strip lie in one output row and are one
// (masked) vector load from x; otherwise column by column.
static void pack_b_im2col(float *p, const struct im2col *g, int k0, int kc, int j0, int nc, int *taps) {
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

// Packs colᵀ[k0:k0+kc, j0:j0+nc] (rows: output cells; columns: taps) into
// NR-column strips as pack_b does with tb: tap by tap, the output cells in
// runs along an output row, each run a contiguous (stride 1) stretch of an
// input row between the padding's zeros.
static void pack_bt_im2col(float *p, const struct im2col *g, int k0, int kc, int j0, int nc) {
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

// The MR×NR micro-kernel: C tile (+)= packed A strip · packed B strip.
static void micro(int kc, const float *pa, const float *pb, float *c, int ldc, int mr, int nr, int accumulate, float *t) {
  v128_t c00 = wasm_f32x4_splat(0), c01 = c00, c10 = c00, c11 = c00, c20 = c00, c21 = c00;
  v128_t c30 = c00, c31 = c00, c40 = c00, c41 = c00, c50 = c00, c51 = c00;
#define STEP(o)                                                                              \
  {                                                                                            \
    v128_t b0 = wasm_v128_load(pb + (o) * NR), b1 = wasm_v128_load(pb + (o) * NR + 4), a;      \
    a = wasm_v128_load32_splat(pa + (o) * MR + 0); c00 = MADD(a, b0, c00); c01 = MADD(a, b1, c01); \
    a = wasm_v128_load32_splat(pa + (o) * MR + 1); c10 = MADD(a, b0, c10); c11 = MADD(a, b1, c11); \
    a = wasm_v128_load32_splat(pa + (o) * MR + 2); c20 = MADD(a, b0, c20); c21 = MADD(a, b1, c21); \
    a = wasm_v128_load32_splat(pa + (o) * MR + 3); c30 = MADD(a, b0, c30); c31 = MADD(a, b1, c31); \
    a = wasm_v128_load32_splat(pa + (o) * MR + 4); c40 = MADD(a, b0, c40); c41 = MADD(a, b1, c41); \
    a = wasm_v128_load32_splat(pa + (o) * MR + 5); c50 = MADD(a, b0, c50); c51 = MADD(a, b1, c51); \
  }
  // Four k per iteration: the loop's own instructions are a quarter as many.
  int k = 0;
  for (; k + 4 <= kc; k += 4) {
    STEP(0) STEP(1) STEP(2) STEP(3)
    pa += 4 * MR;
    pb += 4 * NR;
  }
  for (; k < kc; k++) {
    STEP(0)
    pa += MR;
    pb += NR;
  }
#undef STEP
  if (mr == MR && nr == NR) {
    // A whole tile: C's rows directly, four lanes at a time.
    v128_t acc[2 * MR] = {c00, c01, c10, c11, c20, c21, c30, c31, c40, c41, c50, c51};
    for (int r = 0; r < MR; r++) {
      float *row = c + r * ldc;
      v128_t lo = acc[2 * r], hi = acc[2 * r + 1];
      if (accumulate) {
        lo = wasm_f32x4_add(lo, wasm_v128_load(row));
        hi = wasm_f32x4_add(hi, wasm_v128_load(row + 4));
      }
      wasm_v128_store(row, lo);
      wasm_v128_store(row + 4, hi);
    }
    return;
  }
  wasm_v128_store(t + 0, c00); wasm_v128_store(t + 4, c01);
  wasm_v128_store(t + 8, c10); wasm_v128_store(t + 12, c11);
  wasm_v128_store(t + 16, c20); wasm_v128_store(t + 20, c21);
  wasm_v128_store(t + 24, c30); wasm_v128_store(t + 28, c31);
  wasm_v128_store(t + 32, c40); wasm_v128_store(t + 36, c41);
  wasm_v128_store(t + 40, c50); wasm_v128_store(t + 44, c51);
  for (int r = 0; r < mr; r++) {
    float *row = c + r * ldc;
    if (accumulate) for (int j = 0; j < nr; j++) row[j] += t[r * NR + j];
    else for (int j = 0; j < nr; j++) row[j] = t[r * NR + j];
  }
}

// C[m×n] (+)= op(A)·op(B) for op(A) m×k, op(B) k×n (row-major; lda, ldb,
// ldc are the stored row lengths; ta: A stored k×m, tb: B stored n×k); C is
// overwritten, or added to with `accumulate`. With `col`, B is columns
// col_j… of that patch matrix instead, or of its transpose with tb (b and
// ldb unused).
static void gemm(const float *a, int lda, int ta, const float *b, int ldb, int tb, const struct im2col *col,
                 int col_j, float *c, int ldc, int m, int n, int k, int accumulate, float *scratch) {
  float *pa = scratch, *pb = scratch + MC * KC, *t = pb + KC * NC;
  int *taps = (int *)(t + MR * NR);
  if (k == 0) {
    if (!accumulate) for (int i = 0; i < m; i++) for (int j = 0; j < n; j++) c[i * ldc + j] = 0;
    return;
  }
  for (int j0 = 0; j0 < n; j0 += NC) {
    int nc = n - j0 < NC ? n - j0 : NC;
    for (int k0 = 0; k0 < k; k0 += KC) {
      int kc = k - k0 < KC ? k - k0 : KC;
      if (col && tb) pack_bt_im2col(pb, col, k0, kc, col_j + j0, nc);
      else if (col) pack_b_im2col(pb, col, k0, kc, col_j + j0, nc, taps);
      else pack_b(pb, b, ldb, tb, k0, kc, j0, nc);
      for (int i0 = 0; i0 < m; i0 += MC) {
        int mc = m - i0 < MC ? m - i0 : MC;
        pack_a(pa, a, lda, ta, i0, mc, k0, kc);
        for (int jr = 0; jr < nc; jr += NR) {
          int nr = nc - jr < NR ? nc - jr : NR;
          for (int ir = 0; ir < mc; ir += MR) {
            int mr = mc - ir < MR ? mc - ir : MR;
            micro(kc, pa + ir * kc, pb + jr * kc, c + (i0 + ir) * ldc + j0 + jr, ldc, mr, nr,
                  accumulate || k0 > 0, t);
          }
        }
      }
    }
  }
}

// C (+)= op(A)·op(B), or A·col with `col`, in tasks taken from `next` (see matmul).
static void gemm_tasks(const float *a, const float *b, const struct im2col *col, float *c, int m, int n, int k,
                       int ta, int tb, int accumulate, float *scratch, int *next, int parts) {
  int lda = ta ? m : k, ldb = tb ? k : n;
  int by_rows = m >= n;
  int unit = by_rows ? MR : NR;
  int strips = ((by_rows ? m : n) + unit - 1) / unit;
  int chunk = strips / (2 * parts);
  if (chunk < 1) chunk = 1;
  int tasks = (strips + chunk - 1) / chunk;
  for (;;) {
    int t = __atomic_fetch_add(next, 1, __ATOMIC_RELAXED);
    if (t >= tasks) return;
    int lo = t * chunk * unit, hi = (t + 1) * chunk * unit;
    if (by_rows) {
      if (hi > m) hi = m;
      const float *a0 = ta ? a + lo : a + lo * lda;
      gemm(a0, lda, ta, b, ldb, tb, col, 0, c + lo * n, n, hi - lo, n, k, accumulate, scratch);
    } else {
      if (hi > n) hi = n;
      const float *b0 = col ? b : tb ? b + lo * ldb : b + lo;
      gemm(a, lda, ta, b0, ldb, tb, col, lo, c + lo, n, m, hi - lo, k, accumulate, scratch);
    }
  }
}

// C (+)= op(A)·op(B) (A m×k or stored k×m with ta; B k×n or stored n×k with
// tb; C m×n; all contiguous), shared by every thread that calls it with the
// same `next` counter (zeroed before the call): C's rows (in MR multiples,
// when C has at least as many rows as columns) or columns (in NR multiples)
// are cut into about 4 tasks per thread, and each thread takes the next task
// until none is left. Taking tasks rather than a fixed share keeps a thread
// that the OS has descheduled (the runtime's GC and compiler threads compete
// for the same cores) from holding up the call: the others take its work.
__attribute__((export_name("matmul"))) void matmul(const float *a, const float *b, float *c, int m, int n, int k,
                                                   int ta, int tb, int accumulate, float *scratch, int *next,
                                                   int parts) {
  gemm_tasks(a, b, 0, c, m, n, k, ta, tb, accumulate, scratch, next, parts);
}

// conv2d's GEMMs without their patch matrix col(x) (implicit GEMM: B's
// panels are packed from the NCHW input x directly), in tasks as matmul's:
// grad_weight 0, the forward Y[O, N·OH·OW] = W[O, C·kh·kw] · col(x) (a = W,
// out = Y, channel-major as the im2col path's); grad_weight 1, the weight
// gradient dW[O, C·kh·kw] = dY'[O, N·OH·OW] · col(x)ᵀ (a = dY' channel-major,
// out = dW).
__attribute__((export_name("conv_gemm"))) void conv_gemm(int grad_weight, const float *a, const float *x, float *out,
                                                         int o, int n, int c, int h, int wd, int kh, int kw, int sh,
                                                         int sw, int ph, int pw, int oh, int ow, float *scratch,
                                                         int *next, int parts) {
  struct im2col *col = (struct im2col *)(scratch + SCRATCH - GEOMETRY_FLOATS);
  *col = (struct im2col){x, x + n * c * h * wd, c, h, wd, kh, kw, sh, sw, ph, pw, oh, ow};
  int cells = n * oh * ow, taps = c * kh * kw;
  if (grad_weight) gemm_tasks(a, 0, col, out, o, taps, cells, 0, 1, 0, scratch, next, parts);
  else gemm_tasks(a, 0, col, out, o, cells, taps, 0, 0, 0, scratch, next, parts);
}

// ---------------------------------------------------------------------------
// The rest of convolution: an input gradient the backend does not run as a
// forward convolution of dY (stride > 1, few channels) is Wᵀ · dY' (a GEMM into a
// patch matrix [C·kh·kw, N·OH·OW], `ld` = N·OH·OW floats between its rows,
// image b's columns from b·OH·OW) scattered back into the image (col2im), and
// the permutes between NCHW and the GEMMs' channel-major [O, N, OH·OW]. Taps
// in the padding receive nothing, as in the reference (ops/conv/cpu.ts).

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
__attribute__((export_name("flip_kernel"))) void flip_kernel(const float *w, int o, int c, int kh, int kw, float *out) {
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
// added into), taken from `next` by every thread that calls it (images touch
// disjoint parts of x and col).
__attribute__((export_name("col2im"))) void col2im_batch(float *x, int n, int c, int h, int w, int kh, int kw, int sh,
                                                         int sw, int ph, int pw, int oh, int ow, const float *col,
                                                         int *next) {
  int p = oh * ow, ld = n * p;
  for (;;) {
    int b = __atomic_fetch_add(next, 1, __ATOMIC_RELAXED);
    if (b >= n) return;
    float *image = x + b * c * h * w;
    for (int i = 0; i < c * h * w; i++) image[i] = 0;
    col2im(col + b * p, c, h, w, kh, kw, sh, sw, ph, pw, oh, ow, image, ld);
  }
}

// [a][b][p] → [b][a][p] (NCHW ↔ channel-major, p contiguous floats per row),
// in tasks of rows taken from `next` by every thread that calls it.
__attribute__((export_name("swap_outer"))) void swap_outer(const float *src, int a, int b, int p, float *dst,
                                                           int *next, int parts) {
  int rows = a * b;
  int chunk = rows / (4 * parts);
  if (chunk < 1) chunk = 1;
  for (;;) {
    int t = __atomic_fetch_add(next, 1, __ATOMIC_RELAXED);
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

// ---------------------------------------------------------------------------
// Elementwise: four lanes at a time, a scalar tail. NaN handling follows the
// reference loops (backend/cpu/kernels.ts): f32x4.max propagates NaN as
// Math.max does; a NaN x fails `x > 0` and gives 0 in relu_grad.

// out = max(x, 0) · scale (relu: scale 1)
__attribute__((export_name("scaled_relu"))) void scaled_relu(const float *x, float *out, int n, float scale) {
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
__attribute__((export_name("relu_grad"))) void relu_grad(const float *dy, const float *x, float *out, int n, float scale) {
  v128_t zero = wasm_f32x4_splat(0), s = wasm_f32x4_splat(scale);
  int i = 0;
  for (; i + 4 <= n; i += 4) {
    v128_t positive = wasm_f32x4_gt(wasm_v128_load(x + i), zero);
    wasm_v128_store(out + i, wasm_v128_and(positive, wasm_f32x4_mul(wasm_v128_load(dy + i), s)));
  }
  for (; i < n; i++) out[i] = x[i] > 0 ? dy[i] * scale : 0;
}

// out = x·mul + add, in double and rounded once, as the reference computes it
__attribute__((export_name("affine"))) void affine(const float *x, float *out, int n, double mul, double add) {
  v128_t m = wasm_f64x2_splat(mul), a = wasm_f64x2_splat(add);
  int i = 0;
  for (; i + 4 <= n; i += 4) {
    v128_t v = wasm_v128_load(x + i);
    v128_t lo = wasm_f64x2_add(wasm_f64x2_mul(wasm_f64x2_promote_low_f32x4(v), m), a);
    v128_t hi = wasm_f64x2_add(wasm_f64x2_mul(wasm_f64x2_promote_low_f32x4(wasm_i32x4_shuffle(v, v, 2, 3, 0, 1)), m), a);
    wasm_v128_store(out + i, wasm_i32x4_shuffle(wasm_f32x4_demote_f64x2_zero(lo), wasm_f32x4_demote_f64x2_zero(hi), 0, 1, 4, 5));
  }
  for (; i < n; i++) out[i] = (float)((double)x[i] * mul + add);
}

// ---------------------------------------------------------------------------
// Batch norm over x [N, C, S] (S the trailing size), as ops/norm/cpu.ts
// defines it: sums in double (two f64 lanes, so in a different order than
// the reference's single running sum: equal up to double rounding), each
// element's arithmetic in double and rounded once, as the reference's.

// Σ over channel ch of v(x) for v = x − shift (square: (x − shift)²)
static double channel_sum(const float *x, int n, int c, int s, int ch, double shift, int square) {
  v128_t acc0 = wasm_f64x2_splat(0), acc1 = acc0, sh = wasm_f64x2_splat(shift);
  double tail = 0;
  for (int b = 0; b < n; b++) {
    const float *p = x + (b * c + ch) * s;
    int k = 0;
    for (; k + 4 <= s; k += 4) {
      v128_t v = wasm_v128_load(p + k);
      v128_t lo = wasm_f64x2_sub(wasm_f64x2_promote_low_f32x4(v), sh);
      v128_t hi = wasm_f64x2_sub(wasm_f64x2_promote_low_f32x4(wasm_i32x4_shuffle(v, v, 2, 3, 0, 1)), sh);
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
__attribute__((export_name("bn_stats"))) void bn_stats(const float *x, int n, int c, int s, float *out) {
  double count = (double)n * s;
  for (int ch = 0; ch < c; ch++) {
    double mean = channel_sum(x, n, c, s, ch, 0, 0) / count;
    out[ch] = (float)mean;
    out[c + ch] = (float)(channel_sum(x, n, c, s, ch, mean, 1) / count);
  }
}

// (x − mean)/√(var + eps) per channel
__attribute__((export_name("batch_norm"))) void batch_norm(const float *x, const float *stats, float *out, int n, int c,
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
        v128_t lo = wasm_f64x2_div(wasm_f64x2_sub(wasm_f64x2_promote_low_f32x4(v), m), d);
        v128_t hi = wasm_f64x2_div(
            wasm_f64x2_sub(wasm_f64x2_promote_low_f32x4(wasm_i32x4_shuffle(v, v, 2, 3, 0, 1)), m), d);
        wasm_v128_store(q + k, wasm_i32x4_shuffle(wasm_f32x4_demote_f64x2_zero(lo), wasm_f32x4_demote_f64x2_zero(hi), 0, 1, 4, 5));
      }
      for (; k < s; k++) q[k] = (float)(((double)p[k] - mean) / sd);
    }
  }
}

// Two floats of p from k as double lanes (lo: lanes 0–1 of the four at p + k, hi: 2–3)
#define PROMOTE_LO(v) wasm_f64x2_promote_low_f32x4(v)
#define PROMOTE_HI(v) wasm_f64x2_promote_low_f32x4(wasm_i32x4_shuffle(v, v, 2, 3, 0, 1))
#define DEMOTE(lo, hi) wasm_i32x4_shuffle(wasm_f32x4_demote_f64x2_zero(lo), wasm_f32x4_demote_f64x2_zero(hi), 0, 1, 4, 5)

// (dy − Σdy/M − x̂·Σ(dy·x̂)/M)/√(var + eps) per channel, x̂ = (x − mean)/√(var + eps)
__attribute__((export_name("batch_norm_grad"))) void batch_norm_grad(const float *dy, const float *x, const float *stats,
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

// out = a ∘ b for same-shape operands: 0 add, 1 sub, 2 mul, 3 div (IEEE, as the reference)
__attribute__((export_name("binary_same"))) void binary_same(int op, const float *a, const float *b, float *out, int n) {
  int i = 0;
  for (; i + 4 <= n; i += 4) {
    v128_t x = wasm_v128_load(a + i), y = wasm_v128_load(b + i);
    v128_t r = op == 0 ? wasm_f32x4_add(x, y) : op == 1 ? wasm_f32x4_sub(x, y)
             : op == 2 ? wasm_f32x4_mul(x, y) : wasm_f32x4_div(x, y);
    wasm_v128_store(out + i, r);
  }
  for (; i < n; i++) {
    float x = a[i], y = b[i];
    out[i] = op == 0 ? x + y : op == 1 ? x - y : op == 2 ? x * y : x / y;
  }
}

// ---------------------------------------------------------------------------
// AGD (the reference: agdTerms, agdUpdate in backend/cpu/kernels.ts)

// out[r] = weight · ‖x[:, r]‖ over the `rows` rows of x viewed as rows×slices
__attribute__((export_name("agd_terms"))) void agd_terms(const float *x, int rows, int slices, float weight, float *out) {
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
__attribute__((export_name("agd_update"))) void agd_update(const float *w, const float *g, const float *terms, const float *eta, float *out, int n, int slices, float mul) {
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

// ---------------------------------------------------------------------------
// Pooling (the reference: ops/pool/cpu.ts), NCHW, a few [H, W] planes per
// task: op 0 max_pool2d, 1 max_pool2d_grad, 2 avg_pool2d, 3 avg_pool2d_grad.
// Window (oy, ox) covers rows oy·sh − ph + ky and columns ox·sw − pw + kx;
// cells outside the input are padding. Sums are in double and rounded once,
// as the reference's, so the outputs are the reference's to the bit.

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

static void pool_plane(int op, const float *x, const float *dy, float *out, int h, int w, int kh, int kw, int sh,
                       int sw, int ph, int pw, int oh, int ow, double *acc) {
  double area = (double)kh * kw;
  if (op == 0) {
    for (int oy = 0; oy < oh; oy++) {
      for (int ox = 0; ox < ow; ox++) {
        int i = first_max(x, h, w, kh, kw, oy * sh - ph, ox * sw - pw);
        out[oy * ow + ox] = i < 0 ? -__builtin_inff() : x[i];
      }
    }
  } else if (op == 1) {
    // Each dy cell goes to its window's first maximum; overlapping windows add up.
    for (int i = 0; i < h * w; i++) acc[i] = 0;
    for (int oy = 0; oy < oh; oy++) {
      for (int ox = 0; ox < ow; ox++) {
        int i = first_max(x, h, w, kh, kw, oy * sh - ph, ox * sw - pw);
        if (i >= 0) acc[i] += dy[oy * ow + ox];
      }
    }
    for (int i = 0; i < h * w; i++) out[i] = (float)acc[i];
  } else if (op == 2) {
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

// The pooling op over `planes` planes (N·C), in tasks of planes taken from
// `next` by every thread that calls it; `scratch` (the thread's matmul
// scratch) holds max_pool2d_grad's H·W double sums.
__attribute__((export_name("pool"))) void pool(int op, const float *x, const float *dy, float *out, int planes, int h,
                                               int w, int kh, int kw, int sh, int sw, int ph, int pw, int oh, int ow,
                                               float *scratch, int *next, int parts) {
  int chunk = planes / (4 * parts);
  if (chunk < 1) chunk = 1;
  int in = h * w, o = oh * ow;
  for (;;) {
    int lo = __atomic_fetch_add(next, 1, __ATOMIC_RELAXED) * chunk, hi = lo + chunk;
    if (lo >= planes) return;
    if (hi > planes) hi = planes;
    for (int p = lo; p < hi; p++) {
      if (op == 0 || op == 2) {
        pool_plane(op, x + p * in, 0, out + p * o, h, w, kh, kw, sh, sw, ph, pw, oh, ow, 0);
      } else if (op == 1) {
        pool_plane(op, x + p * in, dy + p * o, out + p * in, h, w, kh, kw, sh, sw, ph, pw, oh, ow,
                   (double *)scratch);
      } else {
        pool_plane(op, 0, dy + p * o, out + p * in, h, w, kh, kw, sh, sw, ph, pw, oh, ow, 0);
      }
    }
  }
}

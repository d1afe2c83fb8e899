// matmul's WebAssembly SIMD kernel: a GEMM structured as OpenBLAS/XNNPACK
// structure theirs (Goto's algorithm): B is packed in KC×NC panels of
// NR-column strips, A in MC×KC blocks of MR-row strips (packing also applies
// the transposes and zero-pads the edges), and an MR×NR register-blocked
// micro-kernel (12 f32x4 accumulators) runs over the packed strips, so its
// inner loop reads both operands sequentially. The panels are sized to stay
// in L1 (A strip, B strip) and L2 (B panel). With threads, each thread
// computes its own blocks of C. Convolutions are this GEMM with B's panels
// packed straight from the NCHW input (ops/conv/conv.c).
#include "gemm.h"

EXPORT(matmul_scratch_floats) int matmul_scratch_floats(void) { return SCRATCH; }

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

// A stored B: its row length and whether it is stored n×k (transposed).
struct stored_b {
  const float *b;
  int ldb, tb;
};

// Packs a stored op(B) (see pack_panel).
static void pack_b(float *p, const void *source, int k0, int kc, int j0, int nc, int *work) {
  (void)work;
  const struct stored_b *s = source;
  const float *b = s->b;
  int ldb = s->ldb, tb = s->tb;
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

// C[m×n] (+)= op(A)·B for op(A) m×k (row-major; lda, ldc the stored row
// lengths; ta: A stored k×m), B k×n packed by `pack` from columns col_j… of
// its operand; C is overwritten, or added to with `accumulate`.
static void gemm(const float *a, int lda, int ta, pack_panel pack, const void *source, int col_j, float *c, int ldc,
                 int m, int n, int k, int accumulate, float *scratch) {
  float *pa = scratch, *pb = scratch + MC * KC, *t = pb + KC * NC;
  int *work = (int *)(t + MR * NR);
  if (k == 0) {
    if (!accumulate) for (int i = 0; i < m; i++) for (int j = 0; j < n; j++) c[i * ldc + j] = 0;
    return;
  }
  for (int j0 = 0; j0 < n; j0 += NC) {
    int nc = n - j0 < NC ? n - j0 : NC;
    for (int k0 = 0; k0 < k; k0 += KC) {
      int kc = k - k0 < KC ? k - k0 : KC;
      pack(pb, source, k0, kc, col_j + j0, nc, work);
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

void gemm_tasks(const float *a, int ta, pack_panel pack, const void *source, float *c, int m, int n, int k,
                int accumulate, float *scratch, int *next, int parts) {
  int lda = ta ? m : k;
  int by_rows = m >= n;
  int unit = by_rows ? MR : NR;
  int strips = ((by_rows ? m : n) + unit - 1) / unit;
  int chunk = strips / (2 * parts);
  if (chunk < 1) chunk = 1;
  int tasks = (strips + chunk - 1) / chunk;
  for (;;) {
    int t = next_task(next);
    if (t >= tasks) return;
    int lo = t * chunk * unit, hi = (t + 1) * chunk * unit;
    if (by_rows) {
      if (hi > m) hi = m;
      const float *a0 = ta ? a + lo : a + lo * lda;
      gemm(a0, lda, ta, pack, source, 0, c + lo * n, n, hi - lo, n, k, accumulate, scratch);
    } else {
      if (hi > n) hi = n;
      gemm(a, lda, ta, pack, source, lo, c + lo, n, m, hi - lo, k, accumulate, scratch);
    }
  }
}

// C (+)= op(A)·op(B) (A m×k or stored k×m with ta; B k×n or stored n×k with
// tb; C m×n; all contiguous), a task-taking kernel (see kernel.h).
EXPORT(matmul) void matmul(const float *a, const float *b, float *c, int m, int n, int k, int ta, int tb,
                           int accumulate, float *scratch, int *next, int parts) {
  // The packed B lives in the scratch's geometry floats: this thread's own.
  struct stored_b *source = (struct stored_b *)(scratch + SCRATCH - GEOMETRY_FLOATS);
  *source = (struct stored_b){b, tb ? k : n, tb};
  gemm_tasks(a, ta, pack_b, source, c, m, n, k, accumulate, scratch, next, parts);
}

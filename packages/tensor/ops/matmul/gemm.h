// The SIMD GEMM of the wasm backend (ops/matmul/matmul.c), for the families
// whose kernels are GEMMs: matmul itself, and convolution, whose B operand is
// packed straight from the NCHW input (ops/conv/conv.c).
#ifndef AGD_GEMM_H
#define AGD_GEMM_H
#include "../../backend/wasm/kernel.h"

#define MR 6
#define NR 8
#define KC 256
#define MC 72
#define NC 512

// Floats of scratch one thread's task-taking kernel may use: the packed A
// block, the packed B panel, one MR×NR tile and, for a convolution's B, a
// table of KC taps and the convolution's geometry. Threads share the memory,
// so each passes its own scratch (no static buffers, no shadow stack: nothing
// whose address is taken lives in a local).
#define TAP_INTS 4
#define GEOMETRY_FLOATS 16
#define SCRATCH (MC * KC + KC * NC + MR * NR + KC * TAP_INTS + GEOMETRY_FLOATS)

// Packs op(B)[k0:k0+kc, j0:j0+nc] of the operand `source` describes into
// NR-column strips, k-major within a strip (zero columns past the edge), so
// the micro-kernel reads it sequentially; `work` is KC·TAP_INTS ints of scratch.
typedef void (*pack_panel)(float *p, const void *source, int k0, int kc, int j0, int nc, int *work);

// C[m×n] (+)= op(A)·B (op(A) m×k, A stored k×m with ta; B k×n as `pack`
// packs it from `source`; C contiguous), in tasks taken from `next` by every
// thread that calls it with the same counter: C's rows (in MR multiples, when
// C has at least as many rows as columns) or columns (in NR multiples) are cut
// into about 2 tasks per thread.
void gemm_tasks(const float *a, int ta, pack_panel pack, const void *source, float *c, int m, int n, int k,
                int accumulate, float *scratch, int *next, int parts);

#endif

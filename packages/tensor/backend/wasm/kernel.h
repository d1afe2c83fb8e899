// What every family's WebAssembly SIMD kernels (ops/<family>/<family>.c) share:
// the SIMD intrinsics, the export and task conventions, and the double-lane
// helpers. tools/build_wasm.ts compiles every family's C file into one module
// (clang --target=wasm32 -msimd128 -mrelaxed-simd); pointers are byte offsets
// into its memory, where the wasm backend allocates every tensor.
//
// A task-taking kernel (one the backend may run on every thread) ends its
// parameters with `float *scratch, int *next, int parts`: the calling thread's
// scratch (SCRATCH floats, ops/matmul/gemm.h), the call's task counter (zeroed
// before the call) and the number of threads taking part; every other
// parameter is an int or a pointer. Each thread takes the next task with
// next_task() until none is left, so a descheduled thread never holds up a call.
#ifndef AGD_KERNEL_H
#define AGD_KERNEL_H
#include <wasm_simd128.h>

// Exports a function to JavaScript under its own name.
#define EXPORT(name) __attribute__((export_name(#name)))

// a·b + c in one instruction: relaxed SIMD's f32x4.relaxed_madd (fused where
// the CPU has FMA). clang 14 knows it only as the prototype f32x4.fma
// (opcode 0xfd 0xaf 0x01), taking the operands in the order relaxed_madd
// reads them (a, b, c → a·b + c); build_wasm.ts rewrites
// that opcode to relaxed_madd's (0xfd 0x85 0x02), the same length.
#define MADD(a, b, c) __builtin_wasm_fma_f32x4(a, b, c)

// Two floats of a f32x4 as double lanes (lo: lanes 0–1, hi: 2–3), and four
// doubles back as one f32x4.
#define PROMOTE_LO(v) wasm_f64x2_promote_low_f32x4(v)
#define PROMOTE_HI(v) wasm_f64x2_promote_low_f32x4(wasm_i32x4_shuffle(v, v, 2, 3, 0, 1))
#define DEMOTE(lo, hi) wasm_i32x4_shuffle(wasm_f32x4_demote_f64x2_zero(lo), wasm_f32x4_demote_f64x2_zero(hi), 0, 1, 4, 5)

// The next task of a call (tasks past the last mean: return).
static inline int next_task(int *next) { return __atomic_fetch_add(next, 1, __ATOMIC_RELAXED); }

#endif

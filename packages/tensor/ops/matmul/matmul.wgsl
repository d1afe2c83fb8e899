// Tiled matmul: out[M, N] = op(a) · op(b), with op(a) = a or aᵀ (TRANS_A: a is
// stored [K, M]) and op(b) = b or bᵀ (TRANS_B: b is stored [N, K]). Transposes
// change only the tile-load indexing; nothing is copied.
//
// Bindings (group 0), entry point `main`:
//   0: uniform Mm   1: a array<f32> (read)   2: b array<f32> (read)
//   3: out array<f32> (read_write)
//
// Each 16×16 workgroup computes a 64×64 output tile (4×4 per thread, the
// thread's rows and columns 16 apart so that neighbouring threads touch
// neighbouring addresses) while stepping K by 16 through two workgroup-memory
// tiles. Tile loads are zero-filled past M, N and K, and stores are guarded,
// so any size works.
//
// Split-K: workgroup z takes K range [z·kchunk, (z+1)·kchunk) and writes its
// partial product to out[z·M·N + ...]; the host sums the slices afterwards.
// With one slice this is the plain product.
//
// Entry points: `main` (this tiled kernel), and `pack`, `pack4` + `main_tex`
// (the texture-operand variant, described further down).
//
// Override constants: TRANS_A, TRANS_B. Tile sizes are `const`, because
// WGSL sizes the per-thread register arrays with creation-fixed constants.

override TRANS_A: bool = false;
override TRANS_B: bool = false;
// main_tex: operands copied into their textures transposed (see below).
override A_T: bool = false;
override B_T: bool = false;

const BM = 64u;
const BN = 64u;
const BK = 16u;
const THREADS = 256u;

struct Mm {
  m: u32,
  n: u32,
  k: u32,
  kchunk: u32,
}

@group(0) @binding(0) var<uniform> U: Mm;
@group(0) @binding(1) var<storage, read> a: array<f32>;
@group(0) @binding(2) var<storage, read> b: array<f32>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;

var<workgroup> As: array<f32, 1024>; // [BK][BM]
var<workgroup> Bs: array<f32, 1024>; // [BK][BN]

@compute @workgroup_size(16, 16)
fn main(
  @builtin(workgroup_id) wg: vec3<u32>,
  @builtin(local_invocation_id) lid: vec3<u32>,
  @builtin(local_invocation_index) li: u32,
) {
  let m0 = wg.y * BM;
  let n0 = wg.x * BN;
  let kbeg = wg.z * U.kchunk;
  let kend = min(U.k, kbeg + U.kchunk);

  var acc0 = vec4<f32>(0.0);
  var acc1 = vec4<f32>(0.0);
  var acc2 = vec4<f32>(0.0);
  var acc3 = vec4<f32>(0.0);

  for (var k0 = kbeg; k0 < kend; k0 += BK) {
    // Each thread loads 4 elements of each tile, choosing which index runs
    // fastest so that neighbouring threads read neighbouring addresses.
    for (var r = 0u; r < 4u; r++) {
      let e = li + THREADS * r;
      var ml: u32;
      var kl: u32;
      if (TRANS_A) { ml = e % BM; kl = e / BM; } else { kl = e % BK; ml = e / BK; }
      let m = m0 + ml;
      let k = k0 + kl;
      var v = 0.0;
      if (m < U.m && k < kend) {
        if (TRANS_A) { v = a[k * U.m + m]; } else { v = a[m * U.k + k]; }
      }
      As[kl * BM + ml] = v;

      var nl: u32;
      var kl2: u32;
      if (TRANS_B) { kl2 = e % BK; nl = e / BK; } else { nl = e % BN; kl2 = e / BN; }
      let n = n0 + nl;
      let k2 = k0 + kl2;
      var w = 0.0;
      if (n < U.n && k2 < kend) {
        if (TRANS_B) { w = b[n * U.k + k2]; } else { w = b[k2 * U.n + n]; }
      }
      Bs[kl2 * BN + nl] = w;
    }
    workgroupBarrier();
    for (var kk = 0u; kk < BK; kk++) {
      let ar = kk * BM + lid.y;
      let br = kk * BN + lid.x;
      let bv = vec4<f32>(Bs[br], Bs[br + 16u], Bs[br + 32u], Bs[br + 48u]);
      acc0 += As[ar] * bv;
      acc1 += As[ar + 16u] * bv;
      acc2 += As[ar + 32u] * bv;
      acc3 += As[ar + 48u] * bv;
    }
    workgroupBarrier();
  }

  let base = wg.z * U.m * U.n;
  let n = n0 + lid.x;
  store_row(base, m0 + lid.y, n, acc0);
  store_row(base, m0 + lid.y + 16u, n, acc1);
  store_row(base, m0 + lid.y + 32u, n, acc2);
  store_row(base, m0 + lid.y + 48u, n, acc3);
}

fn store_row(base: u32, m: u32, n: u32, v: vec4<f32>) {
  if (m >= U.m) { return; }
  let row = base + m * U.n;
  for (var j = 0u; j < 4u; j++) {
    let c = n + 16u * j;
    if (c < U.n) { out[row + c] = v[j]; }
  }
}

// ---------------------------------------------------------------------------
// Texture-operand variant.
//
// Software rasterisers (lavapipe) load from storage buffers and workgroup
// memory one lane at a time, but fetch texels for all SIMD lanes at once; on
// lavapipe a 4-wide texel fetch is ~8× cheaper than the equivalent buffer
// loads. So this variant first packs both operands into rgba32float textures,
// 4 consecutive elements per texel (zero-padded), then runs a kernel that reads
// only those textures, with no workgroup memory and a large register tile.
// (An operand with 256-byte-aligned rows is copied into its texture by the
// host instead of packed; texels past its end then hold stale values, which
// only feed products that main_tex never stores. A transposed operand is
// copied as it is stored, and main_tex reads it with A_T / B_T: texel
// (mq, k) of ta holds 4 rows of one k, texel (kq, n) of tb 4 k of one n;
// 4×4 transposes in registers restore the usual layout.)
// The runtime measures both variants once per adapter and keeps the faster
// (on discrete GPUs that is normally the tiled kernel above).
//
//   pack      0: uniform Pack  1: src array<f32> (read)
//             2: dst texture_storage_2d<rgba32float, write>
//             Texel (x, y) = (src[Y·sy + X·sx] for c < 4) with Y = y + y0 and
//             X = 4x + c + x0, 0 where Y ≥ rows or X ≥ cols. For op(a) [M, K]
//             rows are m and columns k; for op(b) [K, N] rows are k (padded to
//             a multiple of 4) and columns n. The strides express transposes;
//             the offsets select a chunk (textures have a size limit).
//   main_tex  0: uniform Tex  1: ta texture_2d<f32> (op(a): texel (kq, m − m0))
//             2: tb texture_2d<f32> (op(b): texel (nq, k))
//             3: out array<f32> (read_write)
//             An 8×8 workgroup computes a 128×64 tile: each thread 16 rows
//             (contiguous) × 8 columns (two texels 8 apart). Per step of 4 in
//             K it fetches 16 texels of a and 8 of b; `b * a` is a mat4x4 ×
//             vec4 product, that is 4 FMAs per accumulator. Texel reads past M
//             or N return values whose products are never stored.
//             Rows m0 .. m0 + rows − 1 of the output are computed. `mode`
//             places C[m, n] at out[base + ...]: OUT_ROW_MAJOR m·N + n;
//             OUT_BLOCKED ((m / p)·N + n)·p + m % p (a conv's [n, o, y, x]
//             output with rows (n, y, x); with p = M it is the transpose
//             n·M + m). The codes are TEX_OUT of ops/matmul/gpu.ts
//             (backend/webgpu/uniforms_test.ts checks they agree).
//             It is a uniform, not an override, so that one pipeline of this
//             large kernel serves matmul and the three convs (compiling it is
//             slow on lavapipe).
// conv.wgsl packs the implicit-GEMM operands of the convs into the same
// texture layout, so the convs share main_tex.
// Register tiles are unrolled by hand: WGSL has no unroll directive, and
// private arrays indexed in loops stayed in memory on lavapipe (3× slower).

const OUT_ROW_MAJOR = 0u;
const OUT_BLOCKED = 1u;

struct Pack {
  rows: u32,
  cols: u32,
  sy: u32,
  sx: u32,
  width: u32,
  height: u32,
  y0: u32,
  x0: u32,
}

struct Tex {
  m: u32,
  n: u32,
  kq: u32,
  m0: u32,
  rows: u32,
  p: u32,
  base: u32,
  mode: u32,
}

@group(0) @binding(0) var<uniform> PK: Pack;
@group(0) @binding(1) var<storage, read> src: array<f32>;
@group(0) @binding(2) var dst: texture_storage_2d<rgba32float, write>;

@compute @workgroup_size(8, 8)
fn pack(@builtin(global_invocation_id) gid: vec3<u32>) {
  if (gid.x >= PK.width || gid.y >= PK.height) { return; }
  var v = vec4<f32>(0.0);
  let y = gid.y + PK.y0;
  let x = gid.x * 4u + PK.x0;
  if (y < PK.rows) {
    let i = y * PK.sy + x * PK.sx;
    if (x + 3u < PK.cols) {
      // Unrolled for the common in-range case (guarded loops are slow on lavapipe).
      v = vec4<f32>(src[i], src[i + PK.sx], src[i + 2u * PK.sx], src[i + 3u * PK.sx]);
    } else {
      for (var c = 0u; c < 4u; c++) {
        if (x + c < PK.cols) { v[c] = src[i + c * PK.sx]; }
      }
    }
  }
  textureStore(dst, vec2<u32>(gid.x, gid.y), v);
}

// pack with unit column stride (sx = 1) and sy, x0 multiples of 4: each
// texel is one aligned vec4 load instead of four scalar ones (lavapipe issues
// a gather per load, so this is ~4× fewer). Columns past `cols` are zeroed.
@group(0) @binding(1) var<storage, read> src4: array<vec4<f32>>;

@compute @workgroup_size(8, 8)
fn pack4(@builtin(global_invocation_id) gid: vec3<u32>) {
  if (gid.x >= PK.width || gid.y >= PK.height) { return; }
  var v = vec4<f32>(0.0);
  let y = gid.y + PK.y0;
  let x = gid.x * 4u + PK.x0;
  if (y < PK.rows && x < PK.cols) {
    v = src4[(y * PK.sy + x) / 4u];
    if (x + 3u >= PK.cols) {
      v = select(v, vec4<f32>(0.0), x + vec4<u32>(0u, 1u, 2u, 3u) >= vec4<u32>(PK.cols));
    }
  }
  textureStore(dst, vec2<u32>(gid.x, gid.y), v);
}

@group(0) @binding(0) var<uniform> T: Tex;
@group(0) @binding(1) var ta: texture_2d<f32>;
@group(0) @binding(2) var tb: texture_2d<f32>;

// Stores C[m, 4·nq + c] = v[c] for chunk row r (m = m0 + r). Unrolled, with
// one bounds test for the common all-in-range case: a per-element loop of
// guarded stores made this kernel ~4× slower on lavapipe.
fn store4(r: u32, nq: u32, v: vec4<f32>) {
  if (r >= T.rows) { return; }
  let m = T.m0 + r;
  let n = nq * 4u;
  var i: u32;
  var step: u32;
  if (T.mode == OUT_ROW_MAJOR) {
    i = T.base + m * T.n + n;
    step = 1u;
  } else {
    i = T.base + ((m / T.p) * T.n + n) * T.p + m % T.p;
    step = T.p;
  }
  if (n + 3u < T.n) {
    out[i] = v.x;
    out[i + step] = v.y;
    out[i + 2u * step] = v.z;
    out[i + 3u * step] = v.w;
  } else if (n < T.n) {
    out[i] = v.x;
    if (n + 1u < T.n) { out[i + step] = v.y; }
    if (n + 2u < T.n) { out[i + 2u * step] = v.z; }
  }
}

@compute @workgroup_size(8, 8)
fn main_tex(
  @builtin(workgroup_id) wg: vec3<u32>,
  @builtin(local_invocation_id) lid: vec3<u32>,
) {
  let m0 = (wg.y * 8u + lid.y) * 16u;
  let nq0 = wg.x * 16u + lid.x;
  var c0_0 = vec4<f32>(0.0);
  var c0_1 = vec4<f32>(0.0);
  var c1_0 = vec4<f32>(0.0);
  var c1_1 = vec4<f32>(0.0);
  var c2_0 = vec4<f32>(0.0);
  var c2_1 = vec4<f32>(0.0);
  var c3_0 = vec4<f32>(0.0);
  var c3_1 = vec4<f32>(0.0);
  var c4_0 = vec4<f32>(0.0);
  var c4_1 = vec4<f32>(0.0);
  var c5_0 = vec4<f32>(0.0);
  var c5_1 = vec4<f32>(0.0);
  var c6_0 = vec4<f32>(0.0);
  var c6_1 = vec4<f32>(0.0);
  var c7_0 = vec4<f32>(0.0);
  var c7_1 = vec4<f32>(0.0);
  var c8_0 = vec4<f32>(0.0);
  var c8_1 = vec4<f32>(0.0);
  var c9_0 = vec4<f32>(0.0);
  var c9_1 = vec4<f32>(0.0);
  var c10_0 = vec4<f32>(0.0);
  var c10_1 = vec4<f32>(0.0);
  var c11_0 = vec4<f32>(0.0);
  var c11_1 = vec4<f32>(0.0);
  var c12_0 = vec4<f32>(0.0);
  var c12_1 = vec4<f32>(0.0);
  var c13_0 = vec4<f32>(0.0);
  var c13_1 = vec4<f32>(0.0);
  var c14_0 = vec4<f32>(0.0);
  var c14_1 = vec4<f32>(0.0);
  var c15_0 = vec4<f32>(0.0);
  var c15_1 = vec4<f32>(0.0);
  for (var kq = 0u; kq < T.kq; kq++) {
    let k = kq * 4u;
    var b0: mat4x4<f32>;
    var b1: mat4x4<f32>;
    if (B_T) {
      // tb holds op(b)ᵀ: texel (kq, n) = 4 k of column n. Transposing the
      // 4×4 blocks (register moves) gives the usual columns of 4 n per k.
      let n0 = nq0 * 4u;
      b0 = transpose(mat4x4<f32>(
        textureLoad(tb, vec2<u32>(kq, n0), 0),
        textureLoad(tb, vec2<u32>(kq, n0 + 1u), 0),
        textureLoad(tb, vec2<u32>(kq, n0 + 2u), 0),
        textureLoad(tb, vec2<u32>(kq, n0 + 3u), 0),
      ));
      b1 = transpose(mat4x4<f32>(
        textureLoad(tb, vec2<u32>(kq, n0 + 32u), 0),
        textureLoad(tb, vec2<u32>(kq, n0 + 33u), 0),
        textureLoad(tb, vec2<u32>(kq, n0 + 34u), 0),
        textureLoad(tb, vec2<u32>(kq, n0 + 35u), 0),
      ));
    } else {
      b0 = mat4x4<f32>(
        textureLoad(tb, vec2<u32>(nq0, k), 0),
        textureLoad(tb, vec2<u32>(nq0, k + 1u), 0),
        textureLoad(tb, vec2<u32>(nq0, k + 2u), 0),
        textureLoad(tb, vec2<u32>(nq0, k + 3u), 0),
      );
      b1 = mat4x4<f32>(
        textureLoad(tb, vec2<u32>(nq0 + 8u, k), 0),
        textureLoad(tb, vec2<u32>(nq0 + 8u, k + 1u), 0),
        textureLoad(tb, vec2<u32>(nq0 + 8u, k + 2u), 0),
        textureLoad(tb, vec2<u32>(nq0 + 8u, k + 3u), 0),
      );
    }
    var a0: vec4<f32>;
    var a1: vec4<f32>;
    var a2: vec4<f32>;
    var a3: vec4<f32>;
    var a4: vec4<f32>;
    var a5: vec4<f32>;
    var a6: vec4<f32>;
    var a7: vec4<f32>;
    var a8: vec4<f32>;
    var a9: vec4<f32>;
    var a10: vec4<f32>;
    var a11: vec4<f32>;
    var a12: vec4<f32>;
    var a13: vec4<f32>;
    var a14: vec4<f32>;
    var a15: vec4<f32>;
    if (A_T) {
      // ta holds op(a)ᵀ: texel (mq, k) = 4 rows of column k. Each 4×4 block
      // transposed gives 4 rows' texels of 4 k.
      let q = m0 / 4u;
      let t0 = transpose(mat4x4<f32>(
        textureLoad(ta, vec2<u32>(q, k), 0),
        textureLoad(ta, vec2<u32>(q, k + 1u), 0),
        textureLoad(ta, vec2<u32>(q, k + 2u), 0),
        textureLoad(ta, vec2<u32>(q, k + 3u), 0),
      ));
      let t1 = transpose(mat4x4<f32>(
        textureLoad(ta, vec2<u32>(q + 1u, k), 0),
        textureLoad(ta, vec2<u32>(q + 1u, k + 1u), 0),
        textureLoad(ta, vec2<u32>(q + 1u, k + 2u), 0),
        textureLoad(ta, vec2<u32>(q + 1u, k + 3u), 0),
      ));
      let t2 = transpose(mat4x4<f32>(
        textureLoad(ta, vec2<u32>(q + 2u, k), 0),
        textureLoad(ta, vec2<u32>(q + 2u, k + 1u), 0),
        textureLoad(ta, vec2<u32>(q + 2u, k + 2u), 0),
        textureLoad(ta, vec2<u32>(q + 2u, k + 3u), 0),
      ));
      let t3 = transpose(mat4x4<f32>(
        textureLoad(ta, vec2<u32>(q + 3u, k), 0),
        textureLoad(ta, vec2<u32>(q + 3u, k + 1u), 0),
        textureLoad(ta, vec2<u32>(q + 3u, k + 2u), 0),
        textureLoad(ta, vec2<u32>(q + 3u, k + 3u), 0),
      ));
      a0 = t0[0];
      a1 = t0[1];
      a2 = t0[2];
      a3 = t0[3];
      a4 = t1[0];
      a5 = t1[1];
      a6 = t1[2];
      a7 = t1[3];
      a8 = t2[0];
      a9 = t2[1];
      a10 = t2[2];
      a11 = t2[3];
      a12 = t3[0];
      a13 = t3[1];
      a14 = t3[2];
      a15 = t3[3];
    } else {
      a0 = textureLoad(ta, vec2<u32>(kq, m0 + 0u), 0);
      a1 = textureLoad(ta, vec2<u32>(kq, m0 + 1u), 0);
      a2 = textureLoad(ta, vec2<u32>(kq, m0 + 2u), 0);
      a3 = textureLoad(ta, vec2<u32>(kq, m0 + 3u), 0);
      a4 = textureLoad(ta, vec2<u32>(kq, m0 + 4u), 0);
      a5 = textureLoad(ta, vec2<u32>(kq, m0 + 5u), 0);
      a6 = textureLoad(ta, vec2<u32>(kq, m0 + 6u), 0);
      a7 = textureLoad(ta, vec2<u32>(kq, m0 + 7u), 0);
      a8 = textureLoad(ta, vec2<u32>(kq, m0 + 8u), 0);
      a9 = textureLoad(ta, vec2<u32>(kq, m0 + 9u), 0);
      a10 = textureLoad(ta, vec2<u32>(kq, m0 + 10u), 0);
      a11 = textureLoad(ta, vec2<u32>(kq, m0 + 11u), 0);
      a12 = textureLoad(ta, vec2<u32>(kq, m0 + 12u), 0);
      a13 = textureLoad(ta, vec2<u32>(kq, m0 + 13u), 0);
      a14 = textureLoad(ta, vec2<u32>(kq, m0 + 14u), 0);
      a15 = textureLoad(ta, vec2<u32>(kq, m0 + 15u), 0);
    }
    c0_0 += b0 * a0;
    c0_1 += b1 * a0;
    c1_0 += b0 * a1;
    c1_1 += b1 * a1;
    c2_0 += b0 * a2;
    c2_1 += b1 * a2;
    c3_0 += b0 * a3;
    c3_1 += b1 * a3;
    c4_0 += b0 * a4;
    c4_1 += b1 * a4;
    c5_0 += b0 * a5;
    c5_1 += b1 * a5;
    c6_0 += b0 * a6;
    c6_1 += b1 * a6;
    c7_0 += b0 * a7;
    c7_1 += b1 * a7;
    c8_0 += b0 * a8;
    c8_1 += b1 * a8;
    c9_0 += b0 * a9;
    c9_1 += b1 * a9;
    c10_0 += b0 * a10;
    c10_1 += b1 * a10;
    c11_0 += b0 * a11;
    c11_1 += b1 * a11;
    c12_0 += b0 * a12;
    c12_1 += b1 * a12;
    c13_0 += b0 * a13;
    c13_1 += b1 * a13;
    c14_0 += b0 * a14;
    c14_1 += b1 * a14;
    c15_0 += b0 * a15;
    c15_1 += b1 * a15;
  }
  store4(m0 + 0u, nq0, c0_0);
  store4(m0 + 0u, nq0 + 8u, c0_1);
  store4(m0 + 1u, nq0, c1_0);
  store4(m0 + 1u, nq0 + 8u, c1_1);
  store4(m0 + 2u, nq0, c2_0);
  store4(m0 + 2u, nq0 + 8u, c2_1);
  store4(m0 + 3u, nq0, c3_0);
  store4(m0 + 3u, nq0 + 8u, c3_1);
  store4(m0 + 4u, nq0, c4_0);
  store4(m0 + 4u, nq0 + 8u, c4_1);
  store4(m0 + 5u, nq0, c5_0);
  store4(m0 + 5u, nq0 + 8u, c5_1);
  store4(m0 + 6u, nq0, c6_0);
  store4(m0 + 6u, nq0 + 8u, c6_1);
  store4(m0 + 7u, nq0, c7_0);
  store4(m0 + 7u, nq0 + 8u, c7_1);
  store4(m0 + 8u, nq0, c8_0);
  store4(m0 + 8u, nq0 + 8u, c8_1);
  store4(m0 + 9u, nq0, c9_0);
  store4(m0 + 9u, nq0 + 8u, c9_1);
  store4(m0 + 10u, nq0, c10_0);
  store4(m0 + 10u, nq0 + 8u, c10_1);
  store4(m0 + 11u, nq0, c11_0);
  store4(m0 + 11u, nq0 + 8u, c11_1);
  store4(m0 + 12u, nq0, c12_0);
  store4(m0 + 12u, nq0 + 8u, c12_1);
  store4(m0 + 13u, nq0, c13_0);
  store4(m0 + 13u, nq0 + 8u, c13_1);
  store4(m0 + 14u, nq0, c14_0);
  store4(m0 + 14u, nq0 + 8u, c14_1);
  store4(m0 + 15u, nq0, c15_0);
  store4(m0 + 15u, nq0 + 8u, c15_1);
}

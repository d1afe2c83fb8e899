// 2-D convolution (NCHW input, OIHW weight, groups 1, zero padding) and its
// two gradients as implicit GEMMs: the same 64×64-tile, 4×4-per-thread,
// K-step-16 scheme as matmul.wgsl, with the im2col matrix gathered on the fly
// into workgroup memory instead of being materialised.
//
// Bindings (group 0), entry point `main`:
//   0: uniform Conv   1: in0 array<f32> (read)   2: in1 array<f32> (read)
//   3: out array<f32> (read_write)
//
// MODE (override constant) picks the GEMM, one of the MODE_* consts below
// (CONV_MODE of ops/conv/gpu.ts; backend/webgpu/uniforms_test.ts checks they
// agree). P = OH·OW, HW = H·W, R = kh·kw; "gather" means a window read that
// is 0 in the padding.
//   FORWARD (conv2d):     in0 = x, in1 = w. Rows m = (n, oy, ox) over N·P,
//                         cols j = o over O, k = (c, ky, kx) over C·R.
//                         A[m,k] = gather x, B[k,j] = w[j·C·R + k].
//                         out[n, j, oy, ox].
//   GRAD_INPUT:           in0 = dy, in1 = w (a transposed convolution).
//                         Rows m = (n, iy, ix) over N·HW, cols j = c over C,
//                         k = (o, ky, kx) over O·R. A[m,k] = dy[n, o, oy, ox]
//                         where oy·sh = iy + ph − ky exactly (else 0),
//                         B[k,j] = w[o, j, ky, kx]. out[n, j, iy, ix].
//   GRAD_INPUT_PHASE:     conv2d_grad_input, one sub-pixel phase (py, px)
//                         of a strided conv: the input pixels iy = py + a·sh, ix = px + b·sw only
//                         meet the taps ky = ky0 + ty·sh, kx = kx0 + tx·sw,
//                         and oy = cy + a − ty, ox = cx + b − tx. So this is
//                         GRAD_INPUT at stride 1 with h, w = the phase's rows and
//                         columns, kh, kw = its tap counts and ph, pw = cy, cx
//                         (out[n, j, a, b], a scratch buffer), except that
//                         B[k,j] = w[o, j, ky0 + ty·sh, kx0 + tx·sw], read
//                         with the real kernel size and stride (rkh, rkw, rsh,
//                         rsw). `scatter` then moves the phase into place.
//   GRAD_WEIGHT:          in0 = x, in1 = dy. Rows m = (c, ky, kx) over C·R,
//                         cols j = o over O, k = (n, oy, ox) over N·P.
//                         A[m,k] = gather x, B[k,j] = dy[n, j, oy, ox].
//                         out[j, m] (that is dw[o, c, ky, kx]).
// Rows always run along the output's contiguous axis, so neighbouring threads
// store to neighbouring addresses.
//
// Split-K (GRAD_WEIGHT, where K = N·OH·OW is long and M·N small): workgroup z
// sums K range [z·kchunk, (z+1)·kchunk) into out[z·M·N + ...]; the host adds
// the slices. With one slice this is the plain result.
//
// Texture variant (see matmul.wgsl): `pack_a` and `pack_b` gather A and B of
// the same GEMMs into rgba32float textures in main_tex's layout, 4 k (pack_a)
// or 4 j (pack_b) per texel, zero outside [0, M) × [k0, kend) × [0, N):
//   pack_a  0: uniform Conv  1: in0 (read)  2: dst texture_storage_2d<rgba32float, write>
//           texel (x, y) = A[m0 + y, k0 + 4x + c]
//   pack_b  0: uniform Conv  2: in1 (read)  3: dst_b texture_storage_2d<rgba32float, write>
//           texel (x, y) = B[k0 + y, 4x + c] (explicit bindings 2 and 3: in1 is
//           binding 2 in every entry point)

override MODE: u32 = 0u;

const MODE_FORWARD = 0u;
const MODE_GRAD_INPUT = 1u;
const MODE_GRAD_WEIGHT = 2u;
const MODE_GRAD_INPUT_PHASE = 3u;

const BM = 64u;
const BN = 64u;
const BK = 16u;
const THREADS = 256u;

struct Conv {
  m: u32,
  n: u32,
  k: u32,
  kchunk: u32,
  batch: u32,
  c: u32,
  h: u32,
  w: u32,
  o: u32,
  oh: u32,
  ow: u32,
  kh: u32,
  kw: u32,
  sh: u32,
  sw: u32,
  ph: u32,
  pw: u32,
  // Used by pack_a / pack_b only:
  m0: u32,    // first row (pack_a)
  k0: u32,    // first k
  kend: u32,  // end of this K chunk
  width: u32, // texture size
  height: u32,
  pad0: u32,
  pad1: u32,
  // GRAD_INPUT_PHASE and `scatter` only (see above):
  rkh: u32,
  rkw: u32,
  ky0: u32,
  kx0: u32,
  rsh: u32,
  rsw: u32,
  rh: u32,   // the real input height and width (scatter)
  rw: u32,
  py: u32,   // the phase (scatter)
  px: u32,
  zero: u32, // scatter writes zeros (a phase that meets no tap)
  pad2: u32,
}

@group(0) @binding(0) var<uniform> U: Conv;
@group(0) @binding(1) var<storage, read> in0: array<f32>;
@group(0) @binding(2) var<storage, read> in1: array<f32>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;

var<workgroup> As: array<f32, 1024>; // [BK][BM]
var<workgroup> Bs: array<f32, 1024>; // [BK][BN]

// Per-thread facts about the one A row this thread loads (FORWARD and GRAD_INPUT).
struct Row {
  valid: bool,
  base: u32, // offset of the row's image (FORWARD: x[n]; GRAD_INPUT: dy[n])
  y: i32,    // FORWARD: oy·sh − ph; GRAD_INPUT: iy + ph
  x: i32,    // FORWARD: ox·sw − pw; GRAD_INPUT: ix + pw
}

fn row_of(m: u32) -> Row {
  var r: Row;
  r.valid = m < U.m;
  if (MODE == MODE_FORWARD) {
    let p = U.oh * U.ow;
    let n = m / p;
    let q = m % p;
    r.base = n * U.c * U.h * U.w;
    r.y = i32((q / U.ow) * U.sh) - i32(U.ph);
    r.x = i32((q % U.ow) * U.sw) - i32(U.pw);
  } else {
    let hw = U.h * U.w;
    let n = m / hw;
    let q = m % hw;
    r.base = n * U.o * U.oh * U.ow;
    r.y = i32(q / U.w + U.ph);
    r.x = i32(q % U.w + U.pw);
  }
  return r;
}

// A[m, k] for FORWARD and GRAD_INPUT, given the row's facts.
fn load_a_row(row: Row, k: u32) -> f32 {
  let taps = U.kh * U.kw;
  let ch = k / taps;
  let t = k % taps;
  let ky = i32(t / U.kw);
  let kx = i32(t % U.kw);
  if (MODE == MODE_FORWARD) {
    let iy = row.y + ky;
    let ix = row.x + kx;
    if (iy < 0 || ix < 0 || iy >= i32(U.h) || ix >= i32(U.w)) { return 0.0; }
    return in0[row.base + (ch * U.h + u32(iy)) * U.w + u32(ix)];
  }
  let ty = row.y - ky;
  let tx = row.x - kx;
  if (ty < 0 || tx < 0) { return 0.0; }
  let oy = u32(ty) / U.sh;
  let ox = u32(tx) / U.sw;
  if (oy * U.sh != u32(ty) || ox * U.sw != u32(tx) || oy >= U.oh || ox >= U.ow) {
    return 0.0;
  }
  return in0[row.base + (ch * U.oh + oy) * U.ow + ox];
}

// A[m, k] for GRAD_WEIGHT: x gathered at tap m = (c, ky, kx), position k = (n, oy, ox).
fn load_a_weight(m: u32, k: u32) -> f32 {
  let taps = U.kh * U.kw;
  let ch = m / taps;
  let t = m % taps;
  let p = U.oh * U.ow;
  let n = k / p;
  let q = k % p;
  let iy = i32((q / U.ow) * U.sh + t / U.kw) - i32(U.ph);
  let ix = i32((q % U.ow) * U.sw + t % U.kw) - i32(U.pw);
  if (iy < 0 || ix < 0 || iy >= i32(U.h) || ix >= i32(U.w)) { return 0.0; }
  return in0[((n * U.c + ch) * U.h + u32(iy)) * U.w + u32(ix)];
}

// B[k, j].
fn load_b(k: u32, j: u32) -> f32 {
  if (MODE == MODE_FORWARD) {
    return in1[j * U.k + k];
  }
  if (MODE == MODE_GRAD_INPUT) {
    let taps = U.kh * U.kw;
    return in1[((k / taps) * U.n + j) * taps + k % taps];
  }
  if (MODE == MODE_GRAD_INPUT_PHASE) {
    let taps = U.kh * U.kw;
    let o = k / taps;
    let t = k - o * taps;
    let ty = t / U.kw;
    let ky = U.ky0 + ty * U.rsh;
    let kx = U.kx0 + (t - ty * U.kw) * U.rsw;
    return in1[((o * U.n + j) * U.rkh + ky) * U.rkw + kx];
  }
  let p = U.oh * U.ow;
  return in1[((k / p) * U.o + j) * p + k % p];
}

// Output offset of C[m, j] (before the split-K slice offset).
fn out_index(m: u32, j: u32) -> u32 {
  if (MODE == MODE_FORWARD) {
    let p = U.oh * U.ow;
    return ((m / p) * U.o + j) * p + m % p;
  }
  if (MODE == MODE_GRAD_INPUT || MODE == MODE_GRAD_INPUT_PHASE) {
    let hw = U.h * U.w;
    return ((m / hw) * U.c + j) * hw + m % hw;
  }
  return j * U.m + m;
}

@compute @workgroup_size(16, 16)
fn main(
  @builtin(workgroup_id) wg: vec3<u32>,
  @builtin(local_invocation_id) lid: vec3<u32>,
  @builtin(local_invocation_index) li: u32,
) {
  let m0 = wg.x * BM;
  let n0 = wg.y * BN;
  let kbeg = wg.z * U.kchunk;
  let kend = min(U.k, kbeg + U.kchunk);

  // FORWARD and GRAD_INPUT load A with m fastest: element e = li + 256·r has
  // m = e % 64 = li % 64 for every r, so the row is decoded once.
  let row = row_of(m0 + li % BM);

  var acc0 = vec4<f32>(0.0);
  var acc1 = vec4<f32>(0.0);
  var acc2 = vec4<f32>(0.0);
  var acc3 = vec4<f32>(0.0);

  for (var k0 = kbeg; k0 < kend; k0 += BK) {
    for (var r = 0u; r < 4u; r++) {
      let e = li + THREADS * r;
      if (MODE == MODE_GRAD_WEIGHT) {
        let kl = e % BK;
        let ml = e / BK;
        let m = m0 + ml;
        let k = k0 + kl;
        var v = 0.0;
        if (m < U.m && k < kend) { v = load_a_weight(m, k); }
        As[kl * BM + ml] = v;
      } else {
        let kl = e / BM;
        let k = k0 + kl;
        var v = 0.0;
        if (row.valid && k < kend) { v = load_a_row(row, k); }
        As[kl * BM + li % BM] = v;
      }
      let kl2 = e % BK;
      let nl = e / BK;
      let j = n0 + nl;
      let k2 = k0 + kl2;
      var w = 0.0;
      if (j < U.n && k2 < kend) { w = load_b(k2, j); }
      Bs[kl2 * BN + nl] = w;
    }
    workgroupBarrier();
    for (var kk = 0u; kk < BK; kk++) {
      let ar = kk * BM + lid.x;
      let br = kk * BN + lid.y;
      let av = vec4<f32>(As[ar], As[ar + 16u], As[ar + 32u], As[ar + 48u]);
      acc0 += av * Bs[br];
      acc1 += av * Bs[br + 16u];
      acc2 += av * Bs[br + 32u];
      acc3 += av * Bs[br + 48u];
    }
    workgroupBarrier();
  }

  let base = wg.z * U.m * U.n;
  let m = m0 + lid.x;
  store_col(base, m, n0 + lid.y, acc0);
  store_col(base, m, n0 + lid.y + 16u, acc1);
  store_col(base, m, n0 + lid.y + 32u, acc2);
  store_col(base, m, n0 + lid.y + 48u, acc3);
}

// Stores C[m + 16·i, j] = v[i] for i < 4.
fn store_col(base: u32, m: u32, j: u32, v: vec4<f32>) {
  if (j >= U.n) { return; }
  for (var i = 0u; i < 4u; i++) {
    let mi = m + 16u * i;
    if (mi < U.m) { out[base + out_index(mi, j)] = v[i]; }
  }
}

@group(0) @binding(2) var dst: texture_storage_2d<rgba32float, write>;
@group(0) @binding(3) var dst_b: texture_storage_2d<rgba32float, write>;

// pack_a decomposes k (and, in GRAD_WEIGHT, m) once per texel and then steps
// through the 4 taps: integer division is per lane and slow on software
// adapters, where the per-element decoding of load_a_row made pack_a about a
// third of a ResNet step.

// A tap of a row for FORWARD and GRAD_INPUT: channel ch, kernel offset (ky, kx).
fn tap(row: Row, ch: u32, ky: u32, kx: u32) -> f32 {
  if (MODE == MODE_FORWARD) {
    let iy = row.y + i32(ky);
    let ix = row.x + i32(kx);
    if (iy < 0 || ix < 0 || iy >= i32(U.h) || ix >= i32(U.w)) { return 0.0; }
    return in0[row.base + (ch * U.h + u32(iy)) * U.w + u32(ix)];
  }
  let ty = row.y - i32(ky);
  let tx = row.x - i32(kx);
  if (U.sh == 1u && U.sw == 1u) {
    // Stride 1 (most layers): a plain correlation with the flipped kernel.
    if (ty < 0 || tx < 0 || ty >= i32(U.oh) || tx >= i32(U.ow)) { return 0.0; }
    return in0[row.base + (ch * U.oh + u32(ty)) * U.ow + u32(tx)];
  }
  if (ty < 0 || tx < 0) { return 0.0; }
  let oy = u32(ty) / U.sh;
  let ox = u32(tx) / U.sw;
  if (oy * U.sh != u32(ty) || ox * U.sw != u32(tx) || oy >= U.oh || ox >= U.ow) { return 0.0; }
  return in0[row.base + (ch * U.oh + oy) * U.ow + ox];
}

// (ch, ky, kx) advanced by one tap.
fn next_tap(t: vec3<u32>) -> vec3<u32> {
  var r = vec3<u32>(t.x, t.y, t.z + 1u);
  if (r.z == U.kw) {
    r.z = 0u;
    r.y += 1u;
    if (r.y == U.kh) {
      r.y = 0u;
      r.x += 1u;
    }
  }
  return r;
}

// A[m, k .. k + 3] for FORWARD and GRAD_INPUT (0 at and past kend).
fn pack_row(row: Row, k: u32) -> vec4<f32> {
  let taps = U.kh * U.kw;
  let ch = k / taps;
  let t = k - ch * taps;
  let ky = t / U.kw;
  let t0 = vec3<u32>(ch, ky, t - ky * U.kw);
  let t1 = next_tap(t0);
  let t2 = next_tap(t1);
  let t3 = next_tap(t2);
  var v = vec4<f32>(0.0);
  v.x = tap(row, t0.x, t0.y, t0.z);
  if (k + 1u < U.kend) { v.y = tap(row, t1.x, t1.y, t1.z); }
  if (k + 2u < U.kend) { v.z = tap(row, t2.x, t2.y, t2.z); }
  if (k + 3u < U.kend) { v.w = tap(row, t3.x, t3.y, t3.z); }
  return v;
}

// x at tap (ch, ky, kx) for output position (n, oy, ox) (GRAD_WEIGHT).
fn weight_tap(ch: u32, ky: u32, kx: u32, pos: vec3<u32>) -> f32 {
  let iy = i32(pos.y * U.sh + ky) - i32(U.ph);
  let ix = i32(pos.z * U.sw + kx) - i32(U.pw);
  if (iy < 0 || ix < 0 || iy >= i32(U.h) || ix >= i32(U.w)) { return 0.0; }
  return in0[((pos.x * U.c + ch) * U.h + u32(iy)) * U.w + u32(ix)];
}

// (n, oy, ox) advanced by one output position.
fn next_pos(p: vec3<u32>) -> vec3<u32> {
  var r = vec3<u32>(p.x, p.y, p.z + 1u);
  if (r.z == U.ow) {
    r.z = 0u;
    r.y += 1u;
    if (r.y == U.oh) {
      r.y = 0u;
      r.x += 1u;
    }
  }
  return r;
}

// A[m, k .. k + 3] for GRAD_WEIGHT (0 at and past kend).
fn pack_weight(m: u32, k: u32) -> vec4<f32> {
  let taps = U.kh * U.kw;
  let ch = m / taps;
  let t = m - ch * taps;
  let ky = t / U.kw;
  let kx = t - ky * U.kw;
  let p = U.oh * U.ow;
  let n = k / p;
  let q = k - n * p;
  let oy = q / U.ow;
  let p0 = vec3<u32>(n, oy, q - oy * U.ow);
  let p1 = next_pos(p0);
  let p2 = next_pos(p1);
  let p3 = next_pos(p2);
  var v = vec4<f32>(0.0);
  v.x = weight_tap(ch, ky, kx, p0);
  if (k + 1u < U.kend) { v.y = weight_tap(ch, ky, kx, p1); }
  if (k + 2u < U.kend) { v.z = weight_tap(ch, ky, kx, p2); }
  if (k + 3u < U.kend) { v.w = weight_tap(ch, ky, kx, p3); }
  return v;
}

@compute @workgroup_size(8, 8)
fn pack_a(@builtin(global_invocation_id) gid: vec3<u32>) {
  if (gid.x >= U.width || gid.y >= U.height) { return; }
  let m = U.m0 + gid.y;
  let k = U.k0 + gid.x * 4u;
  var v = vec4<f32>(0.0);
  if (m < U.m && k < U.kend) {
    if (MODE == MODE_GRAD_WEIGHT) { v = pack_weight(m, k); } else { v = pack_row(row_of(m), k); }
  }
  textureStore(dst, vec2<u32>(gid.x, gid.y), v);
}

@compute @workgroup_size(8, 8)
fn pack_b(@builtin(global_invocation_id) gid: vec3<u32>) {
  if (gid.x >= U.width || gid.y >= U.height) { return; }
  let k = U.k0 + gid.y;
  var v = vec4<f32>(0.0);
  if (k < U.kend) {
    for (var c = 0u; c < 4u; c++) {
      let j = gid.x * 4u + c;
      if (j < U.n) { v[c] = load_b(k, j); }
    }
  }
  textureStore(dst_b, vec2<u32>(gid.x, gid.y), v);
}

// GRAD_INPUT_PHASE's scatter: out[n, c, py + a·rsh, px + b·rsw] = in0[n, c, a, b] over
// the phase's batch·c·h·w elements (h, w: its rows and columns). With U.zero
// (and the real geometry in U) it instead zeroes, in one pass over out, the
// pixels of every phase that meets no tap (ky ≡ iy + ph mod sh has no
// ky < kh, or likewise for x). Bindings 1: in0 (read), 3: out.
@compute @workgroup_size(64)
fn scatter(
  @builtin(global_invocation_id) gid: vec3<u32>,
  @builtin(num_workgroups) nwg: vec3<u32>,
) {
  let i = gid.x + gid.y * nwg.x * 64u;
  let hw = U.h * U.w;
  if (i >= U.batch * U.c * hw) { return; }
  let nc = i / hw;
  let q = i - nc * hw;
  let a = q / U.w;
  let b = q - a * U.w;
  if (U.zero != 0u) {
    if ((a + U.ph) % U.sh >= U.kh || (b + U.pw) % U.sw >= U.kw) { out[i] = 0.0; }
    return;
  }
  out[(nc * U.rh + U.py + a * U.rsh) * U.rw + U.px + b * U.rsw] = in0[i];
}

// Reductions: sum and max over arbitrary axes (keep-dims), and argmax.
//
// Entry points and bindings (group 0):
//   rows    0: uniform Reduce  1: x array<f32> (read)  2: out array<f32> (read_write)
//   cols    0: uniform Reduce  1: x array<f32> (read)  2: out array<f32> (read_write)
//   argmax  0: uniform Arg     1: x array<f32> (read)  2: out array<i32> (read_write)
//
// The host splits the input's dims into kept dims (one per output element) and
// reduced dims, merging neighbours of the same kind, and passes their sizes and
// strides. The flat reduction index r in [0, count) decodes over the reduced
// dims; the output index o over the kept dims.
//
//   rows: a workgroup per (output, split) pair, its WG threads striding over
//         the split's `chunk` of r with a shared-memory tree at the end. With
//         splits > 1 it writes partials out[o * splits + split], and the host
//         reduces those with a second dispatch (so a few outputs with huge
//         counts, like BatchNorm statistics, still use many workgroups).
//   cols: a thread per output, looping over all of r with an incremental
//         mixed-radix counter (no divisions); for short reductions or many
//         outputs, where adjacent threads read adjacent memory.
//   argmax: a thread per row of the last axis; the first max wins.
//
// Override constants: OP, REDUCE_SUM or REDUCE_MAX (the codes of REDUCE_OP in
// ops/reduce/gpu.ts; backend/webgpu/uniforms_test.ts checks they agree); WG
// the workgroup size (a power of 2). max propagates NaN (NaN counts as larger
// than any number, as torch.amax).

override OP: u32 = 0u;
override WG: u32 = 256u;

const REDUCE_SUM = 0u;
const REDUCE_MAX = 1u;

struct Reduce {
  outputs: u32,
  count: u32,
  splits: u32,
  chunk: u32,
  nx: u32,
  krank: u32,
  rrank: u32,
  pad: u32,
  kshape: array<vec4<u32>, 2>,
  kstride: array<vec4<u32>, 2>,
  rshape: array<vec4<u32>, 2>,
  rstride: array<vec4<u32>, 2>,
}

struct Arg {
  rows: u32,
  c: u32,
  nx: u32,
  pad: u32,
}

@group(0) @binding(0) var<uniform> R: Reduce;
@group(0) @binding(0) var<uniform> A: Arg;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> out: array<f32>;
@group(0) @binding(2) var<storage, read_write> out_i: array<i32>;

var<workgroup> tree: array<f32, WG>;

fn is_nan(v: f32) -> bool {
  let u = bitcast<u32>(v);
  return (u & 0x7f800000u) == 0x7f800000u && (u & 0x007fffffu) != 0u;
}

// Whether v replaces the running best (strictly greater; NaN beats numbers).
fn greater(v: f32, best: f32) -> bool {
  return v > best || (is_nan(v) && !is_nan(best));
}

fn identity() -> f32 {
  if (OP == REDUCE_SUM) { return 0.0; }
  // -inf from a var: Tint rejects an infinite constant expression.
  var neg_inf_bits = 0xff800000u;
  return bitcast<f32>(neg_inf_bits);
}

fn combine(acc: f32, v: f32) -> f32 {
  if (OP == REDUCE_SUM) { return acc + v; }
  return select(acc, v, greater(v, acc));
}

fn kept_offset(o: u32) -> u32 {
  var rest = o;
  var off = 0u;
  for (var d = i32(R.krank) - 1; d >= 0; d--) {
    let k = u32(d);
    let size = R.kshape[k >> 2u][k & 3u];
    off += (rest % size) * R.kstride[k >> 2u][k & 3u];
    rest = rest / size;
  }
  return off;
}

fn reduced_offset(r: u32) -> u32 {
  var rest = r;
  var off = 0u;
  for (var d = i32(R.rrank) - 1; d >= 0; d--) {
    let k = u32(d);
    let size = R.rshape[k >> 2u][k & 3u];
    off += (rest % size) * R.rstride[k >> 2u][k & 3u];
    rest = rest / size;
  }
  return off;
}

@compute @workgroup_size(WG)
fn rows(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) li: u32) {
  let g = wg.x + wg.y * R.nx;
  // Uniform control flow: every thread of a workgroup takes the same branch.
  if (g >= R.outputs * R.splits) { return; }
  let o = g / R.splits;
  let s = g % R.splits;
  let base = kept_offset(o);
  let start = s * R.chunk;
  let end = min(R.count, start + R.chunk);
  var acc = identity();
  for (var r = start + li; r < end; r += WG) {
    acc = combine(acc, x[base + reduced_offset(r)]);
  }
  tree[li] = acc;
  for (var half = WG / 2u; half > 0u; half = half / 2u) {
    workgroupBarrier();
    if (li < half) {
      tree[li] = combine(tree[li], tree[li + half]);
    }
  }
  if (li == 0u) {
    out[g] = tree[0];
  }
}

@compute @workgroup_size(WG)
fn cols(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) li: u32) {
  let o = (wg.x + wg.y * R.nx) * WG + li;
  if (o >= R.outputs) { return; }
  let base = kept_offset(o);
  var c: array<u32, 8>;
  var off = 0u;
  var acc = identity();
  let last = R.rrank - 1u;
  for (var r = 0u; r < R.count; r++) {
    acc = combine(acc, x[base + off]);
    // Advance the mixed-radix counter over the reduced dims.
    var d = last;
    loop {
      c[d] += 1u;
      off += R.rstride[d >> 2u][d & 3u];
      if (c[d] < R.rshape[d >> 2u][d & 3u] || d == 0u) { break; }
      off -= c[d] * R.rstride[d >> 2u][d & 3u];
      c[d] = 0u;
      d -= 1u;
    }
  }
  out[o] = acc;
}

@compute @workgroup_size(WG)
fn argmax(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) li: u32) {
  let row = (wg.x + wg.y * A.nx) * WG + li;
  if (row >= A.rows) { return; }
  let base = row * A.c;
  var best = 0u;
  var bv = x[base];
  for (var j = 1u; j < A.c; j++) {
    let v = x[base + j];
    if (greater(v, bv)) {
      best = j;
      bv = v;
    }
  }
  out_i[row] = i32(best);
}

// The AGD optimizer's fused ops (Bernstein et al. 2023, Algorithm 1): the
// gradient summary terms, η, and the weight update, so a whole step is about
// two dispatches per weight plus one, with η never leaving the GPU.
//
// Entry points and bindings (group 0):
//   terms         0: uniform Terms   1: x array<f32> (read)      2: out array<f32> (read_write)
//   terms_finish  0: uniform Terms   1: partials array<f32> (read) 2: out array<f32> (read_write)
//   terms4        0: uniform Group   1–4: v0..v3 array<vec4<f32>> (read)
//                 5: partials array<f32> (read_write)
//   terms4_finish 0: uniform Group   1: partials array<f32> (read) 2: out array<f32> (read_write)
//   eta           0: uniform Eta     1: terms array<f32> (read)  2: out array<f32> (read_write)
//   update        0: uniform Update  1: w array<vec4<f32>> (read)  2: g array<vec4<f32>> (read)
//                 3: packed terms array<f32> (read)  4: eta array<f32> (read)
//                 5: out array<vec4<f32>> (read_write)
//
// terms: a tensor viewed as [rows, slices] (rows = d0·d1, slices = kh·kw);
//   a workgroup per (slice, split) sums the squares of its split's rows with a
//   shared-memory tree. With one split it writes weight·√sum to
//   out[offset + slice]; with several it writes the partial sums, which
//   terms_finish (a thread per slice) adds up and finishes.
// terms4: up to 4 single-slice tensors (matrices, 1×1 kernels) in one
//   dispatch, read as vec4 (one load per 4 elements, not a strided scalar
//   gather per element): tensor t's workgroups first_t .. first_t + splits_t − 1
//   each sum the squares of chunk4 vec4s into partials[first_t + split], and
//   terms4_finish (a thread per tensor) writes weight_t·√Σ to out[offset_t].
//   Splitting every tensor over workgroups keeps all cores busy on one that
//   a single workgroup would walk alone.
// eta: one workgroup sums all terms (G) and writes log((1 + √(1 + 4G)) / 2).
// update: a thread per 4 elements (buffers are padded to 16 bytes, so the
//   last thread may touch padding): out = w − nan_to_num(mul·η / t)·g with t
//   the term of the element's slice.
//
// Override constants: WG the workgroup size (a power of 2). Workgroups are
// laid out by grid(): linear index = wg.x + wg.y * nx.

override WG: u32 = 256u;

struct Terms {
  rows: u32,
  slices: u32,
  splits: u32,
  chunk: u32,
  offset: u32,
  nx: u32,
  weight: f32,
  pad: u32,
}

struct Eta {
  n: u32,
  pad0: u32,
  pad1: u32,
  pad2: u32,
}

struct Update {
  n4: u32,
  nx: u32,
  slices: u32,
  offset: u32,
  mul: f32,
  pad0: u32,
  pad1: u32,
  pad2: u32,
}

// One tensor of a terms4 group: n elements, its workgroups (and partials)
// first .. first + splits − 1, its term's place in out and its weight.
struct Span {
  n: u32,
  first: u32,
  splits: u32,
  offset: u32,
  weight: f32,
  pad0: u32,
  pad1: u32,
  pad2: u32,
}

struct Group {
  nx: u32,
  count: u32,
  chunk4: u32,
  pad: u32,
  s: array<Span, 4>,
}

@group(0) @binding(0) var<uniform> T: Terms;
@group(0) @binding(0) var<uniform> GR: Group;
@group(0) @binding(1) var<storage, read> v0: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> v1: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read> v2: array<vec4<f32>>;
@group(0) @binding(4) var<storage, read> v3: array<vec4<f32>>;
@group(0) @binding(5) var<storage, read_write> partials: array<f32>;
@group(0) @binding(0) var<uniform> E: Eta;
@group(0) @binding(0) var<uniform> U: Update;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> out: array<f32>;
@group(0) @binding(1) var<storage, read> w4: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> g4: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read> packed: array<f32>;
@group(0) @binding(4) var<storage, read> eta_in: array<f32>;
@group(0) @binding(5) var<storage, read_write> out4: array<vec4<f32>>;

var<workgroup> tree: array<f32, WG>;

const F32_MAX: f32 = 3.4028234663852886e38;

fn is_nan(v: f32) -> bool {
  let u = bitcast<u32>(v);
  return (u & 0x7f800000u) == 0x7f800000u && (u & 0x007fffffu) != 0u;
}

// Sums tree[0..WG) into tree[0]; every thread of the workgroup must call it.
fn tree_sum(li: u32) {
  for (var half = WG / 2u; half > 0u; half = half / 2u) {
    workgroupBarrier();
    if (li < half) {
      tree[li] += tree[li + half];
    }
  }
  workgroupBarrier();
}

@compute @workgroup_size(WG)
fn terms(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) li: u32) {
  let gid = wg.x + wg.y * T.nx;
  // Uniform control flow: every thread of a workgroup takes the same branch.
  if (gid >= T.slices * T.splits) { return; }
  let slice = gid / T.splits;
  let split = gid % T.splits;
  let end = min(T.rows, (split + 1u) * T.chunk);
  var acc = 0.0;
  for (var r = split * T.chunk + li; r < end; r += WG) {
    let v = x[r * T.slices + slice];
    acc += v * v;
  }
  tree[li] = acc;
  tree_sum(li);
  if (li == 0u) {
    if (T.splits == 1u) {
      out[T.offset + slice] = T.weight * sqrt(tree[0]);
    } else {
      out[gid] = tree[0];
    }
  }
}

@compute @workgroup_size(WG)
fn terms_finish(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) li: u32) {
  let slice = (wg.x + wg.y * T.nx) * WG + li;
  if (slice >= T.slices) { return; }
  var acc = 0.0;
  for (var s = 0u; s < T.splits; s++) {
    acc += x[slice * T.splits + s];
  }
  out[T.offset + slice] = T.weight * sqrt(acc);
}

fn load4(t: u32, i: u32) -> vec4<f32> {
  switch t {
    case 0u: { return v0[i]; }
    case 1u: { return v1[i]; }
    case 2u: { return v2[i]; }
    default: { return v3[i]; }
  }
}

@compute @workgroup_size(WG)
fn terms4(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) li: u32) {
  let gid = wg.x + wg.y * GR.nx;
  var t = 0u;
  for (var j = 1u; j < GR.count; j++) {
    if (gid >= GR.s[j].first) { t = j; }
  }
  let s = GR.s[t];
  // Uniform control flow: every thread of a workgroup takes the same branch.
  if (gid >= s.first + s.splits) { return; }
  let split = gid - s.first;
  let n4 = (s.n + 3u) / 4u;
  let end = min(n4, (split + 1u) * GR.chunk4);
  var acc = vec4<f32>(0.0);
  for (var i = split * GR.chunk4 + li; i < end; i += WG) {
    var v = load4(t, i);
    if (i * 4u + 3u >= s.n) {
      // The buffer's 16-byte padding past n is not zero.
      v = select(v, vec4<f32>(0.0), vec4<u32>(i * 4u) + vec4<u32>(0u, 1u, 2u, 3u) >= vec4<u32>(s.n));
    }
    acc += v * v;
  }
  tree[li] = acc.x + acc.y + acc.z + acc.w;
  tree_sum(li);
  if (li == 0u) {
    partials[gid] = tree[0];
  }
}

@compute @workgroup_size(4)
fn terms4_finish(@builtin(local_invocation_index) li: u32) {
  if (li >= GR.count) { return; }
  let s = GR.s[li];
  var acc = 0.0;
  for (var j = 0u; j < s.splits; j++) {
    acc += x[s.first + j];
  }
  out[s.offset] = s.weight * sqrt(acc);
}

@compute @workgroup_size(WG)
fn eta(@builtin(local_invocation_index) li: u32) {
  var acc = 0.0;
  for (var i = li; i < E.n; i += WG) {
    acc += x[i];
  }
  tree[li] = acc;
  tree_sum(li);
  if (li == 0u) {
    out[0] = log(0.5 * sqrt(1.0 + 4.0 * tree[0]) + 0.5);
  }
}

// torch.nan_to_num of c / t, without relying on IEEE division by zero
// (WGSL does not promise Inf or NaN from arithmetic). Branch-free: lavapipe
// runs per-lane branches as masked code for every path; with them a 256×256
// update took 0.25 ms there, branch-free 0.165 ms.
fn factor(c: f32, t: f32) -> f32 {
  let f = c / select(t, 1.0, t == 0.0);
  let u = bitcast<u32>(f);
  let special = (u & 0x7f800000u) == 0x7f800000u;
  let nan = special && (u & 0x007fffffu) != 0u;
  let inf = select(F32_MAX, -F32_MAX, (u >> 31u) != 0u);
  let finite = select(f, select(inf, 0.0, nan), special);
  let by_zero = select(select(0.0, -F32_MAX, c < 0.0), F32_MAX, c > 0.0);
  return select(finite, by_zero, t == 0.0);
}

@compute @workgroup_size(WG)
fn update(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) li: u32) {
  let i = (wg.x + wg.y * U.nx) * WG + li;
  if (i >= U.n4) { return; }
  let c = U.mul * eta_in[0];
  var f: vec4<f32>;
  if (U.slices == 1u) {
    f = vec4<f32>(factor(c, packed[U.offset]));
  } else {
    let e = i * 4u;
    f = vec4<f32>(
      factor(c, packed[U.offset + e % U.slices]),
      factor(c, packed[U.offset + (e + 1u) % U.slices]),
      factor(c, packed[U.offset + (e + 2u) % U.slices]),
      factor(c, packed[U.offset + (e + 3u) % U.slices]),
    );
  }
  out4[i] = w4[i] - f * g4[i];
}

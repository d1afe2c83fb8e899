// Elementwise kernels: unary ops, binary ops with numpy broadcasting.
//
// Entry points and bindings (group 0):
//   unary4   0: uniform Unary   1: x    array<vec4<f32>> (read)   2: out array<vec4<f32>>
//   binary4  0: uniform Unary   1: a    array<vec4<f32>> (read)   2: b   array<vec4<f32>> (read)
//            3: out array<vec4<f32>>                   (same shapes, no broadcast)
//   binary   0: uniform Strided 1: a    array<f32> (read)         2: b   array<f32> (read)
//            3: out array<f32>                         (broadcast via strides)
//
// The vec4 entries process 4 elements per thread. They may read and write up
// to 3 elements past the logical end: the runtime pads every buffer to a
// multiple of 16 bytes, and the padding holds no data.
//
// Override constants: OP selects the operation (constant-folded, so each op
// gets its own pipeline); WG is the workgroup size. OP takes the codes named
// below, which are UNARY_OP and BINARY_OP of ops/elementwise/gpu.ts
// (backend/webgpu/uniforms_test.ts checks they agree):
//   unary:  scaled_relu is max(x, 0)·mul; affine x·mul + add.
//   binary: relu_grad is a·mul where b > 0, else 0 (binary4 only, the scale
//           coming from the Unary block).
// Workgroups are laid out by grid(): linear index = wg.x + wg.y * nx.

override OP: u32 = 0u;
override WG: u32 = 256u;

const UNARY_NEG = 0u;
const UNARY_EXP = 1u;
const UNARY_LOG = 2u;
const UNARY_SQRT = 3u;
const UNARY_RELU = 4u;
const UNARY_NAN_TO_NUM = 6u;
const UNARY_AFFINE = 7u;
const UNARY_SCALED_RELU = 8u;

const BINARY_ADD = 0u;
const BINARY_SUB = 1u;
const BINARY_MUL = 2u;
const BINARY_DIV = 3u;
const BINARY_EQ = 4u;
const BINARY_RELU_GRAD = 5u;

struct Unary {
  n: u32,   // vec4 count
  nx: u32,  // workgroups along x
  mul: f32, // affine
  add: f32,
}

// Rank-6 broadcast: shape and the strides of a and b (0 along broadcast dims),
// dims packed 4 per vec4 (uniform arrays need a 16-byte element stride).
struct Strided {
  n: u32,
  nx: u32,
  rank: u32,
  pad: u32,
  shape: array<vec4<u32>, 2>,
  sa: array<vec4<u32>, 2>,
  sb: array<vec4<u32>, 2>,
}

@group(0) @binding(0) var<uniform> U: Unary;
@group(0) @binding(0) var<uniform> S: Strided;
@group(0) @binding(1) var<storage, read> x4: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read_write> out_u4: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> b4: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read_write> out_b4: array<vec4<f32>>;
@group(0) @binding(1) var<storage, read> a: array<f32>;
@group(0) @binding(2) var<storage, read> b: array<f32>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;

// NaN/Inf from bit patterns: WGSL promises no IEEE special values in
// arithmetic, and const-expressions may not produce them.
fn from_bits(v: u32) -> f32 {
  return bitcast<f32>(v);
}

fn is_nan(x: f32) -> bool {
  let u = bitcast<u32>(x);
  return (u & 0x7f800000u) == 0x7f800000u && (u & 0x007fffffu) != 0u;
}

fn unary_op(x: f32) -> f32 {
  switch OP {
    case UNARY_NEG: { return -x; }
    case UNARY_EXP: { return exp(x); }
    case UNARY_LOG: {
      if (x == 0.0) { return from_bits(0xff800000u); }
      if (x < 0.0 || is_nan(x)) { return from_bits(0x7fc00000u); }
      return log(x);
    }
    case UNARY_SQRT: {
      if (x < 0.0 || is_nan(x)) { return from_bits(0x7fc00000u); }
      return sqrt(x);
    }
    case UNARY_RELU: {
      if (is_nan(x)) { return x; }
      return max(x, 0.0);
    }
    case UNARY_SCALED_RELU: {
      if (is_nan(x)) { return x; }
      return max(x, 0.0) * U.mul;
    }
    case UNARY_NAN_TO_NUM: {
      let u = bitcast<u32>(x);
      if ((u & 0x7f800000u) != 0x7f800000u) { return x; }
      if ((u & 0x007fffffu) != 0u) { return 0.0; }
      return select(3.4028234663852886e38, -3.4028234663852886e38, (u >> 31u) != 0u);
    }
    default: { return x * U.mul + U.add; } // UNARY_AFFINE
  }
}

// `scale` is an argument rather than U.mul so that the strided entry, whose
// binding 0 is the Strided block, never refers to U.
fn binary_op(x: f32, y: f32, scale: f32) -> f32 {
  switch OP {
    case BINARY_ADD: { return x + y; }
    case BINARY_SUB: { return x - y; }
    case BINARY_MUL: { return x * y; }
    case BINARY_DIV: { return x / y; }
    case BINARY_RELU_GRAD: { return select(0.0, x * scale, y > 0.0); }
    default: { return select(0.0, 1.0, x == y); } // BINARY_EQ
  }
}

@compute @workgroup_size(WG)
fn unary4(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) li: u32) {
  let i = (wg.x + wg.y * U.nx) * WG + li;
  if (i >= U.n) { return; }
  let v = x4[i];
  out_u4[i] = vec4<f32>(unary_op(v.x), unary_op(v.y), unary_op(v.z), unary_op(v.w));
}

@compute @workgroup_size(WG)
fn binary4(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) li: u32) {
  let i = (wg.x + wg.y * U.nx) * WG + li;
  if (i >= U.n) { return; }
  let p = x4[i];
  let q = b4[i];
  out_b4[i] = vec4<f32>(
    binary_op(p.x, q.x, U.mul),
    binary_op(p.y, q.y, U.mul),
    binary_op(p.z, q.z, U.mul),
    binary_op(p.w, q.w, U.mul),
  );
}

@compute @workgroup_size(WG)
fn binary(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) li: u32) {
  let i = (wg.x + wg.y * S.nx) * WG + li;
  if (i >= S.n) { return; }
  var rest = i;
  var ia = 0u;
  var ib = 0u;
  for (var d = i32(S.rank) - 1; d >= 0; d--) {
    let k = u32(d);
    let size = S.shape[k >> 2u][k & 3u];
    let c = rest % size;
    rest = rest / size;
    ia += c * S.sa[k >> 2u][k & 3u];
    ib += c * S.sb[k >> 2u][k & 3u];
  }
  out[i] = binary_op(a[ia], b[ib], 1.0);
}

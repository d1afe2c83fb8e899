// Data movement: expand (numpy broadcast copy) and one_hot.
//
// Entry points and bindings (group 0):
//   expand   0: uniform Expand  1: x array<u32> (read)  2: out array<u32> (read_write)
//   one_hot  0: uniform OneHot  1: labels array<i32> (read)  2: out array<f32> (read_write)
//
// expand copies 32-bit words, so it serves float32 and int32 alike; the input
// strides are 0 along broadcast dims (dims packed 4 per vec4).
// one_hot runs a thread per output element: `value` where the column is the
// row's label, else 0 (a label outside [0, classes) gives a zero row).
//
// Override constants: WG the workgroup size. Linear workgroup index is
// wg.x + wg.y * nx (see grid()).

override WG: u32 = 256u;

struct Expand {
  n: u32,
  nx: u32,
  rank: u32,
  pad: u32,
  shape: array<vec4<u32>, 2>,
  stride: array<vec4<u32>, 2>,
}

struct OneHot {
  n: u32,
  nx: u32,
  classes: u32,
  value: f32,
}

@group(0) @binding(0) var<uniform> E: Expand;
@group(0) @binding(0) var<uniform> H: OneHot;
@group(0) @binding(1) var<storage, read> x: array<u32>;
@group(0) @binding(2) var<storage, read_write> out: array<u32>;
@group(0) @binding(1) var<storage, read> labels: array<i32>;
@group(0) @binding(2) var<storage, read_write> out_f: array<f32>;

@compute @workgroup_size(WG)
fn expand(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) li: u32) {
  let i = (wg.x + wg.y * E.nx) * WG + li;
  if (i >= E.n) { return; }
  var rest = i;
  var src = 0u;
  for (var d = i32(E.rank) - 1; d >= 0; d--) {
    let k = u32(d);
    let size = E.shape[k >> 2u][k & 3u];
    src += (rest % size) * E.stride[k >> 2u][k & 3u];
    rest = rest / size;
  }
  out[i] = x[src];
}

@compute @workgroup_size(WG)
fn one_hot(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) li: u32) {
  let i = (wg.x + wg.y * H.nx) * WG + li;
  if (i >= H.n) { return; }
  let row = i / H.classes;
  let col = i32(i % H.classes);
  out_f[i] = select(0.0, H.value, labels[row] == col);
}

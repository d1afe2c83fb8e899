// The AGD paper's square loss, fused: the forward in one dispatch (one
// workgroup: the loss is a scalar and N·C is small — batch × classes), the
// gradient in one more, instead of one_hot, sub, mul, sum and the mean's
// scaling forward and about as many ops backward.
//
// Entry points and bindings (group 0):
//   mse_loss       0: uniform Loss  1: x array<f32> (read)  2: labels array<i32> (read)
//                  3: out array<f32> (read_write)
//   mse_loss_grad  0: uniform Loss  1: dy array<f32> (read)  2: x array<f32> (read)
//                  3: labels array<i32> (read)  4: out array<f32> (read_write)
//
// With t = value where the column is the row's label, else 0:
// mse_loss writes mean((x − t)²) (NaN for an empty x);
// mse_loss_grad writes dy · 2(x − t) / n, a thread per element.
//
// Override constants: WG the workgroup size (a power of 2). Linear workgroup
// index is wg.x + wg.y * nx (see grid()).

override WG: u32 = 256u;

struct Loss {
  n: u32,
  nx: u32,
  classes: u32,
  value: f32,
}

@group(0) @binding(0) var<uniform> L: Loss;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> labels: array<i32>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;
@group(0) @binding(1) var<storage, read> dy: array<f32>;
@group(0) @binding(2) var<storage, read> gx: array<f32>;
@group(0) @binding(3) var<storage, read> glabels: array<i32>;
@group(0) @binding(4) var<storage, read_write> gout: array<f32>;

var<workgroup> tree: array<f32, WG>;

fn target_of(label: i32, i: u32) -> f32 {
  return select(0.0, L.value, label == i32(i % L.classes));
}

@compute @workgroup_size(WG)
fn mse_loss(@builtin(local_invocation_index) li: u32) {
  var acc = 0.0;
  for (var i = li; i < L.n; i += WG) {
    let d = x[i] - target_of(labels[i / L.classes], i);
    acc += d * d;
  }
  tree[li] = acc;
  for (var half = WG / 2u; half > 0u; half = half / 2u) {
    workgroupBarrier();
    if (li < half) {
      tree[li] += tree[li + half];
    }
  }
  if (li == 0u) {
    // 0/0 is not promised to be NaN in WGSL: write it by its bits, from a var:
    // as a constant expression, Tint (Dawn) rejects a NaN (Naga accepts it).
    var nan_bits = 0x7fc00000u;
    out[0] = select(bitcast<f32>(nan_bits), tree[0] / f32(L.n), L.n > 0u);
  }
}

@compute @workgroup_size(WG)
fn mse_loss_grad(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) li: u32) {
  let i = (wg.x + wg.y * L.nx) * WG + li;
  if (i >= L.n) { return; }
  gout[i] = dy[0] * 2.0 / f32(L.n) * (gx[i] - target_of(glabels[i / L.classes], i));
}

// 2-D pooling (NCHW) and its gradients, a thread per output element.
//
// Entry points and bindings (group 0):
//   max_pool    0: uniform Pool  1: x array<f32> (read)  2: out array<f32> (read_write)
//   avg_pool    0: uniform Pool  1: x array<f32> (read)  2: out array<f32> (read_write)
//   avg_grad    0: uniform Pool  1: dy array<f32> (read) 2: dx array<f32> (read_write)
//   max_grad    0: uniform Pool  1: x array<f32> (read)  2: dy array<f32> (read)
//               3: dx array<f32> (read_write)
//
// Window (oy, ox) covers rows oy*sh - ph + ky, ky in [0, kh), and columns
// ox*sw - pw + kx; cells outside the input are padding (never chosen by max,
// counted as zeros by avg: the divisor is always kh*kw).
//
// The gradients run a thread per INPUT cell that gathers from the output
// windows covering it, so overlapping windows accumulate without float
// atomics. max_grad recomputes each covering window's first maximum (strict
// '>' in row-major window order, NaN beating numbers) and adds that window's
// dy when it is this cell.
//
// Override constants: WG the workgroup size. Linear workgroup index is
// wg.x + wg.y * nx.

override WG: u32 = 256u;

struct Pool {
  n: u32,  // threads: output cells (forward) or input cells (gradients)
  nx: u32,
  h: i32,
  w: i32,
  oh: i32,
  ow: i32,
  kh: i32,
  kw: i32,
  sh: i32,
  sw: i32,
  ph: i32,
  pw: i32,
}

@group(0) @binding(0) var<uniform> P: Pool;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> out: array<f32>;
@group(0) @binding(2) var<storage, read> dy: array<f32>;
@group(0) @binding(3) var<storage, read_write> dx: array<f32>;

fn is_nan(v: f32) -> bool {
  let u = bitcast<u32>(v);
  return (u & 0x7f800000u) == 0x7f800000u && (u & 0x007fffffu) != 0u;
}

fn greater(v: f32, best: f32) -> bool {
  return v > best || (is_nan(v) && !is_nan(best));
}

fn thread(wg: vec3<u32>, li: u32) -> u32 {
  return (wg.x + wg.y * P.nx) * WG + li;
}

// Flat index (within the plane at `base`) of window (oy, ox)'s first maximum,
// or -1 when the window holds no input cell.
fn first_max(base: i32, oy: i32, ox: i32) -> i32 {
  var best = -1;
  var bv = 0.0;
  for (var ky = 0; ky < P.kh; ky++) {
    let iy = oy * P.sh - P.ph + ky;
    if (iy < 0 || iy >= P.h) { continue; }
    for (var kx = 0; kx < P.kw; kx++) {
      let ix = ox * P.sw - P.pw + kx;
      if (ix < 0 || ix >= P.w) { continue; }
      let i = base + iy * P.w + ix;
      let v = x[i];
      if (best < 0 || greater(v, bv)) {
        best = i;
        bv = v;
      }
    }
  }
  return best;
}

@compute @workgroup_size(WG)
fn max_pool(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) li: u32) {
  let t = thread(wg, li);
  if (t >= P.n) { return; }
  let i = i32(t);
  let plane = i / (P.oh * P.ow);
  let cell = i % (P.oh * P.ow);
  let best = first_max(plane * P.h * P.w, cell / P.ow, cell % P.ow);
  // -inf from a var: Tint rejects an infinite constant expression.
  var neg_inf_bits = 0xff800000u;
  out[t] = select(x[max(best, 0)], bitcast<f32>(neg_inf_bits), best < 0);
}

@compute @workgroup_size(WG)
fn avg_pool(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) li: u32) {
  let t = thread(wg, li);
  if (t >= P.n) { return; }
  let i = i32(t);
  let plane = i / (P.oh * P.ow);
  let cell = i % (P.oh * P.ow);
  let oy = cell / P.ow;
  let ox = cell % P.ow;
  let base = plane * P.h * P.w;
  var acc = 0.0;
  for (var ky = 0; ky < P.kh; ky++) {
    let iy = oy * P.sh - P.ph + ky;
    if (iy < 0 || iy >= P.h) { continue; }
    for (var kx = 0; kx < P.kw; kx++) {
      let ix = ox * P.sw - P.pw + kx;
      if (ix < 0 || ix >= P.w) { continue; }
      acc += x[base + iy * P.w + ix];
    }
  }
  out[t] = acc / f32(P.kh * P.kw);
}

// The output windows covering input coordinate `i` along one axis:
// o in [lo, hi] with o*s - p <= i <= o*s - p + k - 1, clipped to [0, n).
fn covering(i: i32, k: i32, s: i32, p: i32, n: i32) -> vec2<i32> {
  let top = i + p; // = o*s + tap
  let lo = max(0, (top - k + s) / s); // ceil((top - k + 1) / s), top - k + 1 >= 1 - k
  let hi = min(n - 1, top / s);
  // (top - k + s) may be negative: integer division truncates toward zero,
  // which only matters when it is negative, and then max(0, ...) clips it.
  return vec2<i32>(lo, hi);
}

// Input element i's plane and the ranges of output windows (rows ry, columns
// rx) that cover it: what both pooling gradients sum over.
struct Windows {
  plane: i32,
  ry: vec2<i32>,
  rx: vec2<i32>,
}

fn input_windows(i: i32) -> Windows {
  let cell = i % (P.h * P.w);
  return Windows(
    i / (P.h * P.w),
    covering(cell / P.w, P.kh, P.sh, P.ph, P.oh),
    covering(cell % P.w, P.kw, P.sw, P.pw, P.ow),
  );
}

@compute @workgroup_size(WG)
fn avg_grad(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) li: u32) {
  let t = thread(wg, li);
  if (t >= P.n) { return; }
  let i = i32(t);
  let win = input_windows(i);
  let plane = win.plane;
  let ry = win.ry;
  let rx = win.rx;
  let base = plane * P.oh * P.ow;
  var acc = 0.0;
  for (var oy = ry.x; oy <= ry.y; oy++) {
    for (var ox = rx.x; ox <= rx.y; ox++) {
      acc += x[base + oy * P.ow + ox];
    }
  }
  out[t] = acc / f32(P.kh * P.kw);
}

@compute @workgroup_size(WG)
fn max_grad(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) li: u32) {
  let t = thread(wg, li);
  if (t >= P.n) { return; }
  let i = i32(t);
  let win = input_windows(i);
  let plane = win.plane;
  let ry = win.ry;
  let rx = win.rx;
  let base = plane * P.h * P.w;
  let obase = plane * P.oh * P.ow;
  var acc = 0.0;
  for (var oy = ry.x; oy <= ry.y; oy++) {
    for (var ox = rx.x; ox <= rx.y; ox++) {
      if (first_max(base, oy, ox) == i) {
        acc += dy[obase + oy * P.ow + ox];
      }
    }
  }
  dx[t] = acc;
}

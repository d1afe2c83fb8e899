// Batch norm over x [N, C, ...] (element (n, c, s) at (n·C + c)·S + s, S the
// product of the trailing dims): statistics, normalisation, gradient and
// running statistics, each in one or two dispatches instead of a dozen
// elementwise ops and reductions.
//
// Entry points and bindings (group 0):
//   stats_main    0: uniform Norm  1: x (read)  2: out array<f32> (read_write)
//   stats4        stats_main with x as array<vec4<f32>> (S % 4 == 0)
//   stats_finish  0: uniform Norm  1: partials (read)  2: out (read_write)
//   apply         0: uniform Norm  1: x (read)  2: stats (read)  3: out (read_write)
//   apply4        the same with x and out as array<vec4<f32>> (S % 4 == 0)
//   grad_sums     0: uniform Norm  1: x (read)  2: stats (read)  3: dy (read)
//                 4: sums array<f32> (read_write)
//   grad_sums4    the same with x and dy as array<vec4<f32>> (S % 4 == 0)
//   grad_finish   0: uniform Norm  1: sums (read)  2: stats (read)
//                 3: terms array<vec4<f32>> (read_write)
//   grad_apply    0: uniform Norm  1: x (read)  3: dy (read)
//                 4: terms (read)  5: out (read_write)
//   grad_apply4   the same with x, dy and out as array<vec4<f32>> (S % 4 == 0)
//   running       0: uniform Norm  1: running (read)  2: stats (read)  3: out (read_write)
//
// stats_main: a workgroup per (channel, split) reads its split's `chunk` elements
//   of the channel twice (sum, then squares about the split's mean: no
//   cancellation) with shared-memory trees. One split writes mean and biased
//   variance to out[c] and out[C + c]; several write (count, mean, M2) to
//   out[3·g ..], merged by stats_finish (a thread per channel) with Chan et
//   al.'s pairwise rule.
// grad_sums: a workgroup per (channel, split) writes Σdy and Σdy·x̂ of its
//   split to sums[2·g ..]; grad_finish adds them up into one vec4 of terms
//   per channel, and grad_apply writes (dy − Σdy/M − x̂·Σ(dy·x̂)/M)/√(var + eps).
// The 4-wide entries process 4 elements of one channel per load (S % 4 == 0;
//   the reductions then get s = S/4 and chunks in vec4s), and the elementwise
//   ones may touch the 16-byte padding past the end, like elementwise.wgsl.
//
// Override constants: WG the workgroup size (a power of 2). Workgroups are
// laid out by grid(): linear index = wg.x + wg.y * nx.

override WG: u32 = 256u;

struct Norm {
  n: u32,       // batch
  c: u32,       // channels
  s: u32,       // trailing size S (1 for [N, C])
  splits: u32,  // workgroups per channel (stats, grad_sums)
  chunk: u32,   // elements of a channel per split
  nx: u32,      // workgroups along x
  total: u32,   // elements (apply: vec4s for the 4-wide entries)
  row: u32,     // running: which stats row
  eps: f32,
  momentum: f32,
  correction: f32,
  pad: u32,
}

@group(0) @binding(0) var<uniform> U: Norm;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> out2: array<f32>;
@group(0) @binding(2) var<storage, read> stats: array<f32>;
@group(0) @binding(3) var<storage, read_write> out3: array<f32>;
@group(0) @binding(3) var<storage, read> dy: array<f32>;
@group(0) @binding(4) var<storage, read_write> sums_out: array<f32>;
@group(0) @binding(4) var<storage, read> terms: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read_write> terms_out: array<vec4<f32>>;
@group(0) @binding(5) var<storage, read_write> out5: array<f32>;
@group(0) @binding(1) var<storage, read> x4: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read_write> out3_4: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read> dy4: array<vec4<f32>>;
@group(0) @binding(5) var<storage, read_write> out5_4: array<vec4<f32>>;

var<workgroup> tree: array<f32, WG>;
var<workgroup> tree2: array<f32, WG>;

// Sums tree and tree2 into element 0; every thread must call it. Ends with a
// barrier, so all threads may read the results.
fn tree_sums(li: u32) {
  for (var half = WG / 2u; half > 0u; half = half / 2u) {
    workgroupBarrier();
    if (li < half) {
      tree[li] += tree[li + half];
      tree2[li] += tree2[li + half];
    }
  }
  workgroupBarrier();
}

// Walks the elements r = first, first + WG, ... < end of channel c (r counts
// (n, s) pairs) without dividing per element: (n, s) advance by (WG / S,
// WG % S) with a carry.
struct Walk {
  r: u32,
  n: u32,
  s: u32,
  dn: u32,
  ds: u32,
}

fn walk_start(first: u32) -> Walk {
  var w: Walk;
  w.r = first;
  w.n = first / U.s;
  w.s = first - w.n * U.s;
  w.dn = WG / U.s;
  w.ds = WG - w.dn * U.s;
  return w;
}

fn walk_index(w: Walk, c: u32) -> u32 {
  return (w.n * U.c + c) * U.s + w.s;
}

fn walk_next(w: Walk) -> Walk {
  var v = w;
  v.r += WG;
  v.n += w.dn;
  v.s += w.ds;
  if (v.s >= U.s) {
    v.s -= U.s;
    v.n += 1u;
  }
  return v;
}

// Channel c's statistics from split g: mean and biased variance when one
// split covers the channel, else (count, mean, M2) for stats_finish to merge.
fn write_stats(g: u32, c: u32, size: f32, mean: f32, m2: f32) {
  if (U.splits == 1u) {
    out2[c] = mean;
    out2[U.c + c] = m2 / max(size, 1.0);
  } else {
    out2[3u * g] = size;
    out2[3u * g + 1u] = mean;
    out2[3u * g + 2u] = m2;
  }
}

@compute @workgroup_size(WG)
fn stats_main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) li: u32) {
  let g = wg.x + wg.y * U.nx;
  // Uniform control flow: every thread of a workgroup takes the same branch.
  if (g >= U.c * U.splits) { return; }
  let c = g / U.splits;
  let split = g % U.splits;
  let count = U.n * U.s;
  let first = split * U.chunk;
  let end = min(count, first + U.chunk);
  var acc = 0.0;
  for (var w = walk_start(first + li); w.r < end; w = walk_next(w)) {
    acc += x[walk_index(w, c)];
  }
  tree[li] = acc;
  tree2[li] = 0.0;
  tree_sums(li);
  let size = f32(end - min(first, end));
  let mean = tree[0] / max(size, 1.0);
  workgroupBarrier(); // everyone has read tree[0] before it is overwritten
  var m2 = 0.0;
  for (var w = walk_start(first + li); w.r < end; w = walk_next(w)) {
    let d = x[walk_index(w, c)] - mean;
    m2 += d * d;
  }
  tree[li] = m2;
  tree_sums(li);
  if (li == 0u) { write_stats(g, c, size, mean, tree[0]); }
}

// stats_main reading 4 elements of the channel per load (S % 4 == 0; the
// uniforms then count vec4s: s = S/4, chunk in vec4s). Four times fewer
// loads: on a software adapter each load is per lane.
@compute @workgroup_size(WG)
fn stats4(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) li: u32) {
  let g = wg.x + wg.y * U.nx;
  if (g >= U.c * U.splits) { return; }
  let c = g / U.splits;
  let split = g % U.splits;
  let count = U.n * U.s;
  let first = split * U.chunk;
  let end = min(count, first + U.chunk);
  var acc = vec4<f32>(0.0);
  for (var w = walk_start(first + li); w.r < end; w = walk_next(w)) {
    acc += x4[walk_index(w, c)];
  }
  tree[li] = acc.x + acc.y + acc.z + acc.w;
  tree2[li] = 0.0;
  tree_sums(li);
  let size = 4.0 * f32(end - min(first, end));
  let mean = tree[0] / max(size, 1.0);
  workgroupBarrier();
  var m2 = vec4<f32>(0.0);
  for (var w = walk_start(first + li); w.r < end; w = walk_next(w)) {
    let d = x4[walk_index(w, c)] - mean;
    m2 += d * d;
  }
  tree[li] = m2.x + m2.y + m2.z + m2.w;
  tree_sums(li);
  if (li == 0u) { write_stats(g, c, size, mean, tree[0]); }
}

@compute @workgroup_size(WG)
fn stats_finish(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) li: u32) {
  let c = (wg.x + wg.y * U.nx) * WG + li;
  if (c >= U.c) { return; }
  var na = 0.0;
  var mean = 0.0;
  var m2 = 0.0;
  for (var k = 0u; k < U.splits; k++) {
    let p = 3u * (c * U.splits + k);
    let nb = x[p];
    if (nb == 0.0) { continue; }
    let delta = x[p + 1u] - mean;
    let n = na + nb;
    mean += delta * nb / n;
    m2 += x[p + 2u] + delta * delta * na * nb / n;
    na = n;
  }
  out2[c] = mean;
  out2[U.c + c] = m2 / max(na, 1.0);
}

@compute @workgroup_size(WG)
fn apply(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) li: u32) {
  let i = (wg.x + wg.y * U.nx) * WG + li;
  if (i >= U.total) { return; }
  let c = (i / U.s) % U.c;
  out3[i] = (x[i] - stats[c]) / sqrt(stats[U.c + c] + U.eps);
}

@compute @workgroup_size(WG)
fn apply4(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) li: u32) {
  let i = (wg.x + wg.y * U.nx) * WG + li;
  if (i >= U.total) { return; }
  let c = (i * 4u / U.s) % U.c;
  out3_4[i] = (x4[i] - stats[c]) / sqrt(stats[U.c + c] + U.eps);
}

@compute @workgroup_size(WG)
fn grad_sums(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) li: u32) {
  let g = wg.x + wg.y * U.nx;
  if (g >= U.c * U.splits) { return; }
  let c = g / U.splits;
  let split = g % U.splits;
  let first = split * U.chunk;
  let end = min(U.n * U.s, first + U.chunk);
  let mean = stats[c];
  let rinv = 1.0 / sqrt(stats[U.c + c] + U.eps);
  var sdy = 0.0;
  var sdyx = 0.0;
  for (var w = walk_start(first + li); w.r < end; w = walk_next(w)) {
    let k = walk_index(w, c);
    let d = dy[k];
    sdy += d;
    sdyx += d * (x[k] - mean) * rinv;
  }
  tree[li] = sdy;
  tree2[li] = sdyx;
  tree_sums(li);
  if (li == 0u) {
    sums_out[2u * g] = tree[0];
    sums_out[2u * g + 1u] = tree2[0];
  }
}

// grad_sums with 4 elements per load (S % 4 == 0; s and chunk in vec4s).
@compute @workgroup_size(WG)
fn grad_sums4(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) li: u32) {
  let g = wg.x + wg.y * U.nx;
  if (g >= U.c * U.splits) { return; }
  let c = g / U.splits;
  let split = g % U.splits;
  let first = split * U.chunk;
  let end = min(U.n * U.s, first + U.chunk);
  let mean = stats[c];
  let rinv = 1.0 / sqrt(stats[U.c + c] + U.eps);
  var sdy = vec4<f32>(0.0);
  var sdyx = vec4<f32>(0.0);
  for (var w = walk_start(first + li); w.r < end; w = walk_next(w)) {
    let k = walk_index(w, c);
    let d = dy4[k];
    sdy += d;
    sdyx += d * (x4[k] - mean);
  }
  tree[li] = sdy.x + sdy.y + sdy.z + sdy.w;
  tree2[li] = (sdyx.x + sdyx.y + sdyx.z + sdyx.w) * rinv;
  tree_sums(li);
  if (li == 0u) {
    sums_out[2u * g] = tree[0];
    sums_out[2u * g + 1u] = tree2[0];
  }
}

// Per channel, (mean, 1/√(var + eps), Σdy/M, Σ(dy·x̂)/M) from the splits'
// sums: a thread per channel, so that grad_apply loads one vec4 per thread
// instead of 2 + 2·splits scalars.
@compute @workgroup_size(WG)
fn grad_finish(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) li: u32) {
  let c = (wg.x + wg.y * U.nx) * WG + li;
  if (c >= U.c) { return; }
  var sdy = 0.0;
  var sdyx = 0.0;
  for (var k = 0u; k < U.splits; k++) {
    sdy += x[2u * (c * U.splits + k)];
    sdyx += x[2u * (c * U.splits + k) + 1u];
  }
  let count = f32(U.n * U.s);
  terms_out[c] = vec4<f32>(
    stats[c],
    1.0 / sqrt(stats[U.c + c] + U.eps),
    sdy / count,
    sdyx / count,
  );
}

@compute @workgroup_size(WG)
fn grad_apply(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) li: u32) {
  let i = (wg.x + wg.y * U.nx) * WG + li;
  if (i >= U.total) { return; }
  let t = terms[(i / U.s) % U.c];
  let xhat = (x[i] - t.x) * t.y;
  out5[i] = (dy[i] - t.z - xhat * t.w) * t.y;
}

@compute @workgroup_size(WG)
fn grad_apply4(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) li: u32) {
  let i = (wg.x + wg.y * U.nx) * WG + li;
  if (i >= U.total) { return; }
  let t = terms[(i * 4u / U.s) % U.c];
  let xhat = (x4[i] - t.x) * t.y;
  out5_4[i] = (dy4[i] - t.z - xhat * t.w) * t.y;
}

@compute @workgroup_size(WG)
fn running(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) li: u32) {
  let c = (wg.x + wg.y * U.nx) * WG + li;
  if (c >= U.c) { return; }
  out3[c] = (1.0 - U.momentum) * x[c] + U.momentum * U.correction * stats[U.row * U.c + c];
}

/**
 * The CIFAR ResNet-18 training step in jax-js, as a peer of ours and
 * PyTorch's (resnet_peer.ts): kuangliu's pre-activation ResNet-18 made
 * bias-free with non-affine batch norm (ours: packages/models resnet.ts;
 * PyTorch's: peer_torch_resnet.py), cross-entropy, `grad`, and AGD's update
 * with per-slice norms, written in jax-js ops and run as one `jit` function
 * of (weights, x, labels) → (new weights, η) on jax-js's `wasm` device.
 * jax-js has convolutions (`lax.convGeneralDilated`) but no batch-norm
 * layer: batch norm is `nn.standardize` over the batch and spatial axes
 * (batch statistics, ε 1e-5, as in training mode).
 *
 * @module
 */
import { grad, jit, lax, nn, numpy as np } from "@jax-js/jax";
import type { JaxDevice } from "./peer_jax.ts";
import { timeRepeated, type TimingOptions } from "./timing.ts";

/** One convolution of the network: [out, in, k, k] and its stride. */
interface ConvSpec {
  shape: [number, number, number, number];
  stride: number;
}

/** A block's convolutions: conv1, conv2 and the 1×1 shortcut where the shape changes. */
interface BlockSpec {
  conv1: number;
  conv2: number;
  shortcut?: number;
  stride: number;
}

/** The network's weight shapes in order (stem, blocks, classifier) and its blocks. */
function resnet18Layout(classes: number): { convs: ConvSpec[]; blocks: BlockSpec[] } {
  const convs: ConvSpec[] = [{ shape: [64, 3, 3, 3], stride: 1 }];
  const blocks: BlockSpec[] = [];
  let cin = 64;
  [64, 128, 256, 512].forEach((width, i) => {
    for (let j = 0; j < 2; j++) {
      const stride = i > 0 && j === 0 ? 2 : 1;
      const block: BlockSpec = { conv1: convs.length, conv2: convs.length + 1, stride };
      convs.push({ shape: [width, cin, 3, 3], stride }, { shape: [width, width, 3, 3], stride: 1 });
      if (stride !== 1 || cin !== width) {
        block.shortcut = convs.length;
        convs.push({ shape: [width, cin, 1, 1], stride });
      }
      blocks.push(block);
      cin = width;
    }
  });
  // The classifier as a [classes, 512, 1, 1] "convolution" keeps one slice rule for all.
  convs.push({ shape: [classes, 512, 1, 1], stride: 1 });
  return { convs, blocks };
}

/** What {@link jaxResnet18Step} measured. */
export interface JaxResnetResult {
  /** Images per second. */
  samplesPerSec: number;
  /** Wall milliseconds per step. */
  wallMs: number;
  /** η of the first timed step (finite, > 0). */
  eta: number;
}

/**
 * Times the ResNet-18 step in jax-js on `device`.
 *
 * @param device wasm or webgpu (startJax first)
 * @param batch images per step
 * @param options timing (few steps: one takes seconds)
 * @returns images/s, ms/step and η
 */
export async function jaxResnet18Step(
  device: JaxDevice,
  batch: number,
  options: TimingOptions = { warmup: 1, count: 2 },
): Promise<JaxResnetResult> {
  const classes = 10;
  const { convs, blocks } = resnet18Layout(classes);
  const depth = convs.length;
  // AGD's scale per weight: √(d_out/d_in)/√(kh·kw) (packages/agd agdScale).
  const scales = convs.map(({ shape: [o, i, kh, kw] }) => Math.sqrt(o / i) / Math.sqrt(kh * kw));
  const conv = (x: np.Array, w: np.Array, stride: number, k: number): np.Array => {
    const p = (k - 1) / 2;
    return lax.convGeneralDilated(x, w, [stride, stride], [[p, p], [p, p]]);
  };
  const bnRelu = (x: np.Array): np.Array => nn.relu(nn.standardize(x, [0, 2, 3]));
  const logits = (ws: np.Array[], x: np.Array): np.Array => {
    let h = conv(x, ws[0], 1, 3);
    for (const b of blocks) {
      const pre = bnRelu(b.shortcut === undefined ? h.ref : h);
      const short = b.shortcut === undefined ? h : conv(pre.ref, ws[b.shortcut], b.stride, 1);
      const mid = conv(pre, ws[b.conv1], b.stride, 3);
      h = conv(bnRelu(mid), ws[b.conv2], 1, 3).add(short);
    }
    // avg_pool2d(4) of the 4×4 map, then the bias-free classifier.
    const pooled = np.mean(h, [2, 3]);
    return np.matmul(pooled, ws[depth - 1].reshape([classes, 512]).transpose());
  };
  const loss = (ws: np.Array[], x: np.Array, target: np.Array): np.Array =>
    np.mean(np.sum(nn.logSoftmax(logits(ws, x)).mul(target), 1)).mul(-1);
  const step = jit((ws: np.Array[], x: np.Array, y: np.Array): [np.Array[], np.Array] => {
    const target = nn.oneHot(y, classes);
    const g = grad(loss)(ws.map((w) => w.ref), x, target);
    // Frobenius norm of each [d_out, d_in] slice: one per kernel position.
    const norms = g.map((gk) => np.sqrt(np.sum(np.square(gk.ref), [0, 1], { keepdims: true })));
    const G = norms.map((n, k) => np.sum(n.ref).mul(scales[k])).reduce((a, b) => a.add(b))
      .div(depth);
    const eta = np.log(np.sqrt(G.mul(4).add(1)).add(1).div(2));
    const next = ws.map((w, k) =>
      w.sub(g[k].mul(np.nanToNum(eta.ref.mul(scales[k] / depth).div(norms[k]))))
    );
    return [next, eta];
  });
  // Weights ~ N(0, 1/fan_in), images ~ N(0, 1), labels in [0, 10): only the speed matters.
  let seed = 1;
  const normal = (n: number, sd: number) =>
    Float32Array.from({ length: n }, () => {
      seed = (seed * 1664525 + 1013904223) >>> 0;
      const u = (seed + 0.5) / 2 ** 32;
      seed = (seed * 1664525 + 1013904223) >>> 0;
      const v = (seed + 0.5) / 2 ** 32;
      return sd * Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
    });
  let ws = convs.map(({ shape }) =>
    np.array(normal(shape.reduce((a, b) => a * b), 1 / Math.sqrt(shape[1] * shape[2] * shape[3])), {
      shape,
      device,
    })
  );
  const x = np.array(normal(batch * 3 * 32 * 32, 1), { shape: [batch, 3, 32, 32], device });
  const y = np.array(Int32Array.from({ length: batch }, (_, i) => (i * 7) % classes), {
    dtype: np.int32,
    device,
  });
  let eta: np.Array | undefined;
  const etas: number[] = [];
  try {
    const timing = await timeRepeated(
      () => {
        eta?.dispose();
        [ws, eta] = step(ws, x.ref, y.ref);
      },
      async () => void etas.push((await eta!.ref.data())[0]),
      options,
    );
    return {
      samplesPerSec: (batch * 1000) / timing.wallMs,
      wallMs: timing.wallMs,
      eta: etas[0],
    };
  } finally {
    eta?.dispose();
    ws.forEach((w) => w.dispose());
    x.dispose();
    y.dispose();
    step.dispose();
  }
}

/**
 * GFLOP/s of our WebGPU kernels as training uses them: the variant the
 * backend chose for this adapter, called through the Backend interface.
 * Matmul at square sizes and at the FCNs' layer shapes (forward and both
 * gradients); conv2d at ResNet-18 (CIFAR, 32×32) and ResNet-50 (ImageNet,
 * 224×224) layer shapes, forward and both gradients.
 *
 * @module
 */
import {
  type Backend,
  type OpAttrs,
  opDefinition,
  type OpName,
  OPS,
  Rng,
  type Shape,
  sizeOf,
} from "@agd/tensor";
import { benchBackend } from "./backend.ts";
import { timeRepeated, type TimingOptions } from "./timing.ts";

/** One measured kernel call. */
export interface KernelResult {
  /** e.g. `matmul 1024³` or `conv2d_grad_weight resnet18 layer1 3×3 64→64 32² b32`. */
  name: string;
  /** `matmul`, `conv2d`, `conv2d_grad_input` or `conv2d_grad_weight`. */
  op: string;
  /** Floating-point operations per call (a multiply-add counts 2). */
  flops: number;
  /** Milliseconds per call. */
  ms: number;
  /** GFLOP/s. */
  gflops: number;
}

/** A Linear layer at a batch size: its matmuls are x·Wᵀ, dy·W and dyᵀ·x. */
export interface LinearCase {
  /** Label, e.g. `fcn d10 w256 hidden`. */
  name: string;
  /** Batch rows. */
  batch: number;
  /** d_in. */
  fanIn: number;
  /** d_out. */
  fanOut: number;
}

/** A conv layer at a batch size. */
export interface ConvCase {
  /** Label, e.g. `resnet18 layer1 3×3 64→64 32²`. */
  name: string;
  /** Input [N, C, H, W]. */
  x: [number, number, number, number];
  /** Weight [O, C, kh, kw]. */
  w: [number, number, number, number];
  /** Stride (both axes). */
  stride: number;
  /** Padding (both axes). */
  padding: number;
}

const conv = (
  name: string,
  batch: number,
  [c, o, k]: [number, number, number],
  hw: number,
  stride = 1,
): ConvCase => ({
  name: `${name} ${k}×${k}${stride > 1 ? ` s${stride}` : ""} ${c}→${o} ${hw}² b${batch}`,
  x: [batch, c, hw, hw],
  w: [o, c, k, k],
  stride,
  padding: k >> 1,
});

/** Layer shapes of ResNet-18 on CIFAR-10 (SPEC: pre-activation, stem 3×3 s1). */
export function resnet18Convs(batch: number): ConvCase[] {
  return [
    conv("resnet18 stem", batch, [3, 64, 3], 32),
    conv("resnet18 layer1", batch, [64, 64, 3], 32),
    conv("resnet18 layer2.0", batch, [64, 128, 3], 32, 2),
    conv("resnet18 layer2.0 shortcut", batch, [64, 128, 1], 32, 2),
    conv("resnet18 layer2", batch, [128, 128, 3], 16),
    conv("resnet18 layer3", batch, [256, 256, 3], 8),
    conv("resnet18 layer4", batch, [512, 512, 3], 4),
  ];
}

/** Layer shapes of ResNet-50 on ImageNet (torchvision v1.5: stride on the 3×3). */
export function resnet50Convs(batch: number): ConvCase[] {
  return [
    conv("resnet50 stem", batch, [3, 64, 7], 224, 2),
    conv("resnet50 layer1 reduce", batch, [256, 64, 1], 56),
    conv("resnet50 layer1", batch, [64, 64, 3], 56),
    conv("resnet50 layer1 expand", batch, [64, 256, 1], 56),
    conv("resnet50 layer2.0", batch, [128, 128, 3], 56, 2),
    conv("resnet50 layer3", batch, [256, 256, 3], 14),
    conv("resnet50 layer4", batch, [512, 512, 3], 7),
    conv("resnet50 layer4 expand", batch, [512, 2048, 1], 7),
  ];
}

/** Milliseconds per call of `op` on fresh random inputs of `shapes`. */
async function timeOp<P extends OpName>(
  backend: Backend,
  op: P,
  shapes: Shape[],
  attrs: OpAttrs[P],
  options: TimingOptions,
): Promise<number> {
  const rng = new Rng(1);
  const inputs = shapes.map((shape) => ({
    storage: backend.upload(rng.normals(sizeOf(shape))),
    shape,
    dtype: "float32" as const,
  }));
  const out = opDefinition(op).shape(shapes, shapes.map(() => "float32"), attrs);
  let last: unknown;
  try {
    const t = await timeRepeated(
      () => {
        if (last !== undefined) backend.release(last);
        last = backend.run(opDefinition(op), inputs, attrs, out);
      },
      async () => void await backend.read(last, "float32", 1),
      options,
    );
    return t.wallMs;
  } finally {
    if (last !== undefined) backend.release(last);
    for (const i of inputs) backend.release(i.storage);
  }
}

/** Times kernels (on the shared WebGPU backend unless given another) and collects {@link KernelResult}s. */
export class KernelBench {
  /** Results in the order measured. */
  readonly results: KernelResult[] = [];
  readonly #options: TimingOptions;
  readonly #log: (r: KernelResult) => void;
  readonly #backend?: Backend;

  /**
   * @param options timing options of every measurement
   * @param log called with each result as it is measured
   * @param backend where to run (default: the bench's WebGPU backend)
   */
  constructor(
    options: TimingOptions = {},
    log: (r: KernelResult) => void = () => {},
    backend?: Backend,
  ) {
    this.#options = options;
    this.#log = log;
    this.#backend = backend;
  }

  async #add<P extends OpName>(
    name: string,
    op: P,
    shapes: Shape[],
    attrs: OpAttrs[P],
    flops: number,
  ): Promise<KernelResult> {
    const backend = this.#backend ?? await benchBackend();
    const ms = await timeOp(backend, op, shapes, attrs, this.#options);
    const r = { name, op, flops, ms, gflops: flops / ms / 1e6 };
    this.results.push(r);
    this.#log(r);
    return r;
  }

  /** C = A·B with A [m, k], B [k, n] (or stored transposed). */
  matmul(
    name: string,
    [m, k, n]: [number, number, number],
    trans: OpAttrs["matmul"] = { transA: false, transB: false },
  ): Promise<KernelResult> {
    const a: Shape = trans.transA ? [k, m] : [m, k];
    const b: Shape = trans.transB ? [n, k] : [k, n];
    return this.#add(name, "matmul", [a, b], trans, 2 * m * n * k);
  }

  /** A square matmul of side `size`. */
  square(size: number): Promise<KernelResult> {
    return this.matmul(`matmul ${size}³`, [size, size, size]);
  }

  /** The three matmuls of a Linear layer, as autograd issues them (no transposed copies). */
  async linear(c: LinearCase): Promise<void> {
    const { batch: b, fanIn: i, fanOut: o } = c;
    const shape = `${c.name} [${b}×${i}]·[${o}×${i}]ᵀ`;
    await this.matmul(`matmul ${shape} forward`, [b, i, o], { transA: false, transB: true });
    await this.matmul(`matmul ${shape} grad input`, [b, o, i]);
    await this.matmul(`matmul ${shape} grad weight`, [o, b, i], { transA: true, transB: false });
  }

  /** conv2d forward, ∂/∂input and ∂/∂weight of one layer (each with the forward's FLOPs). */
  async conv(c: ConvCase): Promise<void> {
    const attrs = { stride: [c.stride, c.stride], padding: [c.padding, c.padding] } as OpAttrs[
      "conv2d"
    ];
    const y = OPS.conv2d.shape([c.x, c.w], ["float32", "float32"], attrs).shape;
    const [n, ch, h, w] = c.x;
    const [o, , kh, kw] = c.w;
    const flops = 2 * n * o * y[2] * y[3] * ch * kh * kw;
    await this.#add(`conv2d ${c.name}`, "conv2d", [c.x, c.w], attrs, flops);
    await this.#add(`conv2d_grad_input ${c.name}`, "conv2d_grad_input", [y, c.w], {
      ...attrs,
      inputHW: [h, w],
    }, flops);
    await this.#add(`conv2d_grad_weight ${c.name}`, "conv2d_grad_weight", [c.x, y], {
      ...attrs,
      kernel: [kh, kw],
    }, flops);
  }
}

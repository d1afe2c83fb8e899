/**
 * Convolution and pooling over NCHW images.
 *
 * @module
 */
import type { PoolAttrs } from "../op_name.ts";
import type { Tensor } from "../tensor.ts";
import { apply } from "./_apply.ts";

/** A size given once for both spatial dims, or as [height, width]. */
export type Size2 = number | readonly [number, number];

function pair(v: Size2): [number, number] {
  return typeof v === "number" ? [v, v] : [v[0], v[1]];
}

/** Convolution options (groups 1, no bias). */
export interface Conv2dOptions {
  /** Stride (default 1). */
  stride?: Size2;
  /** Zero padding (default 0). */
  padding?: Size2;
}

/**
 * 2-D cross-correlation like torch.nn.functional.conv2d.
 *
 * @param x input [N, C, H, W]
 * @param weight [O, C, kh, kw]
 * @param options stride and padding
 * @returns [N, O, OH, OW]
 * @example
 * ```ts
 * import { conv2d, ones } from "@agd/tensor";
 * const y = conv2d(ones([1, 1, 3, 3]), ones([1, 1, 3, 3]), { padding: 1 });
 * console.log((await y.data())[4]); // 9
 * ```
 */
export function conv2d(x: Tensor, weight: Tensor, options: Conv2dOptions = {}): Tensor {
  return apply("conv2d", [x, weight], {
    stride: pair(options.stride ?? 1),
    padding: pair(options.padding ?? 0),
  });
}

/** Pooling window options. */
export interface PoolOptions {
  /** Window size. */
  kernel: Size2;
  /** Stride (default: the kernel size, like PyTorch). */
  stride?: Size2;
  /** Padding (default 0). */
  padding?: Size2;
}

function poolAttrs(o: PoolOptions): PoolAttrs {
  return {
    kernel: pair(o.kernel),
    stride: pair(o.stride ?? o.kernel),
    padding: pair(o.padding ?? 0),
  };
}

/** Max pooling; padded cells never win. */
export function maxPool2d(x: Tensor, options: PoolOptions): Tensor {
  return apply("max_pool2d", [x], poolAttrs(options));
}

/** Average pooling, counting padded zeros (PyTorch's default). */
export function avgPool2d(x: Tensor, options: PoolOptions): Tensor {
  return apply("avg_pool2d", [x], poolAttrs(options));
}

/** Adaptive average pooling to 1×1 (global average pool), like torch's `adaptive_avg_pool2d(x, 1)`. */
export function globalAvgPool2d(x: Tensor): Tensor {
  return avgPool2d(x, { kernel: [x.shape[2], x.shape[3]] });
}

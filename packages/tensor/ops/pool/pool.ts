/**
 * Pooling over NCHW images.
 *
 * @module
 */
import type { Tensor } from "../../tensor.ts";
import { apply } from "../_apply.ts";
import { pair, type Size2 } from "../_window.ts";
import type { PoolAttrs } from "./primitives.ts";

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

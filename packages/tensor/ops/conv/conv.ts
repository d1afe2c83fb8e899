/**
 * Convolution over NCHW images.
 *
 * @module
 */
import type { Tensor } from "../../tensor.ts";
import { apply } from "../_apply.ts";
import { pair, type Size2 } from "../_window.ts";

export type { Size2 };

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

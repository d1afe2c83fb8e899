/**
 * What an optimizer needs to know of a weight: its tensor (replaced on every
 * update) and the layer metadata the AGD paper's formulas use. Declared by
 * the layer, never inferred from the tensor's rank (STYLE rule 11).
 *
 * @module
 */
import type { Tensor } from "@agd/tensor";

/** The layer a weight belongs to: fan-out, fan-in and kernel size. */
export interface LayerShape {
  /** d_out: output features / channels. */
  fanOut: number;
  /** d_in: input features / channels. */
  fanIn: number;
  /** Spatial kernel [kh, kw] ([1, 1] for a linear layer). */
  kernel: readonly [number, number];
}

/** A trainable weight as optimizers see it. */
export interface ParamRef {
  /** State-dict name, e.g. `layer1.0.conv1.weight`. */
  readonly name: string;
  /** Current value; optimizers replace it (the old tensor is disposed). */
  value: Tensor;
  /** Layer metadata for AGD, or undefined for a parameter AGD must reject (a bias). */
  readonly layer?: LayerShape;
}

/**
 * AGD's per-layer scale s = √(d_out / d_in) / √(kh·kw) (SPEC "The optimizer").
 *
 * @param layer the layer's fan-out, fan-in and kernel
 * @returns s
 * @example
 * ```ts
 * import { agdScale } from "@agd/agd";
 * console.log(agdScale({ fanOut: 64, fanIn: 16, kernel: [3, 3] })); // 0.6666666666666666 (√4 / 3)
 * ```
 */
export function agdScale(layer: LayerShape): number {
  return Math.sqrt(layer.fanOut / layer.fanIn) / Math.sqrt(layer.kernel[0] * layer.kernel[1]);
}

/**
 * Checks that a parameter is a weight AGD can handle, with a clear error naming it.
 *
 * @param p the parameter
 * @returns its layer metadata
 * @throws {Error} when it declares no layer (a bias) or its shape disagrees with its layer
 * @example
 * ```ts
 * import { requireLayer } from "@agd/agd";
 * import { zeros } from "@agd/tensor";
 * const weight = { name: "fc.weight", value: zeros([2, 3]), layer: { fanOut: 2, fanIn: 3, kernel: [1, 1] as const } };
 * console.log(requireLayer(weight).fanIn); // 3
 * try {
 *   requireLayer({ name: "fc.bias", value: zeros([2]) });
 * } catch (e) {
 *   console.log((e as Error).message); // Cannot use AGD on parameter "fc.bias" of shape [2]: …
 * }
 * ```
 */
export function requireLayer(p: ParamRef): LayerShape {
  if (!p.layer || p.value.shape.length < 2) {
    throw new Error(
      `Cannot use AGD on parameter "${p.name}" of shape [${p.value.shape.join(", ")}]: ` +
        `AGD handles only weight matrices and conv kernels (remove biases and affine norms)`,
    );
  }
  const { fanOut, fanIn, kernel } = p.layer;
  const expected = [fanOut, fanIn, ...(p.value.shape.length === 4 ? kernel : [])];
  if (expected.join() !== p.value.shape.join()) {
    throw new Error(
      `Cannot use AGD on parameter "${p.name}": its shape [${p.value.shape.join(", ")}] ` +
        `disagrees with its declared layer [${expected.join(", ")}]`,
    );
  }
  return p.layer;
}

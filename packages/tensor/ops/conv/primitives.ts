/**
 * The convolution primitives — conv2d and its two backward kernels: their
 * attributes and shape rules.
 *
 * @module
 */
import { expect4d, expectFloat32, type ShapeFn, showShape, windowOut } from "../../shape.ts";

/** Attributes of a 2-D convolution (NCHW input, OIHW weight, groups 1). */
export interface ConvAttrs {
  /** Stride along height and width. */
  stride: [number, number];
  /** Zero padding along height and width. */
  padding: [number, number];
}

/** Attributes of each convolution primitive, by name. */
export interface ConvOpAttrs {
  /** 2-D cross-correlation of x [N, C, H, W] with w [O, C, kH, kW], as torch's conv2d. */
  conv2d: ConvAttrs;
  /** ∂L/∂x of conv2d from (dy, w); `inputHW` is x's spatial size. */
  conv2d_grad_input: ConvAttrs & { inputHW: [number, number] };
  /** ∂L/∂w of conv2d from (x, dy); `kernel` is w's spatial size. */
  conv2d_grad_weight: ConvAttrs & { kernel: [number, number] };
}

/** Output shape and dtype of each convolution primitive, validating its inputs. */
export const CONV_SHAPES: { [P in keyof ConvOpAttrs]: ShapeFn<ConvOpAttrs[P]> } = {
  conv2d: (shapes, dtypes, a) => {
    expectFloat32(...dtypes);
    const [x, w] = shapes;
    expect4d("conv2d", x, w);
    if (x[1] !== w[1]) {
      throw new Error(
        `Cannot conv2d input ${showShape(x)} with weight ${showShape(w)}: input has ${
          x[1]
        } channels, weight expects ${w[1]}`,
      );
    }
    const oh = windowOut(x[2], w[2], a.stride[0], a.padding[0]);
    const ow = windowOut(x[3], w[3], a.stride[1], a.padding[1]);
    if (oh < 1 || ow < 1) {
      throw new Error(`Cannot conv2d ${showShape(x)} with kernel ${showShape(w)}: output is empty`);
    }
    return { shape: [x[0], w[0], oh, ow], dtype: "float32" };
  },
  conv2d_grad_input: (shapes, dtypes, a) => {
    expectFloat32(...dtypes);
    const [dy, w] = shapes;
    expect4d("conv2d_grad_input", dy, w);
    return { shape: [dy[0], w[1], a.inputHW[0], a.inputHW[1]], dtype: "float32" };
  },
  conv2d_grad_weight: (shapes, dtypes, a) => {
    expectFloat32(...dtypes);
    const [x, dy] = shapes;
    expect4d("conv2d_grad_weight", x, dy);
    return { shape: [dy[1], x[1], a.kernel[0], a.kernel[1]], dtype: "float32" };
  },
};

/**
 * The pooling primitives and their backward kernels: attributes and shape rules.
 *
 * @module
 */
import {
  type DType,
  expect4d,
  expectFloat32,
  type OutSpec,
  type Shape,
  type ShapeFn,
  showShape,
  windowOut,
} from "../../shape.ts";

/** Attributes of a 2-D pooling window. */
export interface PoolAttrs {
  /** Window size along height and width. */
  kernel: [number, number];
  /** Stride along height and width. */
  stride: [number, number];
  /** Padding along height and width (-inf for max, zeros counted for avg). */
  padding: [number, number];
}

/** Attributes of each pooling primitive, by name. */
export interface PoolOpAttrs {
  /** Max over each window of x [N, C, H, W] (padding counts as −Inf). */
  max_pool2d: PoolAttrs;
  /** ∂L/∂x of max_pool2d from (x, dy): the first max of each window gets dy. */
  max_pool2d_grad: PoolAttrs;
  /** Average pool counting padded zeros (torch's count_include_pad=True). */
  avg_pool2d: PoolAttrs;
  /** ∂L/∂x of avg_pool2d from dy; `inputHW` is x's spatial size. */
  avg_pool2d_grad: PoolAttrs & { inputHW: [number, number] };
}

function pool(op: string) {
  return (shapes: Shape[], dtypes: DType[], a: PoolAttrs): OutSpec => {
    expectFloat32(dtypes[0]);
    expect4d(op, shapes[0]);
    const [n, c, h, w] = shapes[0];
    const oh = windowOut(h, a.kernel[0], a.stride[0], a.padding[0]);
    const ow = windowOut(w, a.kernel[1], a.stride[1], a.padding[1]);
    if (oh < 1 || ow < 1) {
      throw new Error(
        `Cannot ${op} ${showShape(shapes[0])} with kernel ${a.kernel}: output is empty`,
      );
    }
    return { shape: [n, c, oh, ow], dtype: "float32" };
  };
}

/** Output shape and dtype of each pooling primitive, validating its inputs. */
export const POOL_SHAPES: { [P in keyof PoolOpAttrs]: ShapeFn<PoolOpAttrs[P]> } = {
  max_pool2d: pool("max_pool2d"),
  max_pool2d_grad: (shapes, dtypes) => {
    expectFloat32(...dtypes);
    return { shape: [...shapes[0]], dtype: "float32" };
  },
  avg_pool2d: pool("avg_pool2d"),
  avg_pool2d_grad: (shapes, dtypes, a) => {
    expectFloat32(...dtypes);
    const [n, c] = shapes[0];
    return { shape: [n, c, a.inputHW[0], a.inputHW[1]], dtype: "float32" };
  },
};

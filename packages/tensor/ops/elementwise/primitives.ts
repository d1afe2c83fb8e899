/**
 * The elementwise primitives: their attributes and shape rules. Binary ops
 * broadcast like numpy.
 *
 * @module
 */
import {
  broadcastShapes,
  type DType,
  expectFloat32,
  type OutSpec,
  type Shape,
  type ShapeFn,
  showShape,
} from "../../shape.ts";

/** Attributes of each elementwise primitive, by name. */
export interface ElementwiseAttrs {
  /** −x. */
  neg: Record<never, never>;
  /** eˣ. */
  exp: Record<never, never>;
  /** Natural logarithm (−Inf at 0, NaN below). */
  log: Record<never, never>;
  /** √x (NaN below 0). */
  sqrt: Record<never, never>;
  /** max(x, 0). */
  relu: Record<never, never>;
  /** max(x, 0) · scale in one pass (the AGD paper's fcn activation uses scale √2). */
  scaled_relu: { scale: number };
  /**
   * ∂L/∂x of relu and scaled_relu from (dy, x): dy · scale where x > 0, else 0
   * (0 also where dy is NaN, as torch's threshold_backward).
   */
  relu_grad: { scale: number };
  /** NaN → 0, ±Inf → ±float32 max, as torch.nan_to_num. */
  nan_to_num: Record<never, never>;
  /** x · mul + add with constant scalars. */
  affine: { mul: number; add: number };
  /** a + b, broadcast. */
  add: Record<never, never>;
  /** a − b, broadcast. */
  sub: Record<never, never>;
  /** a · b elementwise, broadcast. */
  mul: Record<never, never>;
  /** a / b elementwise, broadcast (IEEE: ±Inf or NaN where b is 0). */
  div: Record<never, never>;
  /** 1 where a == b, else 0. */
  eq: Record<never, never>;
}

const unary = (shapes: Shape[], dtypes: DType[]): OutSpec => {
  expectFloat32(dtypes[0]);
  return { shape: [...shapes[0]], dtype: "float32" };
};

function binary(op: string) {
  return (shapes: Shape[], dtypes: DType[]): OutSpec => {
    expectFloat32(...dtypes);
    return { shape: broadcastShapes(shapes[0], shapes[1], op), dtype: "float32" };
  };
}

/** Output shape and dtype of each elementwise primitive, validating its inputs. */
export const ELEMENTWISE_SHAPES: { [P in keyof ElementwiseAttrs]: ShapeFn<ElementwiseAttrs[P]> } = {
  neg: unary,
  exp: unary,
  log: unary,
  sqrt: unary,
  relu: unary,
  scaled_relu: unary,
  relu_grad: (shapes, dtypes) => {
    expectFloat32(...dtypes);
    const [dy, x] = shapes;
    if (dy.join() !== x.join()) {
      throw new Error(
        `Cannot relu_grad dy ${showShape(dy)} with x ${showShape(x)}: expected equal shapes`,
      );
    }
    return { shape: [...x], dtype: "float32" };
  },
  nan_to_num: unary,
  affine: unary,
  add: binary("add"),
  sub: binary("sub"),
  mul: binary("mul"),
  div: binary("div"),
  eq: binary("compare"),
};

/**
 * The matrix-product primitive: its attributes and shape rule.
 *
 * @module
 */
import { expectFloat32, type ShapeFn, showShape } from "../../shape.ts";

/** Attributes of the matmul primitive. */
export interface MatmulAttrs {
  /** a·b for 2-D a, b, either transposed in place (no copies). */
  matmul: { transA: boolean; transB: boolean };
}

/** Output shape and dtype of matmul, validating its inputs. */
export const MATMUL_SHAPES: { [P in keyof MatmulAttrs]: ShapeFn<MatmulAttrs[P]> } = {
  matmul: (shapes, dtypes, a) => {
    expectFloat32(...dtypes);
    const [x, y] = shapes;
    if (x.length !== 2 || y.length !== 2) {
      throw new Error(`Cannot matmul shapes ${showShape(x)} and ${showShape(y)}: expected 2-D`);
    }
    const [m, k] = a.transA ? [x[1], x[0]] : [x[0], x[1]];
    const [k2, n] = a.transB ? [y[1], y[0]] : [y[0], y[1]];
    if (k !== k2) {
      throw new Error(
        `Cannot matmul shapes ${showShape(x)} and ${showShape(y)}` +
          `${
            a.transA || a.transB ? ` (transA ${a.transA}, transB ${a.transB})` : ""
          }: inner dimensions differ`,
      );
    }
    return { shape: [m, n], dtype: "float32" };
  },
};

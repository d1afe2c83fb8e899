/**
 * The data-movement primitives (expand, one_hot) — their attributes and shape
 * rules — and the one view op, reshape, which runs no kernel but still has a
 * gradient rule.
 *
 * @module
 */
import { broadcastShapes, type ShapeFn, showShape } from "../../shape.ts";

/** Attributes of each data-movement primitive, by name. */
export interface MiscAttrs {
  /** Broadcast to `shape` (numpy rules). */
  expand: { shape: number[] };
  /** [N] int32 labels → [N, classes] float32 with `value` at the label. */
  one_hot: { classes: number; value: number };
}

/**
 * Attributes of the view ops: they share their input's storage, so no backend
 * runs them, but autograd records them like primitives.
 */
export interface ViewAttrs {
  /** The same elements with a new shape; `from` is the input's shape. */
  reshape: { from: readonly number[] };
}

/** Output shape and dtype of each data-movement primitive, validating its inputs. */
export const MISC_SHAPES: { [P in keyof MiscAttrs]: ShapeFn<MiscAttrs[P]> } = {
  expand: (shapes, dtypes, a) => {
    const out = broadcastShapes(shapes[0], a.shape, "expand");
    if (out.join() !== a.shape.join()) {
      throw new Error(`Cannot expand ${showShape(shapes[0])} to ${showShape(a.shape)}`);
    }
    return { shape: out, dtype: dtypes[0] };
  },
  one_hot: (shapes, dtypes, a) => {
    if (dtypes[0] !== "int32" || shapes[0].length !== 1) {
      throw new Error(
        `Cannot one_hot ${dtypes[0]} ${showShape(shapes[0])}: expected int32 [N] labels`,
      );
    }
    return { shape: [shapes[0][0], a.classes], dtype: "float32" };
  },
};

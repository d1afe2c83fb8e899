/**
 * The reduction primitives: their attributes and shape rules.
 *
 * @module
 */
import {
  type DType,
  expectFloat32,
  normalizeAxes,
  type OutSpec,
  type Shape,
  type ShapeFn,
} from "../../shape.ts";

/** Attributes of each reduction primitive, by name. */
export interface ReduceAttrs {
  /** Sum over `axes`, keeping them as size-1 dims. */
  sum: { axes: number[] };
  /** Max over `axes`, keeping them as size-1 dims. */
  max: { axes: number[] };
  /** Index of the max along the last axis (int32, first on ties). */
  argmax: Record<never, never>;
}

function reduce(shapes: Shape[], dtypes: DType[], attrs: { axes: number[] }): OutSpec {
  expectFloat32(dtypes[0]);
  const axes = normalizeAxes(attrs.axes, shapes[0].length);
  return { shape: shapes[0].map((d, i) => (axes.includes(i) ? 1 : d)), dtype: "float32" };
}

/** Output shape and dtype of each reduction, validating its inputs. */
export const REDUCE_SHAPES: { [P in keyof ReduceAttrs]: ShapeFn<ReduceAttrs[P]> } = {
  sum: reduce,
  max: reduce,
  argmax: (shapes, dtypes) => {
    expectFloat32(dtypes[0]);
    if (shapes[0].length < 1) throw new Error("Cannot argmax a scalar");
    return { shape: shapes[0].slice(0, -1), dtype: "int32" };
  },
};

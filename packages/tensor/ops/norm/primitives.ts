/**
 * The batch-norm primitives: their attributes and shape rules.
 *
 * @module
 */
import { expectFloat32, type Shape, type ShapeFn, showShape } from "../../shape.ts";

/** Attributes of each batch-norm primitive, by name. */
export interface NormAttrs {
  /**
   * Per-channel batch statistics of x [N, C, ...]: out [2, C], row 0 the mean
   * and row 1 the biased variance over every axis but 1, in one pass over
   * memory (two-pass within a workgroup, splits merged by Chan et al.'s rule).
   */
  bn_stats: Record<never, never>;
  /**
   * Batch norm with the batch's own statistics: (x, stats) → (x − mean)/√(var + eps)
   * per channel, where stats must be bn_stats(x). Its gradient treats stats as
   * the function of x they are: the whole batch-norm gradient flows to x
   * (through batch_norm_grad), none to stats.
   */
  batch_norm: { eps: number };
  /**
   * ∂L/∂x of batch_norm from (dy, x, stats): with x̂ the normalised x and M the
   * count per channel, (dy − Σdy/M − x̂·Σ(dy·x̂)/M)/√(var + eps).
   */
  batch_norm_grad: { eps: number };
  /**
   * A running statistic after one batch, from (running [C], stats [2, C]):
   * (1 − momentum)·running + momentum·correction·stats[row] (PyTorch's rule;
   * correction M/(M − 1) makes the variance unbiased).
   */
  bn_running: { row: number; momentum: number; correction: number };
}

/** Checks that `stats` is the [2, C] of bn_stats for x [N, C, ...]. */
function needStats(op: string, x: Shape, stats: Shape): void {
  if (x.length < 2 || stats.length !== 2 || stats[0] !== 2 || stats[1] !== x[1]) {
    throw new Error(
      `Cannot ${op} x ${showShape(x)} with stats ${
        showShape(stats)
      }: expected x [N, C, ...] and stats [2, C]`,
    );
  }
}

/** Output shape and dtype of each batch-norm primitive, validating its inputs. */
export const NORM_SHAPES: { [P in keyof NormAttrs]: ShapeFn<NormAttrs[P]> } = {
  bn_stats: (shapes, dtypes) => {
    expectFloat32(dtypes[0]);
    if (shapes[0].length < 2) {
      throw new Error(`Cannot bn_stats shape ${showShape(shapes[0])}: expected [N, C, ...]`);
    }
    return { shape: [2, shapes[0][1]], dtype: "float32" };
  },
  batch_norm: (shapes, dtypes) => {
    expectFloat32(...dtypes);
    needStats("batch_norm", shapes[0], shapes[1]);
    return { shape: [...shapes[0]], dtype: "float32" };
  },
  batch_norm_grad: (shapes, dtypes) => {
    expectFloat32(...dtypes);
    const [dy, x, stats] = shapes;
    if (dy.join() !== x.join()) {
      throw new Error(
        `Cannot batch_norm_grad dy ${showShape(dy)} with x ${showShape(x)}: expected equal shapes`,
      );
    }
    needStats("batch_norm_grad", x, stats);
    return { shape: [...x], dtype: "float32" };
  },
  bn_running: (shapes, dtypes, a) => {
    expectFloat32(...dtypes);
    const [running, stats] = shapes;
    if (
      running.length !== 1 || stats.length !== 2 || running[0] !== stats[1] ||
      !(a.row >= 0 && a.row < stats[0])
    ) {
      throw new Error(
        `Cannot bn_running ${showShape(running)} from stats ${showShape(stats)} row ${a.row}: ` +
          `expected [C] and [2, C]`,
      );
    }
    return { shape: [...running], dtype: "float32" };
  },
};

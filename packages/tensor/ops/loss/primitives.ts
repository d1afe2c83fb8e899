/**
 * The fused loss primitives: their attributes and shape rules.
 *
 * @module
 */
import { type DType, type Shape, type ShapeFn, showShape } from "../../shape.ts";

/** Attributes of each loss primitive, by name. */
export interface LossAttrs {
  /**
   * The AGD paper's square loss from (x [N, C], int32 labels [N]): the mean
   * over all N·C entries of (x − value·onehot(labels))², a scalar.
   */
  mse_loss: { value: number };
  /** ∂mse_loss/∂x from (dy [], x, labels): dy · 2(x − value·onehot(labels)) / (N·C). */
  mse_loss_grad: { value: number };
}

/** Checks a loss's (x [N, C] float32, labels [N] int32) inputs. */
function lossInputs(op: string, shapes: Shape[], dtypes: DType[]): void {
  const [x, labels] = shapes;
  if (
    x.length !== 2 || labels.length !== 1 || labels[0] !== x[0] || dtypes[0] !== "float32" ||
    dtypes[1] !== "int32"
  ) {
    throw new Error(
      `Cannot ${op} ${dtypes[0]} ${showShape(x)} with ${dtypes[1]} labels ${showShape(labels)}: ` +
        "expected float32 [N, C] and int32 [N]",
    );
  }
}

/** Output shape and dtype of each loss primitive, validating its inputs. */
export const LOSS_SHAPES: { [P in keyof LossAttrs]: ShapeFn<LossAttrs[P]> } = {
  mse_loss: (shapes, dtypes) => {
    lossInputs("mse_loss", shapes, dtypes);
    return { shape: [], dtype: "float32" };
  },
  mse_loss_grad: (shapes, dtypes) => {
    if (shapes[0].length !== 0 || dtypes[0] !== "float32") {
      throw new Error(`Cannot mse_loss_grad dy ${showShape(shapes[0])}: expected a float32 scalar`);
    }
    lossInputs("mse_loss_grad", shapes.slice(1), dtypes.slice(1));
    return { shape: [...shapes[1]], dtype: "float32" };
  },
};

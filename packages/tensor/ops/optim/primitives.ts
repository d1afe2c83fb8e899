/**
 * The AGD optimizer's fused primitives (Bernstein et al. 2023, Algorithm 1):
 * their attributes and shape rules.
 *
 * @module
 */
import { expectFloat32, type ShapeFn, showShape, sizeOf } from "../../shape.ts";

/** Attributes of each optimizer primitive, by name. */
export interface OptimAttrs {
  /**
   * AGD's gradient-summary terms of several tensors, packed into one vector:
   * for input k (rank ≥ 2, viewed as [d0, d1, rest]) and each slice r of
   * `rest`, `weights[k] · ‖x_k[:, :, r]‖_F`. Their sum is AGD's G when
   * `weights[k] = s_k / L` (Bernstein et al. 2023, Algorithm 1).
   */
  agd_terms: { weights: number[] };
  /** AGD's step size from the packed terms: η = log((1 + √(1 + 4G)) / 2), G = Σ terms. */
  agd_eta: Record<never, never>;
  /**
   * AGD's weight update from (w, g, terms, η), all on the device:
   * w − nan_to_num(mul · η / terms[offset + r]) · g for each slice r of w. With
   * terms = (s/L)·‖g slice‖ and mul = gain · (s/L)², the factor is AGD's
   * gain · (η/L) · s / ‖g slice‖.
   */
  agd_update: { offset: number; mul: number };
}

/** Output shape and dtype of each optimizer primitive, validating its inputs. */
export const OPTIM_SHAPES: { [P in keyof OptimAttrs]: ShapeFn<OptimAttrs[P]> } = {
  agd_terms: (shapes, dtypes, a) => {
    expectFloat32(...dtypes);
    if (shapes.length === 0 || a.weights.length !== shapes.length) {
      throw new Error(
        `Cannot agd_terms ${shapes.length} tensors with ${a.weights.length} weights: give one weight per tensor`,
      );
    }
    let total = 0;
    for (const s of shapes) {
      if (s.length < 2) {
        throw new Error(`Cannot agd_terms shape ${showShape(s)}: expected rank ≥ 2`);
      }
      total += sizeOf(s.slice(2));
    }
    return { shape: [total], dtype: "float32" };
  },
  agd_eta: (shapes, dtypes) => {
    expectFloat32(dtypes[0]);
    if (shapes[0].length !== 1) {
      throw new Error(`Cannot agd_eta shape ${showShape(shapes[0])}: expected the 1-D terms`);
    }
    return { shape: [], dtype: "float32" };
  },
  agd_update: (shapes, dtypes, a) => {
    expectFloat32(...dtypes);
    const [w, g, terms, eta] = shapes;
    if (w.length < 2 || w.join() !== g.join()) {
      throw new Error(
        `Cannot agd_update weight ${showShape(w)} with gradient ${
          showShape(g)
        }: expected equal shapes of rank ≥ 2`,
      );
    }
    const slices = sizeOf(w.slice(2));
    if (terms.length !== 1 || a.offset < 0 || a.offset + slices > terms[0]) {
      throw new Error(
        `Cannot agd_update ${showShape(w)} from terms ${showShape(terms)} at offset ${a.offset}: ` +
          `it needs ${slices} terms there`,
      );
    }
    if (sizeOf(eta) !== 1) {
      throw new Error(`Cannot agd_update with η of shape ${showShape(eta)}: expected one element`);
    }
    return { shape: [...w], dtype: "float32" };
  },
};

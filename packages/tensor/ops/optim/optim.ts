/**
 * The fused ops of the AGD optimizer (Bernstein et al. 2023, Algorithm 1): a
 * whole step is {@link agdTerms} (one or two dispatches per weight),
 * {@link agdEta} (one) and {@link agdUpdate} (one per weight), instead of about
 * a dozen elementwise ops and reductions per weight. η stays on the device:
 * the update reads it from its GPU buffer. They have no gradients (an
 * optimizer runs under `noGrad`). Also AGD's per-slice norms, {@link sliceNorms}.
 *
 * @module
 */
import type { Tensor } from "../../tensor.ts";
import { apply } from "../_apply.ts";
import { sqrt, square } from "../elementwise/elementwise.ts";
import { sum } from "../reduce/reduce.ts";

/**
 * AGD's gradient-summary terms of several tensors, packed into one vector: for
 * each tensor k (rank ≥ 2) and each [d0, d1] slice r of it (one for a matrix,
 * kh·kw for a conv kernel), `weights[k] · ‖x_k[:, :, r]‖_F`. With
 * `weights[k] = s_k / L` they sum to AGD's G.
 *
 * @param xs the gradients, in parameter order
 * @param weights one weight per tensor
 * @returns the terms, shape [Σ slices]
 * @example
 * ```ts
 * import { agdTerms, tensor } from "@agd/tensor";
 * const t = agdTerms([tensor([3, 4], { shape: [2, 1] })], [0.5]);
 * console.log(await t.data()); // Float32Array [2.5]
 * ```
 */
export function agdTerms(xs: readonly Tensor[], weights: readonly number[]): Tensor {
  return apply("agd_terms", [...xs], { weights: [...weights] });
}

/**
 * AGD's step size from the packed terms of {@link agdTerms}:
 * η = log((1 + √(1 + 4G)) / 2) with G = Σ terms.
 *
 * @param terms the packed terms
 * @returns η, a scalar tensor (shape [])
 * @example
 * ```ts
 * import { agdEta, tensor } from "@agd/tensor";
 * console.log(await agdEta(tensor([2])).item()); // log(2) ≈ 0.693
 * ```
 */
export function agdEta(terms: Tensor): Tensor {
  return apply("agd_eta", [terms], {});
}

/** The step-wide inputs of {@link agdUpdate} and where the weight's terms are. */
export interface AgdUpdateOptions {
  /** The packed terms of {@link agdTerms}. */
  terms: Tensor;
  /** η of {@link agdEta}. */
  eta: Tensor;
  /** Index of the weight's first slice in `terms`. */
  offset: number;
  /** gain · (s/L)² for terms weighted by s/L: the factor is then gain·(η/L)·s/‖g slice‖. */
  mul: number;
}

/**
 * One weight's AGD update: `w − nan_to_num(mul · η / terms[offset + r]) · g`
 * for each slice r, so a slice whose gradient is zero stays at rest.
 *
 * @param w the weight
 * @param g its gradient (same shape)
 * @param options the terms, η, the weight's offset in the terms and its multiplier
 * @returns the updated weight
 * @example
 * ```ts
 * import { agdUpdate, tensor } from "@agd/tensor";
 * const w = tensor([1, 1], { shape: [2, 1] });
 * const g = tensor([3, 4], { shape: [2, 1] });
 * const terms = tensor([5]);
 * const eta = tensor([1]);
 * const next = agdUpdate(w, g, { terms, eta, offset: 0, mul: 5 });
 * console.log(await next.data()); // Float32Array [-2, -3]
 * ```
 */
export function agdUpdate(w: Tensor, g: Tensor, options: AgdUpdateOptions): Tensor {
  return apply("agd_update", [w, g, options.terms, options.eta], {
    offset: options.offset,
    mul: options.mul,
  });
}

/**
 * Frobenius norms of the [d0, d1] slices of a tensor: √Σ over dims (0, 1),
 * keeping them (shape [1, 1, kh, kw] for a conv weight, [1, 1] for a matrix).
 */
export function sliceNorms(x: Tensor): Tensor {
  return sqrt(sum(square(x), { axes: [0, 1], keepDims: true }));
}

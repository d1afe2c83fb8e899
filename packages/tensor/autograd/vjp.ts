/**
 * What a gradient rule is: one vector-Jacobian product per op, written with
 * the primitives so it runs on any backend, or the {@link notDifferentiable}
 * marker for ops autograd never goes through (backward kernels, integer ops,
 * the optimizer's fused step). Each op family writes its rules in
 * `ops/<family>/grad.ts`; `ops/registry.ts` assembles them.
 *
 * @module
 */
import type { GradOpAttrs, GradOpName, OpAttrs, OpName } from "../ops/op_name.ts";
import type { Shape } from "../shape.ts";
import type { Tensor } from "../tensor.ts";

/**
 * Runs a primitive op (`apply` of `ops/_apply.ts`, handed to every rule in
 * its {@link VjpContext}: the rules are part of the op definitions that
 * `apply` reads, so they cannot import it without a cycle).
 */
export type ApplyOp = <Q extends OpName>(op: Q, inputs: Tensor[], attrs: OpAttrs[Q]) => Tensor;

/** What a gradient rule sees of the forward call. */
export interface VjpContext<P extends GradOpName> {
  /** The op's inputs. */
  inputs: readonly Tensor[];
  /** The op's output. */
  out: Tensor;
  /** The op's attributes. */
  attrs: GradOpAttrs[P];
  /**
   * Which inputs need a gradient (`requiresGrad`). Rules of costly ops skip
   * the others: a network's input image needs no conv2d_grad_input.
   */
  needs: readonly boolean[];
  /** Runs a primitive op: what a rule computes its gradients with. */
  apply: ApplyOp;
}

/** ∂L/∂out → ∂L/∂input for each input (null: no gradient flows). */
export type VjpRule<P extends GradOpName> = (dy: Tensor, ctx: VjpContext<P>) => (Tensor | null)[];

/** The declaration that autograd never differentiates an op, and why. */
export interface NotDifferentiable {
  /** Why not, completing "it has no gradient rule (…)", e.g. "a backward kernel". */
  readonly notDifferentiable: string;
}

/**
 * Declares an op not differentiable; {@link backward} reaching it throws.
 *
 * @param reason why, e.g. "a backward kernel"
 * @returns the marker to put in the op's family gradient table
 * @example
 * ```ts
 * import { notDifferentiable } from "@agd/tensor";
 * console.log(notDifferentiable("an integer op").notDifferentiable); // an integer op
 * ```
 */
export function notDifferentiable(reason: string): NotDifferentiable {
  return { notDifferentiable: reason };
}

/** The gradient entry of op `P`: its rule, or the declaration that it has none. */
export type GradRule<P extends GradOpName> = VjpRule<P> | NotDifferentiable;

/**
 * Sums a broadcast gradient back down to `shape`.
 *
 * @param apply runs the sum (the rule's {@link VjpContext.apply})
 * @param g the gradient of a broadcast result
 * @param shape the shape of the operand that was broadcast
 * @returns g summed over the broadcast dims, with `shape`
 */
export function unbroadcast(apply: ApplyOp, g: Tensor, shape: Shape): Tensor {
  if (g.shape.length === shape.length && g.shape.every((d, i) => d === shape[i])) return g;
  const offset = g.shape.length - shape.length;
  const axes = g.shape.map((_, i) => i).filter((i) =>
    i < offset || (shape[i - offset] === 1 && g.shape[i] !== 1)
  );
  return apply("sum", [g], { axes }).reshape(shape);
}

/**
 * The gradient table: every op autograd records (each primitive and the
 * reshape view) maps to its family's vector-Jacobian product or to the
 * declaration that it is not differentiable. Typed exhaustively, so an op
 * without an entry is a type error.
 *
 * @module
 */
import type { GradOpName } from "../op_name.ts";
import type { GradRule } from "./vjp.ts";
import { ELEMENTWISE_GRADS } from "../ops/elementwise/grad.ts";
import { REDUCE_GRADS } from "../ops/reduce/grad.ts";
import { MISC_GRADS } from "../ops/misc/grad.ts";
import { LOSS_GRADS } from "../ops/loss/grad.ts";
import { MATMUL_GRADS } from "../ops/matmul/grad.ts";
import { CONV_GRADS } from "../ops/conv/grad.ts";
import { POOL_GRADS } from "../ops/pool/grad.ts";
import { NORM_GRADS } from "../ops/norm/grad.ts";
import { OPTIM_GRADS } from "../ops/optim/grad.ts";

/** The gradient rule of every op autograd records. */
export const VJP_RULES: { [P in GradOpName]: GradRule<P> } = {
  ...ELEMENTWISE_GRADS,
  ...REDUCE_GRADS,
  ...MISC_GRADS,
  ...LOSS_GRADS,
  ...MATMUL_GRADS,
  ...CONV_GRADS,
  ...POOL_GRADS,
  ...NORM_GRADS,
  ...OPTIM_GRADS,
};

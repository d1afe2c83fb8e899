/**
 * The one list of primitive ops, assembled from the op families in `ops/`
 * (elementwise, reduce, misc, loss, matmul, conv, pool, norm, optim). Each
 * family declares its primitives' attributes and shape rules; this module
 * merges them into {@link OpAttrs}, {@link OP_NAMES} and {@link SHAPE_RULES}.
 * The other exhaustive tables keyed by {@link OpName} are assembled the same
 * way where their code lives, so that leaving one out is a type error: the CPU
 * reference (`backend/cpu/kernels.ts`), the WGSL kernel (`backend/webgpu`) and
 * the gradient rule (`autograd/vjp_rules.ts`; they run ops, so this module,
 * which `ops/_apply.ts` reads, cannot import them without a cycle).
 *
 * @module
 */
import type { ShapeFn } from "./dims.ts";
import { ELEMENTWISE_SHAPES, type ElementwiseAttrs } from "./ops/elementwise/primitives.ts";
import { REDUCE_SHAPES, type ReduceAttrs } from "./ops/reduce/primitives.ts";
import { MISC_SHAPES, type MiscAttrs, type ViewAttrs } from "./ops/misc/primitives.ts";
import { LOSS_SHAPES, type LossAttrs } from "./ops/loss/primitives.ts";
import { MATMUL_SHAPES, type MatmulAttrs } from "./ops/matmul/primitives.ts";
import { CONV_SHAPES, type ConvOpAttrs } from "./ops/conv/primitives.ts";
import { POOL_SHAPES, type PoolOpAttrs } from "./ops/pool/primitives.ts";
import { NORM_SHAPES, type NormAttrs } from "./ops/norm/primitives.ts";
import { OPTIM_SHAPES, type OptimAttrs } from "./ops/optim/primitives.ts";

// The families' attribute tables are public because OpAttrs is made of them.
export type { ElementwiseAttrs } from "./ops/elementwise/primitives.ts";
export type { ReduceAttrs } from "./ops/reduce/primitives.ts";
export type { MiscAttrs, ViewAttrs } from "./ops/misc/primitives.ts";
export type { LossAttrs } from "./ops/loss/primitives.ts";
export type { MatmulAttrs } from "./ops/matmul/primitives.ts";
export type { ConvAttrs, ConvOpAttrs } from "./ops/conv/primitives.ts";
export type { PoolAttrs, PoolOpAttrs } from "./ops/pool/primitives.ts";
export type { NormAttrs } from "./ops/norm/primitives.ts";
export type { OptimAttrs } from "./ops/optim/primitives.ts";

/** Attributes of each primitive op, by name: the union of the families' tables. */
export interface OpAttrs
  extends
    ElementwiseAttrs,
    ReduceAttrs,
    MiscAttrs,
    LossAttrs,
    MatmulAttrs,
    ConvOpAttrs,
    PoolOpAttrs,
    NormAttrs,
    OptimAttrs {}

/** The name of a primitive op. */
export type OpName = keyof OpAttrs;

/**
 * Attributes of every op autograd records: the primitives plus the view ops
 * (reshape), which share storage instead of running a kernel.
 */
export interface GradOpAttrs extends OpAttrs, ViewAttrs {}

/** The name of an op autograd records (a primitive or a view op). */
export type GradOpName = keyof GradOpAttrs;

/**
 * The shape rule of op `P`: the output shape and dtype from the input shapes,
 * dtypes and attributes; throws when the inputs do not fit the op. Every
 * backend allocates outputs from these, so kernels never compute shapes.
 */
export type ShapeRule<P extends OpName> = ShapeFn<OpAttrs[P]>;

/** Output shape and dtype of every primitive, validating its inputs. */
export const SHAPE_RULES: { [P in OpName]: ShapeRule<P> } = {
  ...ELEMENTWISE_SHAPES,
  ...REDUCE_SHAPES,
  ...MISC_SHAPES,
  ...LOSS_SHAPES,
  ...MATMUL_SHAPES,
  ...CONV_SHAPES,
  ...POOL_SHAPES,
  ...NORM_SHAPES,
  ...OPTIM_SHAPES,
};

/**
 * Every op name, in a fixed order (family by family, for tests that must
 * cover them all). Taken from the exhaustive {@link SHAPE_RULES}, so it lists
 * every op by construction.
 */
export const OP_NAMES: readonly OpName[] = Object.freeze(Object.keys(SHAPE_RULES) as OpName[]);

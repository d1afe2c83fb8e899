/**
 * The names and attributes of the primitive ops: the union of the op
 * families' attribute tables (`ops/<family>/primitives.ts`). Types only: the
 * families' definitions — shape rule, CPU reference, gradient, WebGPU and
 * wasm kernels — are assembled once, in `ops/registry.ts`.
 *
 * @module
 */
import type { ShapeFn } from "../shape.ts";
import type { ElementwiseAttrs } from "./elementwise/primitives.ts";
import type { ReduceAttrs } from "./reduce/primitives.ts";
import type { MiscAttrs, ViewAttrs } from "./misc/primitives.ts";
import type { LossAttrs } from "./loss/primitives.ts";
import type { MatmulAttrs } from "./matmul/primitives.ts";
import type { ConvOpAttrs } from "./conv/primitives.ts";
import type { PoolOpAttrs } from "./pool/primitives.ts";
import type { NormAttrs } from "./norm/primitives.ts";
import type { OptimAttrs } from "./optim/primitives.ts";

// The families' attribute tables are public because OpAttrs is made of them.
export type { ElementwiseAttrs } from "./elementwise/primitives.ts";
export type { ReduceAttrs } from "./reduce/primitives.ts";
export type { MiscAttrs, ViewAttrs } from "./misc/primitives.ts";
export type { LossAttrs } from "./loss/primitives.ts";
export type { MatmulAttrs } from "./matmul/primitives.ts";
export type { ConvAttrs, ConvOpAttrs } from "./conv/primitives.ts";
export type { PoolAttrs, PoolOpAttrs } from "./pool/primitives.ts";
export type { NormAttrs } from "./norm/primitives.ts";
export type { OptimAttrs } from "./optim/primitives.ts";

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

/**
 * The one list of primitive ops. Every op appears in three exhaustive tables
 * keyed by {@link OpName}: the CPU reference (`backend/cpu`), the WGSL kernel
 * (`backend/webgpu`) and the gradient rule (`autograd/vjp.ts`), so that leaving
 * one out is a type error. Composites (losses, batch norm, softmax) are built
 * from these in `ops/` and get their gradients for free.
 *
 * @module
 */

/** Elementwise unary ops on float32. */
export type UnaryOp = "neg" | "exp" | "log" | "sqrt" | "relu" | "step" | "nan_to_num";

/** Elementwise binary ops on float32 with numpy-style broadcasting. */
export type BinaryOp = "add" | "sub" | "mul" | "div" | "eq";

/** Attributes of a 2-D convolution (NCHW input, OIHW weight, groups 1). */
export interface ConvAttrs {
  /** Stride along height and width. */
  stride: [number, number];
  /** Zero padding along height and width. */
  padding: [number, number];
}

/** Attributes of a 2-D pooling window. */
export interface PoolAttrs {
  /** Window size along height and width. */
  kernel: [number, number];
  /** Stride along height and width. */
  stride: [number, number];
  /** Padding along height and width (-inf for max, zeros counted for avg). */
  padding: [number, number];
}

/** Attributes of each primitive op, by name. */
export interface OpAttrs {
  neg: Record<never, never>;
  exp: Record<never, never>;
  log: Record<never, never>;
  sqrt: Record<never, never>;
  relu: Record<never, never>;
  /** 1 where x > 0, else 0: relu's derivative. */
  step: Record<never, never>;
  /** NaN → 0, ±Inf → ±float32 max, as torch.nan_to_num. */
  nan_to_num: Record<never, never>;
  /** x · mul + add with constant scalars. */
  affine: { mul: number; add: number };
  add: Record<never, never>;
  sub: Record<never, never>;
  mul: Record<never, never>;
  div: Record<never, never>;
  /** 1 where a == b, else 0. */
  eq: Record<never, never>;
  /** Sum over `axes`, keeping them as size-1 dims. */
  sum: { axes: number[] };
  /** Max over `axes`, keeping them as size-1 dims. */
  max: { axes: number[] };
  /** Index of the max along the last axis (int32, first on ties). */
  argmax: Record<never, never>;
  /** Broadcast to `shape` (numpy rules). */
  expand: { shape: number[] };
  /** [N] int32 labels → [N, classes] float32 with `value` at the label. */
  one_hot: { classes: number; value: number };
  /** a·b for 2-D a, b, either transposed in place (no copies). */
  matmul: { transA: boolean; transB: boolean };
  conv2d: ConvAttrs;
  /** ∂L/∂x of conv2d from (dy, w); `inputHW` is x's spatial size. */
  conv2d_grad_input: ConvAttrs & { inputHW: [number, number] };
  /** ∂L/∂w of conv2d from (x, dy); `kernel` is w's spatial size. */
  conv2d_grad_weight: ConvAttrs & { kernel: [number, number] };
  max_pool2d: PoolAttrs;
  /** ∂L/∂x of max_pool2d from (x, dy): the first max of each window gets dy. */
  max_pool2d_grad: PoolAttrs;
  /** Average pool counting padded zeros (torch's count_include_pad=True). */
  avg_pool2d: PoolAttrs;
  /** ∂L/∂x of avg_pool2d from dy; `inputHW` is x's spatial size. */
  avg_pool2d_grad: PoolAttrs & { inputHW: [number, number] };
}

/** The name of a primitive op. */
export type OpName = keyof OpAttrs;

/** Every op name, in a fixed order (for tests that must cover them all). */
export const OP_NAMES: readonly OpName[] = [
  "neg",
  "exp",
  "log",
  "sqrt",
  "relu",
  "step",
  "nan_to_num",
  "affine",
  "add",
  "sub",
  "mul",
  "div",
  "eq",
  "sum",
  "max",
  "argmax",
  "expand",
  "one_hot",
  "matmul",
  "conv2d",
  "conv2d_grad_input",
  "conv2d_grad_weight",
  "max_pool2d",
  "max_pool2d_grad",
  "avg_pool2d",
  "avg_pool2d_grad",
] as const satisfies readonly OpName[];

/** The unary elementwise op names. */
export const UNARY_OPS: readonly UnaryOp[] = [
  "neg",
  "exp",
  "log",
  "sqrt",
  "relu",
  "step",
  "nan_to_num",
];

/** The binary elementwise op names. */
export const BINARY_OPS: readonly BinaryOp[] = ["add", "sub", "mul", "div", "eq"];

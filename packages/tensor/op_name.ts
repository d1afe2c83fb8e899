/**
 * The one list of primitive ops. Every op appears in three exhaustive tables
 * keyed by {@link OpName}: the CPU reference (`backend/cpu`), the WGSL kernel
 * (`backend/webgpu`) and the gradient rule (`autograd/vjp.ts`), so that leaving
 * one out is a type error. Composites (losses, batch norm, softmax) are built
 * from these in `ops/` and get their gradients for free.
 *
 * @module
 */

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
  /** −x. */
  neg: Record<never, never>;
  /** eˣ. */
  exp: Record<never, never>;
  /** Natural logarithm (−Inf at 0, NaN below). */
  log: Record<never, never>;
  /** √x (NaN below 0). */
  sqrt: Record<never, never>;
  /** max(x, 0). */
  relu: Record<never, never>;
  /** max(x, 0) · scale in one pass (the AGD paper's fcn activation uses scale √2). */
  scaled_relu: { scale: number };
  /**
   * ∂L/∂x of relu and scaled_relu from (dy, x): dy · scale where x > 0, else 0
   * (0 also where dy is NaN, as torch's threshold_backward).
   */
  relu_grad: { scale: number };
  /** NaN → 0, ±Inf → ±float32 max, as torch.nan_to_num. */
  nan_to_num: Record<never, never>;
  /** x · mul + add with constant scalars. */
  affine: { mul: number; add: number };
  /** a + b, broadcast. */
  add: Record<never, never>;
  /** a − b, broadcast. */
  sub: Record<never, never>;
  /** a · b elementwise, broadcast. */
  mul: Record<never, never>;
  /** a / b elementwise, broadcast (IEEE: ±Inf or NaN where b is 0). */
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
  /**
   * The AGD paper's square loss from (x [N, C], int32 labels [N]): the mean
   * over all N·C entries of (x − value·onehot(labels))², a scalar.
   */
  mse_loss: { value: number };
  /** ∂mse_loss/∂x from (dy [], x, labels): dy · 2(x − value·onehot(labels)) / (N·C). */
  mse_loss_grad: { value: number };
  /** a·b for 2-D a, b, either transposed in place (no copies). */
  matmul: { transA: boolean; transB: boolean };
  /** 2-D cross-correlation of x [N, C, H, W] with w [O, C, kH, kW], as torch's conv2d. */
  conv2d: ConvAttrs;
  /** ∂L/∂x of conv2d from (dy, w); `inputHW` is x's spatial size. */
  conv2d_grad_input: ConvAttrs & { inputHW: [number, number] };
  /** ∂L/∂w of conv2d from (x, dy); `kernel` is w's spatial size. */
  conv2d_grad_weight: ConvAttrs & { kernel: [number, number] };
  /** Max over each window of x [N, C, H, W] (padding counts as −Inf). */
  max_pool2d: PoolAttrs;
  /** ∂L/∂x of max_pool2d from (x, dy): the first max of each window gets dy. */
  max_pool2d_grad: PoolAttrs;
  /** Average pool counting padded zeros (torch's count_include_pad=True). */
  avg_pool2d: PoolAttrs;
  /** ∂L/∂x of avg_pool2d from dy; `inputHW` is x's spatial size. */
  avg_pool2d_grad: PoolAttrs & { inputHW: [number, number] };
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

/** The name of a primitive op. */
export type OpName = keyof OpAttrs;

/** Every op name, in a fixed order (for tests that must cover them all). */
export const OP_NAMES: readonly OpName[] = [
  "neg",
  "exp",
  "log",
  "sqrt",
  "relu",
  "scaled_relu",
  "relu_grad",
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
  "mse_loss",
  "mse_loss_grad",
  "matmul",
  "conv2d",
  "conv2d_grad_input",
  "conv2d_grad_weight",
  "max_pool2d",
  "max_pool2d_grad",
  "avg_pool2d",
  "avg_pool2d_grad",
  "bn_stats",
  "batch_norm",
  "batch_norm_grad",
  "bn_running",
  "agd_terms",
  "agd_eta",
  "agd_update",
] as const satisfies readonly OpName[];

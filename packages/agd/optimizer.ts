/**
 * Optimizers as pure updates over parameters, their gradients and an explicit
 * state: AGD (no learning rate), and the paper's baselines SGD and Adam.
 * Every update is a sequence of GPU ops on tensors — no value is read back to
 * the host, so a step never waits for the GPU.
 *
 * @module
 */
import {
  add,
  affine,
  agdEta,
  agdTerms,
  agdUpdate,
  div,
  keep,
  log,
  mul,
  nanToNum,
  noGrad,
  sizeOf,
  sliceNorms,
  sqrt,
  square,
  sub,
  sum,
  type Tensor,
  tidy,
  zeros,
} from "@agd/tensor";
import { agdScale, type ParamRef, requireLayer } from "./param.ts";

/**
 * Everything an optimizer carries from one step to the next, explicitly (as
 * optax's states): the step count and the named state tensors. Saving both
 * resumes a run exactly.
 */
export interface OptimizerState {
  /** Steps taken (every optimizer counts them; Adam's bias correction 1 − βᵗ uses t = step + 1). */
  readonly step: number;
  /**
   * State tensors by name: SGD's velocity `<param>` (with momentum), Adam's
   * moments `<param>.m` and `<param>.v`; none for AGD.
   */
  readonly tensors: ReadonlyMap<string, Tensor>;
}

/** What {@link Optimizer.update} returns. */
export interface OptimizerStep {
  /** A one-element GPU tensor to log (AGD's η; the learning rate otherwise) that the caller owns. */
  readonly eta: Tensor;
  /** The state after the step. */
  readonly state: OptimizerState;
}

/**
 * One update rule behind a common interface, with its state passed in and
 * returned rather than kept inside (optax: `init(params) → state`,
 * `update(grads, state, params)`; the gradients are the parameters' `grad`).
 */
export interface Optimizer {
  /** `agd`, `sgd` or `adam`. */
  readonly name: string;
  /**
   * The state before the first step: step 0 and every state tensor zero,
   * shaped like its parameter.
   */
  init(params: readonly ParamRef[]): OptimizerState;
  /**
   * One step: replaces every parameter from its `value.grad`, disposing the
   * old values and gradients, and returns η with the next state. It consumes
   * `state` as it consumes the parameters' old values: the tensors it replaces
   * are disposed, the others move to the returned state, so pass each state
   * once. No value is read back to the host.
   */
  update(params: ParamRef[], state: OptimizerState): OptimizerStep;
}

/**
 * Bytes of an optimizer state's tensors, beyond the weights (AGD: 0; Adam:
 * twice the weights).
 *
 * @param state the state
 * @returns its tensors' bytes (4 per float32 element)
 * @example
 * ```ts
 * import { Agd, stateBytes } from "./optimizer.ts";
 * console.log(stateBytes(new Agd().init([]))); // 0
 * ```
 */
export function stateBytes(state: OptimizerState): number {
  let n = 0;
  for (const t of state.tensors.values()) n += t.size * 4;
  return n;
}

/**
 * Frees an optimizer state's tensors (when a run ends without another step).
 *
 * @param state the state; unusable afterwards
 * @example
 * ```ts
 * import { Adam, disposeState, stateBytes } from "@agd/agd";
 * import { zeros } from "@agd/tensor";
 * const w = { name: "w", value: zeros([2, 3]), layer: { fanOut: 2, fanIn: 3, kernel: [1, 1] as const } };
 * const state = new Adam({ lr: 1e-3 }).init([w]);
 * console.log(stateBytes(state)); // 48 (two moments of 6 floats)
 * disposeState(state);
 * ```
 */
export function disposeState(state: OptimizerState): void {
  for (const t of state.tensors.values()) t.dispose();
}

function gradOf(p: ParamRef): Tensor {
  const g = p.value.grad;
  if (!g) {
    throw new Error(`Cannot step: parameter "${p.name}" has no gradient (call backward() first)`);
  }
  return g;
}

/** Swaps in a parameter's new value, freeing the old value and its gradient. */
function replace(p: ParamRef, next: Tensor): void {
  p.value.grad?.dispose();
  p.value.dispose();
  next.requiresGrad = true;
  p.value = keep(next);
}

/** Options of {@link Agd}. */
export interface AgdOptions {
  /** Multiplies every update (paper default 1; its README suggests 10 can speed training). */
  gain?: number;
  /**
   * Run a step as AGD's fused GPU ops (default true: `agd_terms`, `agd_eta`
   * and one `agd_update` per weight), or, with false, as Algorithm 1 written
   * in elementwise ops and reductions (about ten dispatches per weight), like
   * PyTorch optimizers' `fused` flag. Both compute the same step; the unfused
   * one is the reference the fused ops are tested against and the bench's
   * baseline for what fusing gains.
   */
  fused?: boolean;
}

/**
 * Automatic Gradient Descent (Bernstein et al. 2023, Algorithm 1):
 * G = (1/L) Σ_k s_k Σ_slices ‖∇W_k‖_F, η = log((1 + √(1 + 4G)) / 2),
 * W_k ← W_k − gain · (η/L) · nan_to_num(s_k / ‖∇W_k‖_F) · ∇W_k per [d_out, d_in] slice.
 *
 * @example
 * ```ts
 * import { backward, mean, matmul, square, tensor } from "@agd/tensor";
 * import { Agd } from "./optimizer.ts";
 * const w = { name: "w", value: tensor([1, 0, 0, 1], { shape: [2, 2], requiresGrad: true }),
 *   layer: { fanOut: 2, fanIn: 2, kernel: [1, 1] as const } };
 * backward(mean(square(matmul(tensor([1, 2], { shape: [1, 2] }), w.value))));
 * const eta = new Agd().step([w]);
 * console.log((await eta.item()) > 0); // true
 * ```
 */
export class Agd implements Optimizer {
  /** Always `agd`. */
  readonly name = "agd";
  /** The gain multiplying every update. */
  readonly gain: number;
  /** Whether a step runs as the fused ops (see {@link AgdOptions.fused}). */
  readonly fused: boolean;

  /**
   * Creates an AGD optimizer. It keeps no state between steps (no momentum,
   * no learning rate to schedule), so one instance can serve any model.
   *
   * @param options gain (default 1), fused (default true)
   */
  constructor(options: AgdOptions = {}) {
    this.gain = options.gain ?? 1;
    this.fused = options.fused ?? true;
  }

  /**
   * AGD's gradient summary G = (1/L) Σ_k s_k Σ_slices ‖∇W_k‖_F and the step
   * size η = log((1 + √(1 + 4G)) / 2), as GPU scalars the caller owns.
   */
  summary(params: ParamRef[]): { G: Tensor; eta: Tensor } {
    return tidy(() =>
      noGrad(() => {
        if (!this.fused) {
          const { G, eta } = this.#unfusedSummary(params);
          return { G, eta };
        }
        const terms = this.#terms(params);
        return { G: sum(terms), eta: agdEta(terms) };
      })
    );
  }

  /** G, η and each weight's slice norms, as elementwise ops and reductions. */
  #unfusedSummary(params: ParamRef[]): { G: Tensor; eta: Tensor; norms: Tensor[] } {
    const depth = params.length;
    const norms = params.map((p) => sliceNorms(gradOf(p)));
    const G = norms
      .map((n, k) => affine(sum(n), { mul: agdScale(requireLayer(params[k])) / depth }))
      .reduce((a, b) => add(a, b));
    const eta = log(affine(sqrt(affine(G, { mul: 4, add: 1 })), { mul: 0.5, add: 0.5 }));
    return { G, eta, norms };
  }

  /** The packed terms (s_k/L)·‖∇W_k slice‖_F of every slice of every weight. */
  #terms(params: ParamRef[]): Tensor {
    const depth = params.length;
    return agdTerms(params.map(gradOf), params.map((p) => agdScale(requireLayer(p)) / depth));
  }

  /**
   * One AGD step; returns η as a GPU scalar (no host synchronisation). Fused:
   * one `agd_terms` over all gradients, one `agd_eta`, then one `agd_update`
   * per weight that reads η and its slice norms from GPU memory. AGD has no
   * state tensors, so a loop that keeps no step count can call this instead
   * of {@link update}.
   */
  step(params: ParamRef[]): Tensor {
    const depth = params.length;
    return tidy(() =>
      noGrad(() => {
        if (!this.fused) return this.#unfusedStep(params);
        const terms = this.#terms(params);
        const eta = agdEta(terms);
        let offset = 0;
        for (const p of params) {
          // terms = (s/L)·‖g‖, so gain·(η/L)·s/‖g‖ = gain·(s/L)²·η / terms.
          const weight = agdScale(requireLayer(p)) / depth;
          const next = agdUpdate(p.value, gradOf(p), {
            terms,
            eta,
            offset,
            mul: this.gain * weight * weight,
          });
          offset += sizeOf(p.value.shape.slice(2));
          replace(p, next);
        }
        return eta;
      })
    );
  }

  /** Algorithm 1's update as elementwise ops: W ← W − nan_to_num(gain·(η/L)·s / ‖g‖)·g. */
  #unfusedStep(params: ParamRef[]): Tensor {
    const { eta, norms } = this.#unfusedSummary(params);
    params.forEach((p, k) => {
      const coefficient = affine(eta, {
        mul: (this.gain * agdScale(requireLayer(p))) / params.length,
      });
      const factor = nanToNum(div(coefficient.reshape([1, 1]), norms[k]));
      replace(p, sub(p.value, mul(factor, gradOf(p))));
    });
    return eta;
  }

  /** AGD's state: step 0 and no tensors (no momentum, no learning rate to schedule). */
  init(_params: readonly ParamRef[]): OptimizerState {
    return { step: 0, tensors: new Map() };
  }

  /** {@link step}, with the state's step count advanced (AGD has no state tensors). */
  update(params: ParamRef[], state: OptimizerState): OptimizerStep {
    return { eta: this.step(params), state: { step: state.step + 1, tensors: state.tensors } };
  }
}

/** Options of {@link Sgd}. */
export interface SgdOptions {
  /** Learning rate (paper baseline: 0.1). */
  lr: number;
  /** Momentum (default 0: plain SGD, no state tensors). */
  momentum?: number;
}

/** Zeros shaped like each parameter, under `key(name)`: a state's initial tensors. */
function zerosLike(
  params: readonly ParamRef[],
  keys: (name: string) => string[],
): Map<string, Tensor> {
  const tensors = new Map<string, Tensor>();
  for (const p of params) {
    for (const key of keys(p.name)) {
      tensors.set(key, keep(zeros(p.value.shape, { backend: p.value.backend })));
    }
  }
  return tensors;
}

/** The state tensor `key` of `state`, or an error naming it and what to do. */
function stateTensor(state: OptimizerState, key: string, optimizer: string): Tensor {
  const t = state.tensors.get(key);
  if (!t) {
    throw new Error(
      `Cannot step ${optimizer}: its state has no tensor "${key}" (start from init(params), or restore every state tensor)`,
    );
  }
  return t;
}

/** Moves `value` into `tensors` under `key`, freeing the tensor it replaces. */
function swap(tensors: Map<string, Tensor>, key: string, value: Tensor): void {
  tensors.get(key)?.dispose();
  tensors.set(key, keep(value));
}

/** The learning rate as a one-element GPU tensor, what SGD and Adam give to log as η. */
function constant(value: number, params: ParamRef[]): Tensor {
  return affine(zeros([1], { backend: params[0].value.backend }), { add: value });
}

/**
 * Stochastic gradient descent with optional momentum (PyTorch's update rule).
 *
 * @example
 * ```ts
 * import { Sgd } from "@agd/agd";
 * import { backward, matmul, mean, square, tensor } from "@agd/tensor";
 * const w = { name: "w", value: tensor([1, 0, 0, 1], { shape: [2, 2], requiresGrad: true }),
 *   layer: { fanOut: 2, fanIn: 2, kernel: [1, 1] as const } };
 * // The gradient of mean((x·W)²) for x = [1, 2] is [[1, 2], [2, 4]].
 * backward(mean(square(matmul(tensor([1, 2], { shape: [1, 2] }), w.value))));
 * const sgd = new Sgd({ lr: 0.1 });
 * const { eta, state } = sgd.update([w], sgd.init([w]));
 * console.log(Array.from(await w.value.data(), (v) => +v.toFixed(3))); // [0.9, -0.2, -0.2, 0.6]
 * console.log((await eta.item()).toFixed(2), state.step); // 0.10 1
 * ```
 */
export class Sgd implements Optimizer {
  /** Always `sgd`. */
  readonly name = "sgd";
  /** Learning rate. */
  readonly lr: number;
  /** Momentum coefficient. */
  readonly momentum: number;

  /**
   * Creates an SGD optimizer. With momentum 0 its state has no tensors;
   * otherwise a velocity per parameter.
   *
   * @param options lr (must be positive) and momentum (default 0)
   * @throws {Error} when `lr` is not a positive number
   */
  constructor(options: SgdOptions) {
    if (!(options.lr > 0)) {
      throw new Error(`Cannot use SGD with lr ${options.lr}: it must be positive`);
    }
    this.lr = options.lr;
    this.momentum = options.momentum ?? 0;
  }

  /** Step 0 and, with momentum, a zero velocity per parameter (named as the parameter). */
  init(params: readonly ParamRef[]): OptimizerState {
    return { step: 0, tensors: zerosLike(params, (name) => (this.momentum > 0 ? [name] : [])) };
  }

  /** One step: v ← μv + g; W ← W − lr·v. Returns lr as a GPU scalar. */
  update(params: ParamRef[], state: OptimizerState): OptimizerStep {
    const tensors = new Map(state.tensors);
    const eta = tidy(() =>
      noGrad(() => {
        for (const p of params) {
          let update = gradOf(p);
          if (this.momentum > 0) {
            const v = stateTensor(state, p.name, "SGD");
            update = add(affine(v, { mul: this.momentum }), update);
            swap(tensors, p.name, update);
          }
          replace(p, sub(p.value, affine(update, { mul: this.lr })));
        }
        return constant(this.lr, params);
      })
    );
    return { eta, state: { step: state.step + 1, tensors } };
  }
}

/** Options of {@link Adam}. */
export interface AdamOptions {
  /** Learning rate (paper grid 1e-5 … 1e-1). */
  lr: number;
  /** β₁ (default 0.9). */
  beta1?: number;
  /** β₂ (default 0.999). */
  beta2?: number;
  /** ε (default 1e-8). */
  eps?: number;
}

/**
 * Adam (Kingma & Ba), with PyTorch's bias-corrected update.
 *
 * @example
 * ```ts
 * import { Adam } from "@agd/agd";
 * import { backward, matmul, mean, square, tensor } from "@agd/tensor";
 * const w = { name: "w", value: tensor([1, 0, 0, 1], { shape: [2, 2], requiresGrad: true }),
 *   layer: { fanOut: 2, fanIn: 2, kernel: [1, 1] as const } };
 * backward(mean(square(matmul(tensor([1, 2], { shape: [1, 2] }), w.value))));
 * const adam = new Adam({ lr: 0.1 });
 * const { state } = adam.update([w], adam.init([w]));
 * // Adam's first step moves every weight by lr against its gradient's sign.
 * console.log(Array.from(await w.value.data(), (v) => +v.toFixed(3))); // [0.9, -0.1, -0.1, 0.9]
 * console.log([...state.tensors.keys()]); // ["w.m", "w.v"]
 * ```
 */
export class Adam implements Optimizer {
  /** Always `adam`. */
  readonly name = "adam";
  /** Learning rate. */
  readonly lr: number;
  readonly #beta1: number;
  readonly #beta2: number;
  readonly #eps: number;

  /**
   * Creates an Adam optimizer. Its state holds two moment tensors per
   * parameter (twice the weights' memory) and the step count of the bias
   * correction.
   *
   * @param options lr (must be positive), beta1, beta2 and eps
   * @throws {Error} when `lr` is not a positive number
   */
  constructor(options: AdamOptions) {
    if (!(options.lr > 0)) {
      throw new Error(`Cannot use Adam with lr ${options.lr}: it must be positive`);
    }
    this.lr = options.lr;
    this.#beta1 = options.beta1 ?? 0.9;
    this.#beta2 = options.beta2 ?? 0.999;
    this.#eps = options.eps ?? 1e-8;
  }

  /** Step 0 and zero moments `<name>.m` and `<name>.v` per parameter. */
  init(params: readonly ParamRef[]): OptimizerState {
    return { step: 0, tensors: zerosLike(params, (name) => [`${name}.m`, `${name}.v`]) };
  }

  /** One step, with t = `state.step` + 1 in the bias correction; returns lr as a GPU scalar. */
  update(params: ParamRef[], state: OptimizerState): OptimizerStep {
    const t = state.step + 1;
    const b1 = this.#beta1;
    const b2 = this.#beta2;
    const correction1 = 1 - b1 ** t;
    const correction2 = 1 - b2 ** t;
    const tensors = new Map(state.tensors);
    const eta = tidy(() =>
      noGrad(() => {
        for (const p of params) {
          const g = gradOf(p);
          const m = add(
            affine(stateTensor(state, `${p.name}.m`, "Adam"), { mul: b1 }),
            affine(g, { mul: 1 - b1 }),
          );
          const v = add(
            affine(stateTensor(state, `${p.name}.v`, "Adam"), { mul: b2 }),
            affine(square(g), { mul: 1 - b2 }),
          );
          swap(tensors, `${p.name}.m`, m);
          swap(tensors, `${p.name}.v`, v);
          // PyTorch: denom = √v/√(1−β₂ᵗ) + ε; W ← W − (lr/(1−β₁ᵗ))·m/denom
          const denom = affine(sqrt(v), { mul: 1 / Math.sqrt(correction2), add: this.#eps });
          replace(p, sub(p.value, affine(div(m, denom), { mul: this.lr / correction1 })));
        }
        return constant(this.lr, params);
      })
    );
    return { eta, state: { step: t, tensors } };
  }
}

/**
 * Optimizers as pure updates over parameters and their gradients: AGD (no
 * learning rate), and the paper's baselines SGD and Adam. Every update is a
 * sequence of GPU ops on tensors — no value is read back to the host, so a
 * step never waits for the GPU.
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

/** One update rule behind a common interface. */
export interface Optimizer {
  /** `agd`, `sgd` or `adam`. */
  readonly name: string;
  /**
   * Updates every parameter from `value.grad`, disposing the old values and
   * gradients. Returns a one-element GPU tensor to log (AGD's η; the learning
   * rate otherwise) that the caller owns and may read back whenever it likes.
   */
  step(params: ParamRef[]): Tensor;
  /** Bytes of state the optimizer keeps beyond the weights (AGD: 0). */
  stateBytes(): number;
  /** Optimizer state tensors by name (for checkpoints); empty for AGD. */
  state(): Map<string, Tensor>;
  /** Restores {@link state} from a checkpoint. */
  loadState(state: Map<string, Tensor>): void;
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
   * per weight that reads η and its slice norms from GPU memory.
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

  /** AGD keeps no state: 0 bytes. */
  stateBytes(): number {
    return 0;
  }

  /** Empty: AGD has no state. */
  state(): Map<string, Tensor> {
    return new Map();
  }

  /** Nothing to restore. */
  loadState(_state: Map<string, Tensor>): void {}
}

/** Options of {@link Sgd}. */
export interface SgdOptions {
  /** Learning rate (paper baseline: 0.1). */
  lr: number;
  /** Momentum (default 0: plain SGD, no state). */
  momentum?: number;
}

/** Buffers of per-parameter optimizer state, created lazily on the first step. */
class StateBank {
  readonly tensors = new Map<string, Tensor>();

  get(key: string, like: Tensor): Tensor {
    let t = this.tensors.get(key);
    if (!t) {
      t = keep(zeros(like.shape, { backend: like.backend }));
      this.tensors.set(key, t);
    }
    return t;
  }

  set(key: string, value: Tensor): void {
    this.tensors.get(key)?.dispose();
    this.tensors.set(key, keep(value));
  }

  bytes(): number {
    let n = 0;
    for (const t of this.tensors.values()) n += t.size * 4;
    return n;
  }

  load(state: Map<string, Tensor>): void {
    for (const [k, v] of state) this.set(k, v);
  }
}

/** Stochastic gradient descent with optional momentum (PyTorch's update rule). */
export class Sgd implements Optimizer {
  /** Always `sgd`. */
  readonly name = "sgd";
  /** Learning rate. */
  readonly lr: number;
  /** Momentum coefficient. */
  readonly momentum: number;
  #bank = new StateBank();

  /**
   * Creates an SGD optimizer. With momentum 0 it keeps no state; otherwise a
   * velocity buffer per parameter is allocated on the first step.
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

  /** One step: v ← μv + g; W ← W − lr·v. Returns lr as a GPU scalar. */
  step(params: ParamRef[]): Tensor {
    return tidy(() =>
      noGrad(() => {
        for (const p of params) {
          let update = gradOf(p);
          if (this.momentum > 0) {
            const v = this.#bank.get(p.name, p.value);
            update = add(affine(v, { mul: this.momentum }), update);
            this.#bank.set(p.name, update);
          }
          replace(p, sub(p.value, affine(update, { mul: this.lr })));
        }
        return affine(zeros([1], { backend: params[0].value.backend }), { add: this.lr });
      })
    );
  }

  /** One momentum buffer per parameter (0 without momentum). */
  stateBytes(): number {
    return this.#bank.bytes();
  }

  /** Momentum buffers by parameter name. */
  state(): Map<string, Tensor> {
    return new Map(this.#bank.tensors);
  }

  /** Restores momentum buffers. */
  loadState(state: Map<string, Tensor>): void {
    this.#bank.load(state);
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

/** Adam (Kingma & Ba), with PyTorch's bias-corrected update. */
export class Adam implements Optimizer {
  /** Always `adam`. */
  readonly name = "adam";
  /** Learning rate. */
  readonly lr: number;
  readonly #beta1: number;
  readonly #beta2: number;
  readonly #eps: number;
  #t = 0;
  #bank = new StateBank();

  /**
   * Creates an Adam optimizer. Its two moment buffers per parameter (twice the
   * weights' memory) are allocated on the first step.
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

  /** One step; returns lr as a GPU scalar. */
  step(params: ParamRef[]): Tensor {
    this.#t++;
    const b1 = this.#beta1;
    const b2 = this.#beta2;
    const correction1 = 1 - b1 ** this.#t;
    const correction2 = 1 - b2 ** this.#t;
    return tidy(() =>
      noGrad(() => {
        for (const p of params) {
          const g = gradOf(p);
          const m = add(
            affine(this.#bank.get(`${p.name}.m`, g), { mul: b1 }),
            affine(g, { mul: 1 - b1 }),
          );
          const v = add(
            affine(this.#bank.get(`${p.name}.v`, g), { mul: b2 }),
            affine(square(g), { mul: 1 - b2 }),
          );
          this.#bank.set(`${p.name}.m`, m);
          this.#bank.set(`${p.name}.v`, v);
          // PyTorch: denom = √v/√(1−β₂ᵗ) + ε; W ← W − (lr/(1−β₁ᵗ))·m/denom
          const denom = affine(sqrt(v), { mul: 1 / Math.sqrt(correction2), add: this.#eps });
          replace(p, sub(p.value, affine(div(m, denom), { mul: this.lr / correction1 })));
        }
        return affine(zeros([1], { backend: params[0].value.backend }), { add: this.lr });
      })
    );
  }

  /** Two moment buffers per parameter. */
  stateBytes(): number {
    return this.#bank.bytes();
  }

  /** Moment buffers (`<name>.m`, `<name>.v`) and the step count as `step` would need it. */
  state(): Map<string, Tensor> {
    return new Map(this.#bank.tensors);
  }

  /** Restores moment buffers; `steps` restores the bias-correction step count. */
  loadState(state: Map<string, Tensor>, steps = 0): void {
    this.#bank.load(state);
    this.#t = steps;
  }
}

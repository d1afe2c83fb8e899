/**
 * Data-parallel training over MPI ranks, as PyTorch's DistributedDataParallel
 * does it: every rank holds the whole model, trains on its own shard of each
 * global batch, and before the optimizer step the gradients are summed over
 * ranks and divided by the world size. The loss is a mean over the rank's
 * batch of B/N samples, so (1/N)·Σ_ranks ∇ equals the gradient of the mean over
 * the global batch of B, and AGD then computes the same G and η on every rank
 * as a single process would with batch B.
 *
 * Overlap: gradients are grouped into buckets of ~25 MiB in the order backward
 * computes them (last layer first; after the first step, the order observed,
 * as DDP rebuilds its buckets). A hook on the op that consumed each weight
 * notices when a bucket's gradients are all computed and issues the bucket's
 * GPU→host read at once — mid-backward, so the read is queued right behind the
 * kernels that produced it and the GPU starts on the work recorded so far —
 * and the bucket is all-reduced on an MPI worker thread while the GPU still
 * computes the earlier layers' gradients. Buckets are reduced strictly in
 * order, so every rank issues the same collectives in the same order.
 *
 * @module
 */
import type { ParamRef } from "@agd/agd";
import { keep, Tensor, type TypedArray } from "@agd/tensor";
import { type GpuSelection, selectGpu } from "./gpu_select.ts";
import { Mpi, type MpiOptions } from "./mpi.ts";

/** Options of {@link DataParallel.init}. */
export interface DataParallelOptions extends MpiOptions {
  /**
   * Gradient bucket size in MiB (default 25, PyTorch DDP's). `Infinity` makes
   * one bucket reduced after the whole backward pass (no overlap).
   */
  bucketMiB?: number;
  /** Steer this rank's WebGPU adapter to its own GPU (default true; pass false for the CPU backend). */
  selectGpu?: boolean;
}

/** Time spent on gradient synchronisation since {@link DataParallel.init}. */
export interface SyncTiming {
  /** Steps synchronised. */
  steps: number;
  /** Seconds inside MPI_Allreduce for gradients (the communication itself). */
  commSeconds: number;
  /**
   * Seconds the training loop waited for gradients after its backward pass
   * was recorded: the communication (plus copies) that did not overlap.
   */
  waitSeconds: number;
  /** Bytes all-reduced per step. */
  bytesPerStep: number;
}

/**
 * Weights to share, with the gradient's layout on the host: built once per
 * bucket capacity by {@link DataParallel.syncGradients} and reused every step,
 * so the host buffers are allocated once, not per step.
 */
export interface BucketPlan {
  /** Elements of each parameter, in model order. */
  sizes: number[];
  /** Bucket capacity in elements. */
  capacity: number;
  /** Whether the buckets follow an order observed in a step (else: reverse model order). */
  observed: boolean;
  /** Parameter indices per bucket, in reduction order (last layers first). */
  buckets: number[][];
  /** Each bucket's host buffer (the last holds one extra slot: the stop vote). */
  buffers: Float32Array[];
}

/**
 * Groups parameters into buckets of at most `maxElements` (a bigger parameter
 * gets a bucket of its own), following `order` — the order in which backward
 * computes gradients: by default from the last parameter to the first.
 *
 * @param sizes elements of each parameter, in model order
 * @param maxElements bucket capacity in float32 elements
 * @param order parameter indices in gradient order (default: last to first)
 * @returns parameter indices per bucket, first bucket first
 * @example
 * ```ts
 * import { planBuckets } from "@agd/distributed";
 * console.log(planBuckets([4, 4, 4], 8)); // [[2, 1], [0]]
 * ```
 */
export function planBuckets(
  sizes: readonly number[],
  maxElements: number,
  order: readonly number[] = sizes.map((_, i) => sizes.length - 1 - i),
): number[][] {
  const buckets: number[][] = [];
  let current: number[] = [];
  let filled = 0;
  for (const i of order) {
    if (current.length > 0 && filled + sizes[i] > maxElements) {
      buckets.push(current);
      current = [];
      filled = 0;
    }
    current.push(i);
    filled += sizes[i];
  }
  if (current.length > 0) buckets.push(current);
  return buckets;
}

/**
 * mpirun binds each rank to one core by default when ranks ≤ 2 per machine;
 * Deno (V8, its I/O threads, the MPI worker) and a software or GPU driver need
 * several. Measured here: 0.8 s instead of 0.04 s per step in MPI_Allreduce.
 */
function cpuBindingNote(): string | undefined {
  try {
    const status = Deno.readTextFileSync("/proc/self/status");
    const list = status.match(/^Cpus_allowed_list:\s*(\S+)/m)?.[1];
    if (!list) return undefined;
    const cpus = list.split(",").reduce((n, r) => {
      const [a, b] = r.split("-").map(Number);
      return n + (b === undefined ? 1 : b - a + 1);
    }, 0);
    if (cpus === 1 && navigator.hardwareConcurrency > 1) {
      return "mpirun bound this rank to a single core, which starves Deno's threads: add --bind-to none";
    }
  } catch {
    // Not Linux: nothing to check.
  }
  return undefined;
}

function deferred(): { promise: Promise<void>; resolve: () => void } {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}

/** Swaps in a tensor holding `data`, on `like`'s backend with its shape; frees `like`. */
function upload(like: Tensor, data: Float32Array): Tensor {
  const next = keep(new Tensor(like.backend, like.backend.upload(data), like.shape, "float32"));
  next.requiresGrad = like.requiresGrad;
  return next;
}

/**
 * This process's part in a data-parallel job: its rank, its GPU, and the
 * collectives a training loop needs — broadcast the initial weights, average
 * the gradients of every step, sum metrics.
 *
 * @example
 * ```ts ignore
 * // mpirun -np 2 deno run -A train.ts
 * const dp = DataParallel.init();
 * await dp.broadcast(model.parameters());            // rank 0's initial weights
 * const loader = createLoader(data, { batchSize: B / dp.size, rank: dp.rank, worldSize: dp.size });
 * let state = optimizer.init(params);
 * for await (const batch of loader) {
 *   const [x, y] = toTensors(batch);
 *   // trainStep (@agd/agd) calls sync.watch() just before backward, so that
 *   // buckets start mid-backward, and awaits sync.done() (averaged gradients
 *   // in place) before the optimizer's update.
 *   const sync = dp.syncGradients(params);
 *   const step = await trainStep(setup, { x, y, state, sync });
 *   state = step.state;
 *   [step.eta, step.lossSum, step.correct, x, y].forEach((t) => t.dispose());
 * }
 * await dp.finalize();
 * ```
 */
export class DataParallel {
  /** The MPI binding. */
  readonly mpi: Mpi;
  /** This rank's GPU choice. */
  readonly gpu: GpuSelection;
  /** Index of this rank among the ranks on its machine. */
  readonly localRank: number;
  /** Lines worth logging once: the GPU choice, and a CPU binding that would starve Deno. */
  readonly notes: string[];
  readonly #bucketElements: number;
  readonly #agreed = new AbortController();
  #local: AbortSignal | undefined;
  /** Bucket plans by capacity (benchmarks alternate between sizes). */
  #plans = new Map<number, BucketPlan>();
  #timing: SyncTiming = { steps: 0, commSeconds: 0, waitSeconds: 0, bytesPerStep: 0 };

  private constructor(mpi: Mpi, localRank: number, gpu: GpuSelection, bucketMiB: number) {
    this.mpi = mpi;
    this.localRank = localRank;
    this.gpu = gpu;
    this.notes = [gpu.note];
    const binding = cpuBindingNote();
    if (binding) this.notes.push(binding);
    this.#bucketElements = (bucketMiB * 2 ** 20) / 4;
  }

  /**
   * Joins the job: MPI_Init, then (unless disabled) picks this rank's GPU from
   * its local rank. Call it before the WebGPU adapter is requested. The timeout
   * defaults to `AGD_DISTRIBUTE_TIMEOUT` seconds, else 300.
   *
   * @param options bucket size, GPU selection, MPI library and timeout
   * @returns the handle
   */
  static init(options: DataParallelOptions = {}): DataParallel {
    const envTimeout = Number(Deno.env.get("AGD_DISTRIBUTE_TIMEOUT"));
    const timeoutSeconds = options.timeoutSeconds ??
      (envTimeout > 0 ? envTimeout : undefined);
    const mpi = Mpi.init({ ...options, timeoutSeconds });
    const localRank = Number(Deno.env.get("OMPI_COMM_WORLD_LOCAL_RANK") ?? 0);
    const gpu = options.selectGpu === false
      ? { env: {}, note: "GPU selection off" }
      : selectGpu(localRank);
    return new DataParallel(mpi, localRank, gpu, options.bucketMiB ?? 25);
  }

  /** This process's rank. */
  get rank(): number {
    return this.mpi.rank;
  }

  /** Number of ranks. */
  get size(): number {
    return this.mpi.size;
  }

  /** Gradient synchronisation time so far. */
  get timing(): SyncTiming {
    return { ...this.#timing };
  }

  /**
   * One log line on gradient synchronisation so far: MiB per step, time in
   * MPI_Allreduce per step, and how much of it the loop actually waited for
   * (the rest overlapped with the backward pass and the copies).
   *
   * @returns e.g. `gradients: 0.1 MiB/step all-reduced, 1.2 ms/step in MPI, 1.5 ms/step waited`
   */
  describeTiming(): string {
    const t = this.#timing;
    const ms = (s: number) => ((1000 * s) / Math.max(t.steps, 1)).toFixed(1);
    return `gradients: ${
      (t.bytesPerStep / 2 ** 20).toFixed(1)
    } MiB/step all-reduced over ${this.size} ranks, ` +
      `${ms(t.commSeconds)} ms/step in MPI, ${ms(t.waitSeconds)} ms/step waited for after backward`;
  }

  /**
   * A signal that aborts on every rank at the same step: when any rank's
   * `local` signal had aborted by the time it sent that step's gradients. A
   * training loop that stops on it stops everywhere after the same step, so
   * no rank waits for a collective the others will never call.
   *
   * @param local this process's own signal (Ctrl-C, SIGTERM)
   * @returns the agreed signal
   */
  agree(local?: AbortSignal): AbortSignal {
    this.#local = local;
    return this.#agreed.signal;
  }

  /**
   * Replaces every tensor's value by rank `root`'s (one MPI_Bcast of all of
   * them packed): the initial weights, or BatchNorm's running statistics
   * before an evaluation.
   *
   * @param refs parameters or buffers, in the same order on every rank
   * @param root the rank whose values win (default 0)
   */
  async broadcast(refs: readonly { value: Tensor }[], root = 0): Promise<void> {
    const sizes = refs.map((r) => r.value.size);
    const buffer = new Float32Array(sizes.reduce((a, b) => a + b, 0));
    if (this.rank === root) {
      const data = await Promise.all(refs.map((r) => r.value.data()));
      let off = 0;
      data.forEach((d, i) => {
        buffer.set(d, off);
        off += sizes[i];
      });
    }
    await this.mpi.broadcast(buffer, root);
    if (this.rank === root) return;
    let off = 0;
    refs.forEach((r, i) => {
      if (r.value.dtype !== "float32") {
        throw new Error(`Cannot broadcast a ${r.value.dtype} tensor: only float32 is supported`);
      }
      const next = upload(r.value, buffer.subarray(off, off + sizes[i]));
      r.value.dispose();
      r.value = next;
      off += sizes[i];
    });
  }

  /**
   * Starts averaging this step's gradients. Call it before the forward pass,
   * `sync.watch()` before `backward(loss)` (optional: without it the
   * reduction starts after backward), then `await sync.done()` before the
   * optimizer step. Gradients must not accumulate across steps (each step
   * starts with `grad` null, as the optimizers leave it).
   *
   * @param params the trainable weights, in the same order on every rank
   * @param options `bucketMiB` overrides the job's bucket size (benchmarks)
   * @returns the step's synchronisation
   */
  syncGradients(params: readonly ParamRef[], options: { bucketMiB?: number } = {}): GradientSync {
    const sizes = params.map((p) => p.value.size);
    const capacity = options.bucketMiB ? (options.bucketMiB * 2 ** 20) / 4 : this.#bucketElements;
    let plan = this.#plans.get(capacity);
    if (!plan || plan.sizes.join() !== sizes.join()) {
      plan = this.#makePlan(sizes, capacity);
      this.#plans.set(capacity, plan);
    }
    return new GradientSync(this, params, plan, {
      vote: () => (this.#local?.aborted ? 1 : 0),
      onVote: (votes) => {
        if (votes > 0) this.#agreed.abort();
      },
      onDone: async (comm, wait, arrival) => {
        this.#timing.steps++;
        this.#timing.commSeconds += comm;
        this.#timing.waitSeconds += wait;
        if (!plan.observed) await this.#rebuild(plan, arrival);
      },
    });
  }

  #makePlan(sizes: number[], capacity: number, order?: number[]): BucketPlan {
    const buckets = planBuckets(sizes, capacity, order);
    const buffers = buckets.map((b, k) =>
      new Float32Array(b.reduce((n, i) => n + sizes[i], 0) + (k === buckets.length - 1 ? 1 : 0))
    );
    this.#timing.bytesPerStep = buffers.reduce((n, b) => n + b.byteLength, 0);
    return { sizes, capacity, observed: order !== undefined, buckets, buffers };
  }

  /**
   * After the first step, rebuilds the buckets in the order gradients actually
   * arrived (DDP does the same), so the first bucket reduced is the first one
   * ready. Rank 0's order is broadcast: every rank must use the same buckets.
   */
  async #rebuild(plan: BucketPlan, arrival: number[]): Promise<void> {
    const order = Float32Array.from(arrival);
    await this.mpi.broadcast(order, 0);
    const next = this.#makePlan(plan.sizes, plan.capacity, [...order]);
    if (this.#plans.get(plan.capacity) === plan) this.#plans.set(plan.capacity, next);
  }

  /**
   * Sums numbers over ranks in float64 (losses, counts).
   *
   * @param values this rank's values; the same count on every rank
   * @returns the sums, on every rank
   */
  async sum(values: readonly number[]): Promise<number[]> {
    const buffer = Float64Array.from(values);
    await this.mpi.allreduceSum(buffer);
    return [...buffer];
  }

  /** Waits for every rank (MPI_Barrier). */
  barrier(): Promise<void> {
    return this.mpi.barrier();
  }

  /** Leaves the job (MPI_Finalize) after the last collective. */
  finalize(): Promise<void> {
    return this.mpi.finalize();
  }

  /**
   * Ends the whole job with `message` on stderr (MPI_Abort).
   *
   * @param message why
   */
  abort(message: string): never {
    return this.mpi.abort(message);
  }
}

/**
 * Hooks from {@link DataParallel} into one step's synchronisation: the stop
 * vote rides in the last bucket's spare slot, so agreeing to stop costs no
 * extra all-reduce.
 */
export interface SyncHooks {
  /** This rank's stop vote: 1 when it has been asked to stop (its local signal), else 0. */
  vote(): number;
  /** Called with the sum of every rank's votes once the last bucket is reduced; > 0 stops all. */
  onVote(votes: number): void;
  /**
   * Called when every bucket is reduced, with the seconds spent in
   * MPI_Allreduce, the seconds the caller waited, and the parameter indices
   * in the order their gradients arrived (to reorder the buckets).
   */
  onDone(commSeconds: number, waitSeconds: number, arrival: number[]): Promise<void>;
}

/** One step's gradient averaging, started by {@link DataParallel.syncGradients}. */
export class GradientSync {
  readonly #params: readonly ParamRef[];
  readonly #buckets: number[][];
  readonly #bucketOf: Int32Array;
  readonly #missing: number[];
  /** Gradients as backward computed them (before it stores them in `grad`). */
  readonly #early: (Tensor | undefined)[];
  /** Parameter indices in the order their gradients were computed. */
  readonly #arrival: number[] = [];
  readonly #reads: (Promise<(TypedArray | undefined)[]> | undefined)[];
  readonly #ready: { promise: Promise<void>; resolve: () => void }[];
  readonly #chain: Promise<void>;
  readonly #hooks: SyncHooks;
  #comm = 0;

  /**
   * Starts the reductions' chain: each bucket is all-reduced, one at a time
   * in bucket order (the same on every rank, as MPI requires), as soon as
   * backward has produced all of that bucket's gradients. Use
   * {@link DataParallel.syncGradients} rather than calling this directly.
   *
   * @param dp the job
   * @param params the weights
   * @param plan buckets and their host buffers
   * @param hooks stop vote and timing
   */
  constructor(dp: DataParallel, params: readonly ParamRef[], plan: BucketPlan, hooks: SyncHooks) {
    this.#params = params;
    this.#hooks = hooks;
    const { buckets, buffers } = plan;
    this.#buckets = buckets;
    this.#early = params.map(() => undefined);
    this.#reads = buckets.map(() => undefined);
    this.#ready = buckets.map(() => deferred());
    this.#missing = buckets.map((b) => b.length);
    this.#bucketOf = new Int32Array(params.length);
    buckets.forEach((b, k) => b.forEach((i) => (this.#bucketOf[i] = k)));
    const scale = 1 / dp.size;
    const last = buckets.length - 1;
    let chain = Promise.resolve();
    // Reductions run one at a time, in bucket order, the same on every rank.
    buckets.forEach((bucket, k) => {
      chain = chain.then(async () => {
        await this.#ready[k].promise;
        const data = await this.#reads[k]!;
        const buffer = buffers[k];
        let off = 0;
        bucket.forEach((i, j) => {
          const n = params[i].value.size;
          if (data[j]) buffer.set(data[j]!, off);
          // A weight backward did not reach contributes zeros, so the ranks
          // still agree on the layout; its grad stays null, as without MPI.
          else buffer.fill(0, off, off + n);
          off += n;
        });
        if (k === last) buffer[off] = this.#hooks.vote();
        const start = performance.now();
        await dp.mpi.allreduceSum(buffer);
        this.#comm += (performance.now() - start) / 1000;
        off = 0;
        bucket.forEach((i) => {
          const p = params[i];
          const n = p.value.size;
          const view = buffer.subarray(off, off + n);
          off += n;
          const g = p.value.grad;
          if (!g) return;
          for (let e = 0; e < n; e++) view[e] *= scale;
          p.value.grad = upload(g, view);
          g.dispose();
        });
        if (k === last) this.#hooks.onVote(buffer[off]);
      });
    });
    this.#chain = chain;
  }

  /**
   * Hooks this step's weights ({@link Tensor.onGrad}) so that each bucket's
   * read starts as soon as backward has finished its last gradient. Call it
   * before `backward(loss)`.
   */
  watch(): void {
    this.#params.forEach((p, i) => {
      p.value.onGrad = (g) => {
        if (this.#early[i]) return;
        this.#early[i] = g;
        this.#arrival.push(i);
        const k = this.#bucketOf[i];
        if (--this.#missing[k] === 0) this.#start(k);
      };
    });
  }

  /** Issues bucket k's reads (synchronously: from inside backward, they queue behind its kernels). */
  #start(k: number): void {
    if (this.#reads[k]) return;
    const params = this.#params;
    this.#reads[k] = Promise.all(
      this.#buckets[k].map((i) => (this.#early[i] ?? params[i].value.grad ?? undefined)?.data()),
    );
    this.#ready[k].resolve();
  }

  /**
   * Waits until every gradient is the average over ranks. Call it after
   * backward: buckets not yet started (no `watch`, or weights backward did not
   * reach) are read now.
   */
  async done(): Promise<void> {
    const start = performance.now();
    this.#buckets.forEach((_, k) => this.#start(k));
    await this.#chain;
    const seen = new Set(this.#arrival);
    const unseen = this.#params.map((_, i) => i).filter((i) => !seen.has(i)).reverse();
    await this.#hooks.onDone(
      this.#comm,
      (performance.now() - start) / 1000,
      [...this.#arrival, ...unseen],
    );
  }
}

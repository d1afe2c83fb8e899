/**
 * Threads for the wasm backend's kernels: workers that instantiate the same
 * module on the same shared memory and each compute one part of a kernel
 * call (its own block of the output), woken and joined through
 * `Atomics.wait`/`notify` on a control block inside that memory — no
 * messages, no copies, so a call costs microseconds. The calling thread
 * computes part 0 itself.
 *
 * Workers start from a `blob:` URL of a self-contained script, so the pool
 * works wherever the package is loaded from (a file, JSR, a bundle).
 *
 * @module
 */

/** The control block's Int32 slots. */
const SEQ = 0; // bumped once per call: what sleeping workers wait on
const DONE = 1; // workers that finished the current call
const OP = 2; // 0: stop, 1: matmul
const NEXT = 3; // the next task of the call (kernels.c's matmul takes tasks from it)
const ARGS = 4; // the call's arguments (pointers and sizes)

/** Int32 slots the control block needs. */
export const CONTROL_INTS = 16;

/**
 * The worker: instantiates the module on the shared memory, says it is
 * ready, then takes tasks of each call until told to stop.
 */
const WORKER_SOURCE = `
onmessage = async ({ data }) => {
  const { module, memory, control, scratch, parts } = data;
  const { exports: ex } = await WebAssembly.instantiate(module, { env: { memory } });
  const ctrl = new Int32Array(memory.buffer, control, ${CONTROL_INTS});
  postMessage("ready");
  let seen = Atomics.load(ctrl, ${SEQ});
  for (;;) {
    Atomics.wait(ctrl, ${SEQ}, seen);
    seen = Atomics.load(ctrl, ${SEQ});
    const op = ctrl[${OP}];
    if (op === 0) break;
    const a = ctrl.subarray(${ARGS});
    if (op === 1) ex.matmul(a[0], a[1], a[2], a[3], a[4], a[5], a[6], a[7], a[8], scratch, control + ${
  4 * NEXT
}, parts);
    Atomics.add(ctrl, ${DONE}, 1);
    Atomics.notify(ctrl, ${DONE});
  }
  close();
};
`;

/** Whether this thread may block in `Atomics.wait` (a page's main thread may not). */
function canBlock(): boolean {
  try {
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 1, 0);
    return true;
  } catch {
    return false;
  }
}

/**
 * What a pool needs of the kernels: a matmul (C (+)= op(A)·op(B)) whose
 * tasks every thread takes from the counter at `next`.
 */
export interface PoolKernels {
  matmul(
    a: number,
    b: number,
    c: number,
    m: number,
    n: number,
    k: number,
    ta: number,
    tb: number,
    accumulate: number,
    scratch: number,
    next: number,
    parts: number,
  ): void;
}

/** Workers sharing one memory, each computing its part of every call. */
export class ThreadPool {
  /** Threads taking part in a call, the calling one included. */
  readonly threads: number;
  #workers: Worker[];
  #ctrl: Int32Array;
  #control: number;
  #blocking = canBlock();

  private constructor(workers: Worker[], ctrl: Int32Array, control: number) {
    this.#workers = workers;
    this.#ctrl = ctrl;
    this.#control = control;
    this.threads = workers.length + 1;
  }

  /**
   * Starts `threads − 1` workers on `memory`.
   *
   * @param module the threads build of the kernels
   * @param memory the shared memory
   * @param control byte offset of {@link CONTROL_INTS} Int32s reserved for the pool
   * @param scratch per thread (index 0: the caller's), the byte offset of its matmul scratch
   * @returns the pool, once every worker is ready
   */
  static async start(
    module: WebAssembly.Module,
    memory: WebAssembly.Memory,
    control: number,
    scratch: number[],
  ): Promise<ThreadPool> {
    const url = URL.createObjectURL(new Blob([WORKER_SOURCE], { type: "text/javascript" }));
    const parts = scratch.length;
    const workers: Worker[] = [];
    try {
      await Promise.all(
        scratch.slice(1).map((s) => {
          const worker = new Worker(url, { type: "module" });
          workers.push(worker);
          return new Promise<void>((resolve, reject) => {
            worker.onmessage = () => resolve();
            worker.onerror = (e) => {
              e.preventDefault();
              reject(new Error(e.message));
            };
            worker.postMessage({ module, memory, control, scratch: s, parts });
          });
        }),
      );
    } catch (e) {
      for (const w of workers) w.terminate();
      throw e;
    } finally {
      URL.revokeObjectURL(url);
    }
    return new ThreadPool(workers, new Int32Array(memory.buffer, control, CONTROL_INTS), control);
  }

  /**
   * Runs a matmul on every thread: each, the caller included, takes tasks until none is left.
   *
   * @param ex the caller's kernels
   * @param args a, b, c, m, n, k, ta, tb, accumulate (as kernels.c's matmul)
   * @param scratch the caller's scratch
   */
  matmul(ex: PoolKernels, args: readonly number[], scratch: number): void {
    const ctrl = this.#ctrl;
    ctrl.set(args, ARGS);
    ctrl[OP] = 1;
    Atomics.store(ctrl, NEXT, 0);
    Atomics.store(ctrl, DONE, 0);
    Atomics.add(ctrl, SEQ, 1);
    Atomics.notify(ctrl, SEQ);
    const [a, b, c, m, n, k, ta, tb, accumulate] = args;
    ex.matmul(
      a,
      b,
      c,
      m,
      n,
      k,
      ta,
      tb,
      accumulate,
      scratch,
      this.#control + 4 * NEXT,
      this.threads,
    );
    this.#join();
  }

  /** Waits until every worker has finished the current call. */
  #join(): void {
    const ctrl = this.#ctrl;
    const workers = this.#workers.length;
    for (let done = Atomics.load(ctrl, DONE); done < workers; done = Atomics.load(ctrl, DONE)) {
      // Sleep where allowed; a page's main thread spins (its share is done).
      if (this.#blocking) Atomics.wait(ctrl, DONE, done);
    }
  }

  /** Stops the workers. */
  stop(): void {
    const ctrl = this.#ctrl;
    ctrl[OP] = 0;
    Atomics.add(ctrl, SEQ, 1);
    Atomics.notify(ctrl, SEQ);
    for (const w of this.#workers) w.terminate();
    this.#workers = [];
  }
}

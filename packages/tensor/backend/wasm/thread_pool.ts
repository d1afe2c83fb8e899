/**
 * Threads for the wasm backend's kernels: workers that instantiate the same
 * module on the same shared memory and, with the calling thread, take tasks
 * of each kernel call (blocks of its output) until none is left; they are
 * woken and joined through `Atomics.wait`/`notify` on a control block inside
 * that memory — no messages, no copies, so a call costs microseconds.
 *
 * The workers run a self-contained script, so the pool works wherever the
 * package is loaded from (a file, JSR, a bundle): in Deno as
 * `node:worker_threads` workers, unref'd, because a web Worker keeps Deno's
 * process alive after the program's last line; elsewhere as web Workers
 * from a `blob:` URL.
 *
 * @module
 */

/** The control block's Int32 slots. */
const SEQ = 0; // bumped once per call: what sleeping workers wait on
const DONE = 1; // workers that finished the current call
const KERNEL = 2; // 0: stop, else 1 + the kernel's index in the module's function exports
const NEXT = 3; // the next task of the call (the kernels take tasks from it)
const ARGC = 4; // how many arguments the call has
const ARGS = 5; // the call's arguments (pointers and sizes)

/** Int32 slots the control block needs. */
export const CONTROL_INTS = 32;

/**
 * The module's exported function names, in export order: both sides of the
 * control block name a kernel by its index here.
 */
function functionExports(module: WebAssembly.Module): string[] {
  return WebAssembly.Module.exports(module).filter((e) => e.kind === "function").map((e) => e.name);
}

/**
 * The worker's body: instantiates the module on the shared memory, says it
 * is ready, then runs its share of each call (any task-taking kernel, by
 * name: `kernel(...args, scratch, next, parts)`) until told to stop.
 */
const WORKER_BODY = `
const run = async ({ module, memory, control, scratch, parts }, ready) => {
  const { exports: ex } = await WebAssembly.instantiate(module, { env: { memory } });
  const kernels = WebAssembly.Module.exports(module).filter((e) => e.kind === "function").map((e) => ex[e.name]);
  const ctrl = new Int32Array(memory.buffer, control, ${CONTROL_INTS});
  ready();
  let seen = Atomics.load(ctrl, ${SEQ});
  for (;;) {
    Atomics.wait(ctrl, ${SEQ}, seen);
    seen = Atomics.load(ctrl, ${SEQ});
    const kernel = ctrl[${KERNEL}];
    if (kernel === 0) return;
    kernels[kernel - 1](...ctrl.subarray(${ARGS}, ${ARGS} + ctrl[${ARGC}]), scratch, control + ${
  4 * NEXT
}, parts);
    Atomics.add(ctrl, ${DONE}, 1);
    Atomics.notify(ctrl, ${DONE});
  }
};
`;

/** What a worker is given: the module, the memory, its control block and scratch. */
interface WorkerData {
  module: WebAssembly.Module;
  memory: WebAssembly.Memory;
  control: number;
  scratch: number;
  parts: number;
}

/** A started worker, ready for calls. */
interface Thread {
  terminate(): unknown;
}

/**
 * node:worker_threads, imported only under Deno. The specifier is assembled
 * at run time so that bundlers (and the browser-bundle check) do not take it
 * for a dependency of the page: a page takes the web Worker path.
 */
const WORKER_THREADS = { specifier: ["node", "worker_threads"].join(":") };
interface NodeWorker extends Thread {
  once(event: "message" | "error", listener: (value: unknown) => void): void;
  unref(): void;
}

/** Starts one worker with `data` and resolves when it is ready. */
async function spawn(data: WorkerData): Promise<Thread> {
  if ((globalThis as { Deno?: unknown }).Deno) {
    const { Worker } = await import(/* @vite-ignore */ WORKER_THREADS.specifier) as {
      Worker: new (code: string, options: { eval: true; workerData: WorkerData }) => NodeWorker;
    };
    const source = `${WORKER_BODY}
const { parentPort, workerData } = require("worker_threads");
run(workerData, () => parentPort.postMessage("ready"));`;
    const worker = new Worker(source, { eval: true, workerData: data });
    await new Promise((resolve, reject) => {
      worker.once("message", resolve);
      worker.once("error", reject);
    }).catch((e) => {
      worker.terminate();
      throw e;
    });
    // Sleeping in Atomics.wait, the worker must not keep the process alive.
    worker.unref();
    return worker;
  }
  const source = `${WORKER_BODY}
onmessage = ({ data }) => run(data, () => postMessage("ready"));`;
  const url = URL.createObjectURL(new Blob([source], { type: "text/javascript" }));
  const worker = new Worker(url, { type: "module" });
  try {
    await new Promise<void>((resolve, reject) => {
      worker.onmessage = () => resolve();
      worker.onerror = (e) => {
        e.preventDefault();
        reject(new Error(e.message));
      };
      worker.postMessage(data);
    });
  } catch (e) {
    worker.terminate();
    throw e;
  } finally {
    URL.revokeObjectURL(url);
  }
  return worker;
}

/** Whether this thread may block in `Atomics.wait` (a page's main thread may not). */
function canBlock(): boolean {
  try {
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 1, 0);
    return true;
  } catch {
    return false;
  }
}

/** Workers sharing one memory, each computing its part of every call. */
export class ThreadPool {
  /** Threads taking part in a call, the calling one included. */
  readonly threads: number;
  #workers: Thread[];
  #ctrl: Int32Array;
  #control: number;
  #blocking = canBlock();

  #kernels: Map<string, number>;

  private constructor(workers: Thread[], ctrl: Int32Array, control: number, kernels: string[]) {
    this.#workers = workers;
    this.#ctrl = ctrl;
    this.#control = control;
    this.#kernels = new Map(kernels.map((name, i) => [name, i + 1]));
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
    const parts = scratch.length;
    const started = await Promise.allSettled(
      scratch.slice(1).map((s) => spawn({ module, memory, control, scratch: s, parts })),
    );
    const workers = started.flatMap((r) => (r.status === "fulfilled" ? [r.value] : []));
    const failed = started.find((r): r is PromiseRejectedResult => r.status === "rejected");
    if (failed) {
      for (const w of workers) w.terminate();
      throw failed.reason;
    }
    const ctrl = new Int32Array(memory.buffer, control, CONTROL_INTS);
    return new ThreadPool(workers, ctrl, control, functionExports(module));
  }

  /**
   * Runs a kernel on every thread: each, the caller included, takes tasks
   * until none is left.
   *
   * @param kernel the task-taking export's name (`backend/wasm/kernel.h`)
   * @param args its integer arguments before `scratch, next, parts`
   * @param caller runs the caller's share, given the counter's byte offset and the thread count
   */
  run(
    kernel: string,
    args: readonly number[],
    caller: (next: number, parts: number) => void,
  ): void {
    const index = this.#kernels.get(kernel);
    if (index === undefined || ARGS + args.length > CONTROL_INTS) {
      throw new Error(
        `Cannot run wasm kernel ${kernel} on threads: no such export, or too many arguments`,
      );
    }
    const ctrl = this.#ctrl;
    ctrl.set(args, ARGS);
    ctrl[ARGC] = args.length;
    ctrl[KERNEL] = index;
    Atomics.store(ctrl, NEXT, 0);
    Atomics.store(ctrl, DONE, 0);
    Atomics.add(ctrl, SEQ, 1);
    Atomics.notify(ctrl, SEQ);
    caller(this.#control + 4 * NEXT, this.threads);
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
    ctrl[KERNEL] = 0;
    Atomics.add(ctrl, SEQ, 1);
    Atomics.notify(ctrl, SEQ);
    for (const w of this.#workers) w.terminate();
    this.#workers = [];
  }
}

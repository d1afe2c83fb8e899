/**
 * A small binding of Open MPI's C library (`libmpi.so.40`, Debian's
 * `openmpi-bin`) through Deno's FFI: init, rank and size, in-place sum
 * all-reduce, broadcast, barrier, abort and finalize.
 *
 * Three details make it work:
 * - Open MPI loads its transports as plugins that resolve symbols of libmpi
 *   itself, so libmpi must be opened with `RTLD_GLOBAL`. `Deno.dlopen` takes no
 *   flags, so libc's own `dlopen` opens it first; `Deno.dlopen` then gets the
 *   same (already global) handle.
 * - Open MPI's predefined handles (`MPI_COMM_WORLD`, `MPI_FLOAT`, `MPI_SUM`)
 *   are addresses of global structs (`&ompi_mpi_comm_world`), which libc's
 *   `dlsym` returns.
 * - Collectives are `nonblocking` FFI calls: they run on a worker thread, so
 *   the event loop (GPU reads, timers) keeps running while MPI moves data.
 *   Calls are serialized (one in flight), and each has a deadline: a rank that
 *   died or hangs makes the others abort the whole job instead of waiting
 *   forever.
 *
 * @module
 */

/** MPI_THREAD_SERIALIZED: any thread may call MPI, one at a time. */
const THREAD_SERIALIZED = 2;
/** MPI_THREAD_MULTIPLE: needed to call MPI_Abort while a collective blocks another thread. */
const THREAD_MULTIPLE = 3;
/** Open MPI's MPI_IN_PLACE is the address 1 (mpi.h: `#define MPI_IN_PLACE ((void *) 1)`). */
const IN_PLACE = Deno.UnsafePointer.create(1n);
/**
 * Elements per MPI call: larger buffers go in slices. MPI's `count` is an
 * `int`, and on the development VM one 45 MB MPI_Allreduce between two local
 * ranks took 0.7–1.4 s where 16–25 MiB slices of it took 0.12–0.13 s in all.
 */
const MAX_COUNT = 1 << 22;

/** Buffers a collective can move. */
export type MpiBuffer = Float32Array | Float64Array;

/** Options of {@link Mpi.init}. */
export interface MpiOptions {
  /** Library to open (default: `libmpi.so.40`, then `libmpi.so`; macOS: `libmpi.40.dylib`). */
  library?: string;
  /**
   * Seconds a collective may wait for the other ranks before this rank aborts
   * the job (default 300). Covers the slowest rank's work between two
   * collectives, e.g. a checkpoint or an evaluation.
   */
  timeoutSeconds?: number;
}

const LIBC_SYMBOLS = {
  dlopen: { parameters: ["buffer", "i32"], result: "pointer" },
  dlsym: { parameters: ["pointer", "buffer"], result: "pointer" },
  dlerror: { parameters: [], result: "pointer" },
} as const;

const MPI_SYMBOLS = {
  MPI_Initialized: { parameters: ["buffer"], result: "i32" },
  MPI_Init_thread: { parameters: ["pointer", "pointer", "i32", "buffer"], result: "i32" },
  MPI_Comm_rank: { parameters: ["pointer", "buffer"], result: "i32" },
  MPI_Comm_size: { parameters: ["pointer", "buffer"], result: "i32" },
  MPI_Error_string: { parameters: ["i32", "buffer", "buffer"], result: "i32" },
  MPI_Abort: { parameters: ["pointer", "i32"], result: "i32" },
  MPI_Allreduce: {
    parameters: ["pointer", "buffer", "i32", "pointer", "pointer", "pointer"],
    result: "i32",
    nonblocking: true,
  },
  MPI_Bcast: {
    parameters: ["buffer", "i32", "pointer", "i32", "pointer"],
    result: "i32",
    nonblocking: true,
  },
  MPI_Barrier: { parameters: ["pointer"], result: "i32", nonblocking: true },
  MPI_Finalize: { parameters: [], result: "i32", nonblocking: true },
} as const;

type Libc = Deno.DynamicLibrary<typeof LIBC_SYMBOLS>;
type Lib = Deno.DynamicLibrary<typeof MPI_SYMBOLS>;

function cString(s: string): Uint8Array<ArrayBuffer> {
  return new TextEncoder().encode(s + "\0");
}

function libcName(): string {
  return Deno.build.os === "darwin" ? "libSystem.B.dylib" : "libc.so.6";
}

/** RTLD_NOW | RTLD_GLOBAL for the platform's dlfcn.h. */
function globalFlags(): number {
  return Deno.build.os === "darwin" ? 0x2 | 0x8 : 0x2 | 0x100;
}

function defaultLibraries(): string[] {
  return Deno.build.os === "darwin" ? ["libmpi.40.dylib", "libmpi.dylib"] : [
    "libmpi.so.40",
    "libmpi.so",
  ];
}

/** Opens libmpi with RTLD_GLOBAL through libc; returns the dlopen handle and the name that worked. */
function openGlobal(libc: Libc, names: string[]): { handle: Deno.PointerObject; name: string } {
  const errors: string[] = [];
  for (const name of names) {
    const handle = libc.symbols.dlopen(cString(name), globalFlags());
    if (handle) return { handle, name };
    const err = libc.symbols.dlerror();
    errors.push(err ? new Deno.UnsafePointerView(err).getCString() : name);
  }
  throw new Error(
    `Cannot load Open MPI (${
      errors.join("; ")
    }): install it (Debian/Ubuntu: apt-get install -y openmpi-bin) ` +
      `and start the job with mpirun, or run without --distribute`,
  );
}

/**
 * One process's handle on MPI_COMM_WORLD. Create it once per process with
 * {@link Mpi.init}; every collective is awaited, runs on a worker thread and
 * is aborted (with the whole job) after the timeout.
 *
 * @example
 * ```ts ignore
 * // mpirun --allow-run-as-root --oversubscribe -np 2 deno run -A sum.ts
 * import { Mpi } from "@agd/distributed";
 * const mpi = Mpi.init();
 * const x = new Float32Array([mpi.rank + 1]);
 * await mpi.allreduceSum(x); // x[0] === 3 on both ranks
 * await mpi.finalize();
 * ```
 */
export class Mpi {
  /** This process's rank in MPI_COMM_WORLD. */
  readonly rank: number;
  /** Number of ranks in MPI_COMM_WORLD. */
  readonly size: number;
  /** The library that was opened. */
  readonly library: string;
  /** Thread support level MPI granted (2 = serialized, 3 = multiple). */
  readonly threadLevel: number;
  /** Seconds a collective may wait before the job is aborted. */
  readonly timeoutSeconds: number;
  readonly #lib: Lib;
  readonly #world: Deno.PointerValue;
  readonly #float: Deno.PointerValue;
  readonly #double: Deno.PointerValue;
  readonly #sum: Deno.PointerValue;
  #queue: Promise<unknown> = Promise.resolve();
  #finalized = false;
  /** Seconds spent inside MPI collectives (for overlap measurements). */
  busySeconds = 0;

  private constructor(
    lib: Lib,
    handles: Record<"world" | "float" | "double" | "sum", Deno.PointerValue>,
    info: { library: string; threadLevel: number; timeoutSeconds: number },
  ) {
    this.#lib = lib;
    this.#world = handles.world;
    this.#float = handles.float;
    this.#double = handles.double;
    this.#sum = handles.sum;
    this.library = info.library;
    this.threadLevel = info.threadLevel;
    this.timeoutSeconds = info.timeoutSeconds;
    const out = new Int32Array(1);
    this.#check("MPI_Comm_rank", lib.symbols.MPI_Comm_rank(this.#world, out));
    this.rank = out[0];
    this.#check("MPI_Comm_size", lib.symbols.MPI_Comm_size(this.#world, out));
    this.size = out[0];
  }

  /**
   * Opens Open MPI and calls MPI_Init_thread. Started by `mpirun`, the rank and
   * size come from the launcher; started alone, MPI makes a world of one.
   *
   * @param options library and timeout
   * @returns the handle on MPI_COMM_WORLD
   * @throws when libmpi cannot be loaded or is not Open MPI
   */
  static init(options: MpiOptions = {}): Mpi {
    const libc = Deno.dlopen(libcName(), LIBC_SYMBOLS);
    const { handle, name } = openGlobal(
      libc,
      options.library ? [options.library] : defaultLibraries(),
    );
    const sym = (s: string) => {
      const p = libc.symbols.dlsym(handle, cString(s));
      if (!p) {
        throw new Error(
          `Cannot use ${name}: it has no symbol ${s}, so it is not Open MPI (MPICH and others lay out handles differently)`,
        );
      }
      return p;
    };
    const handles = {
      world: sym("ompi_mpi_comm_world"),
      float: sym("ompi_mpi_float"),
      double: sym("ompi_mpi_double"),
      sum: sym("ompi_mpi_op_sum"),
    };
    // Same library, already loaded globally: this handle only adds typed symbols.
    const lib = Deno.dlopen(name, MPI_SYMBOLS);
    const flag = new Int32Array(1);
    lib.symbols.MPI_Initialized(flag);
    const provided = new Int32Array(1);
    if (!flag[0]) {
      const rc = lib.symbols.MPI_Init_thread(null, null, THREAD_MULTIPLE, provided);
      if (rc !== 0) throw new Error(`Cannot initialize MPI: MPI_Init_thread returned ${rc}`);
    } else {
      provided[0] = THREAD_MULTIPLE;
    }
    if (provided[0] < THREAD_SERIALIZED) {
      throw new Error(
        `Cannot use ${name}: it grants thread level ${
          provided[0]
        }, and collectives run on Deno's ` +
          `worker threads, which needs MPI_THREAD_SERIALIZED (2) or more`,
      );
    }
    const timeoutSeconds = options.timeoutSeconds ?? 300;
    return new Mpi(lib, handles, { library: name, threadLevel: provided[0], timeoutSeconds });
  }

  /**
   * Sums `buffer` over all ranks, in place (MPI_Allreduce, MPI_SUM, MPI_IN_PLACE).
   *
   * @param buffer float32 or float64 values; every rank passes the same length
   */
  allreduceSum(buffer: MpiBuffer): Promise<void> {
    const type = buffer instanceof Float64Array ? this.#double : this.#float;
    return this.#collective(`MPI_Allreduce of ${buffer.length} values`, async () => {
      for (let off = 0; off < buffer.length; off += MAX_COUNT) {
        const part = buffer.subarray(off, Math.min(off + MAX_COUNT, buffer.length));
        const rc = await this.#lib.symbols.MPI_Allreduce(
          IN_PLACE,
          part,
          part.length,
          type,
          this.#sum,
          this.#world,
        );
        this.#check("MPI_Allreduce", rc);
      }
    });
  }

  /**
   * Copies `buffer` from rank `root` to every rank (MPI_Bcast).
   *
   * @param buffer float32 or float64 values; every rank passes the same length
   * @param root the rank whose values everybody receives (default 0)
   */
  broadcast(buffer: MpiBuffer, root = 0): Promise<void> {
    const type = buffer instanceof Float64Array ? this.#double : this.#float;
    return this.#collective(`MPI_Bcast of ${buffer.length} values`, async () => {
      for (let off = 0; off < buffer.length; off += MAX_COUNT) {
        const part = buffer.subarray(off, Math.min(off + MAX_COUNT, buffer.length));
        const rc = await this.#lib.symbols.MPI_Bcast(part, part.length, type, root, this.#world);
        this.#check("MPI_Bcast", rc);
      }
    });
  }

  /** Waits until every rank has called it (MPI_Barrier). */
  barrier(): Promise<void> {
    return this.#collective("MPI_Barrier", async () => {
      this.#check("MPI_Barrier", await this.#lib.symbols.MPI_Barrier(this.#world));
    });
  }

  /** Ends MPI for this process (MPI_Finalize); call once, after the last collective. */
  finalize(): Promise<void> {
    if (this.#finalized) return Promise.resolve();
    this.#finalized = true;
    return this.#collective("MPI_Finalize", async () => {
      this.#check("MPI_Finalize", await this.#lib.symbols.MPI_Finalize());
    });
  }

  /**
   * Prints `message` and ends the whole job (MPI_Abort): mpirun kills every
   * rank. Files written atomically (checkpoints) stay as they were.
   *
   * @param message why, printed to stderr first
   * @param code exit code for mpirun (default 1)
   */
  abort(message: string, code = 1): never {
    console.error(message);
    this.#lib.symbols.MPI_Abort(this.#world, code);
    // MPI_Abort does not return; if it ever did, do not carry on half-connected.
    Deno.exit(code);
  }

  /** Runs `fn` after the previous collective, aborting the job if it outlives the timeout. */
  #collective(what: string, fn: () => Promise<void>): Promise<void> {
    const run = async () => {
      if (this.#finalized && what !== "MPI_Finalize") {
        throw new Error(`Cannot run ${what}: MPI was finalized`);
      }
      const start = performance.now();
      let timer: ReturnType<typeof setTimeout> | undefined;
      const deadline = new Promise<never>(() => {
        timer = setTimeout(() => {
          this.abort(
            `rank ${this.rank}: ${what} did not complete within ${this.timeoutSeconds} s: ` +
              `another rank died or hangs; aborting the job (the last checkpoint is kept)`,
          );
        }, this.timeoutSeconds * 1000);
      });
      try {
        await Promise.race([fn(), deadline]);
      } finally {
        clearTimeout(timer);
        this.busySeconds += (performance.now() - start) / 1000;
      }
    };
    const next = this.#queue.then(run, run);
    this.#queue = next.catch(() => {});
    return next;
  }

  #check(what: string, rc: number): void {
    if (rc === 0) return;
    const text = new Uint8Array(512);
    const len = new Int32Array(1);
    this.#lib.symbols.MPI_Error_string(rc, text, len);
    const reason = new TextDecoder().decode(text.subarray(0, len[0]));
    throw new Error(`${what} failed on rank ${this.rank}: ${reason || `error ${rc}`}`);
  }
}

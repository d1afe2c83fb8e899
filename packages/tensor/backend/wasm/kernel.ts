/**
 * What a family's wasm kernel (`ops/<family>/wasm.ts`, beside its C source)
 * sees of the wasm backend: the module's exports, a way to run a
 * task-taking kernel on every thread, and scratch memory for one op. Tensors
 * are byte offsets into the module's one memory.
 *
 * @module
 */
import type { Shape } from "../../shape.ts";
import type { KernelInput } from "../kernel_input.ts";

/** A tensor's place in the module's memory. */
export interface WasmStorage {
  /** Byte offset (16-byte aligned). */
  readonly ptr: number;
  /** Bytes reserved (a multiple of 16; the pool's size class). */
  readonly bytes: number;
}

/** A wasm kernel's input: a storage in the module's memory, its shape and dtype. */
export type WasmInput = KernelInput<WasmStorage>;

/** A wasm kernel's output: the byte offset to fill, and its shape. */
export interface WasmOutput {
  /** Byte offset of the output (contents undefined on entry). */
  readonly ptr: number;
  /** Shape, as the op's shape rule computed it. */
  readonly shape: Shape;
}

/** The module's exported functions, by their C names (pointers are byte offsets). */
export type WasmExports = Readonly<Record<string, (...args: number[]) => number>>;

/** The runtime services a wasm kernel uses. */
export interface WasmRuntime {
  /** The C functions of every family's source (`EXPORT(name)` in C). */
  readonly exports: WasmExports;
  /**
   * Runs a task-taking C kernel (its last parameters `scratch, next,
   * parts`, appended here; see `backend/wasm/kernel.h`): on every thread
   * when there are threads and the call is `big` enough to repay waking
   * them, else on this one.
   *
   * @param kernel the export's name
   * @param args its integer arguments before `scratch`
   * @param big whether the call is worth the threads
   */
  tasks(kernel: string, args: readonly number[], big: boolean): void;
  /** Byte offset of `bytes` of scratch memory, valid until the op returns. */
  scratch(bytes: number): number;
  /** Floats of the scratch each thread's task-taking kernel may use (`SCRATCH` in C). */
  readonly threadScratchFloats: number;
}

/**
 * The wasm kernel of an op with attributes `A`: runs its C kernels on the inputs into `out`.
 * Returning false hands a case it does not cover (broadcasting, say) to the
 * op's reference loop.
 */
export type WasmKernel<A> = (
  rt: WasmRuntime,
  inputs: WasmInput[],
  attrs: A,
  out: WasmOutput,
) => boolean | void;

/** The wasm entry of an op that has no SIMD kernel: its reference loop runs on views of the memory. */
export const REFERENCE = "reference";

/** An op's wasm entry: its kernel, or {@link REFERENCE}. */
export type WasmEntry<A> = WasmKernel<A> | typeof REFERENCE;

/**
 * Named int codes a C kernel branches on: TypeScript passes `codes[name]`,
 * the C source declares `enum <name> { <NAME>_<KEY> = <code>, … }`, checked
 * against each other by `backend/wasm/c_enums_test.ts`.
 */
export interface CEnum<K extends string> {
  /** The C enum's tag (`pool_op`). */
  readonly name: string;
  /** Key → code. */
  readonly codes: Readonly<Record<K, number>>;
}

/**
 * Declares a {@link CEnum}.
 *
 * @param name the C enum's tag
 * @param codes key → code (C enumerators: `pool_op` + `max_pool2d` → `POOL_OP_MAX_POOL2D`)
 * @returns the enum
 * @example
 * ```ts
 * import { cEnum, cEnumerators } from "./kernel.ts";
 * const OP = cEnum("pool_op", { max_pool2d: 0, avg_pool2d: 2 });
 * console.log(cEnumerators(OP).avg_pool2d); // POOL_OP_AVG_POOL2D
 * ```
 */
export function cEnum<const K extends string>(
  name: string,
  codes: Readonly<Record<K, number>>,
): CEnum<K> {
  return { name, codes };
}

/**
 * The C enumerator of each key of an enum.
 *
 * @param e the enum
 * @returns key → enumerator (`NAME_KEY`, upper case)
 */
export function cEnumerators<K extends string>(e: CEnum<K>): Record<K, string> {
  const out = {} as Record<K, string>;
  for (const k of Object.keys(e.codes) as K[]) out[k] = `${e.name}_${k}`.toUpperCase();
  return out;
}

/** What one family's C source must agree with: its enums. */
export interface CDeclarations {
  /** The C file, beside the family's `wasm.ts`. */
  readonly file: URL;
  /** Every named code table its kernels branch on. */
  readonly enums: readonly CEnum<string>[];
}

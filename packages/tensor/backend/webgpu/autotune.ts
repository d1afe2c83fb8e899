/**
 * Autotuning of the ops that have several kernel variants (matmul, the convs:
 * the {@link VariantSet}s a backend is given, `KERNEL_VARIANTS` in
 * `ops/registry.ts`): each variant is timed on the adapter and the fastest is
 * used from then on.
 *
 * Why: which variant wins depends on the adapter (a texture-cache kernel is
 * fastest on one GPU, a tiled one on another, and a software adapter differs
 * again), so it is measured rather than guessed; once per adapter per process,
 * when the first backend is created, because measuring costs seconds.
 *
 * @module
 */
import { Rng } from "../../random.ts";
import { type OutSpec, type Shape, sizeOf } from "../../shape.ts";
import type { Backend, KernelInput, OpKernels } from "../backend.ts";
import type { WebGpuImplementation } from "./adapter.ts";
import type { GpuStorage } from "./buffer_pool.ts";

/** A kernel with several implementations, and the call that measures them. */
export interface VariantSet {
  /** The op's name (what `GpuContext.variant` is asked with). */
  readonly op: string;
  /** Variant names; the first is the default. */
  readonly variants: readonly string[];
  /** Input shapes of the measuring call (random float32 data). */
  readonly shapes: readonly Shape[];
  /** Runs the measuring call once on `backend`. */
  run(backend: Backend<GpuStorage>, inputs: KernelInput<GpuStorage>[]): GpuStorage;
}

/**
 * Declares the variants of an op's kernel and the call that measures them.
 *
 * @param op the op's kernels
 * @param probe the variant names (the first is the default), the measuring
 *   call's input shapes and attributes, and its output (from the op's shape rule)
 * @returns the set
 */
export function variantSet<A>(
  op: OpKernels<A>,
  probe: { variants: readonly string[]; shapes: Shape[]; attrs: A; out: OutSpec },
): VariantSet {
  return {
    op: op.name,
    variants: probe.variants,
    shapes: probe.shapes,
    run: (backend, inputs) => backend.run(op, inputs, probe.attrs, probe.out),
  };
}

/**
 * Variants measured per adapter in this process, keyed by implementation and
 * adapter description.
 */
const TUNED = new Map<string, Promise<Record<string, string>>>();

/** The key of an adapter of `implementation` in the measured variants. */
function adapterKey(implementation: WebGpuImplementation, info: GPUAdapterInfo): string {
  return [implementation, info.vendor, info.architecture, info.device, info.description].join("|");
}

/**
 * The fastest variant of each op on this adapter: measured with `measure` the
 * first time, then the same promise for every later backend on the same
 * adapter when `share` is true (false when replacement kernels would skew the
 * measurement for other backends).
 */
export function tunedVariants(
  implementation: WebGpuImplementation,
  info: GPUAdapterInfo,
  share: boolean,
  measure: () => Promise<Record<string, string>>,
): Promise<Record<string, string>> {
  const key = adapterKey(implementation, info);
  let tuned = TUNED.get(key);
  if (!tuned) {
    tuned = measure();
    if (share) {
      TUNED.set(key, tuned);
      tuned.catch(() => TUNED.delete(key));
    }
  }
  return tuned;
}

/**
 * Times every variant of each op of `sets` on `backend` and keeps the fastest.
 *
 * @param sets the ops with variants
 * @param backend the backend to time on; its kernels read the variant to use
 *   from `variants`
 * @param variants the backend's own variant choices, set here to each variant
 *   in turn while it is timed
 * @param lost whether the device is lost (a failure then is not the variant's)
 * @returns the fastest variant by op; an op whose variants all fail is left out
 */
export async function measureVariants(
  sets: readonly VariantSet[],
  backend: Backend<GpuStorage>,
  variants: Record<string, string>,
  lost: () => boolean,
): Promise<Record<string, string>> {
  const chosen: Record<string, string> = {};
  const rng = new Rng(0);
  for (const set of sets) {
    const inputs = set.shapes.map((shape) => ({
      storage: backend.upload(rng.normals(sizeOf(shape))),
      shape,
      dtype: "float32" as const,
    }));
    /** Milliseconds per call, over `calls` calls and one read. */
    const perCall = async (calls: number): Promise<number> => {
      const start = performance.now();
      let out: GpuStorage | undefined;
      for (let i = 0; i < calls; i++) {
        if (out) backend.release(out);
        out = set.run(backend, inputs);
      }
      await backend.read(out!, "float32", 1);
      backend.release(out!);
      return (performance.now() - start) / calls;
    };
    let best = Infinity;
    for (const name of set.variants) {
      variants[set.op] = name;
      let ms: number;
      try {
        await perCall(1); // compile and warm up
        // Batch quick kernels until the batch takes 20 ms, so that the
        // read's latency does not dominate.
        let calls = 1;
        ms = await perCall(calls);
        while (ms * calls < 20 && calls < 256) {
          calls *= 4;
          ms = Math.min(ms, await perCall(calls));
        }
      } catch (e) {
        if (lost()) throw e;
        continue; // a variant this adapter cannot run is never chosen
      }
      if (ms < best) {
        best = ms;
        chosen[set.op] = name;
      }
    }
    for (const i of inputs) backend.release(i.storage);
  }
  return chosen;
}

/**
 * The variant in use for each op of `sets`: the chosen one, else the first
 * (the default).
 */
export function variantsInUse(
  sets: readonly VariantSet[],
  chosen: Record<string, string>,
): Record<string, string> {
  const out: Record<string, string> = {};
  for (const set of sets) out[set.op] = chosen[set.op] ?? set.variants[0];
  return out;
}

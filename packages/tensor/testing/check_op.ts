/**
 * `checkOp`: one line per op to test its gradient against central finite
 * differences on the CPU reference, and its forward and gradients against
 * the CPU reference on each fast backend — wasm and each WebGPU
 * implementation (see {@link FAST_DEVICES}; ignored where an implementation
 * has no adapter).
 *
 * @module
 */
import type { Backend } from "../backend/backend.ts";
import { backward } from "../autograd/backward.ts";
import { cpu } from "../device.ts";
import { tensor } from "../ops/create.ts";
import { mul } from "../ops/elementwise/elementwise.ts";
import { sum } from "../ops/reduce/reduce.ts";
import { Rng } from "../random.ts";
import { type Shape, sizeOf } from "../shape.ts";
import { noGrad, type Tensor, tidy } from "../tensor.ts";
import { assertClose, type Tolerance } from "./assert.ts";
import { FAST_DEVICES } from "./devices.ts";

/** An op under test, as a function of its tensor inputs. */
export type OpFn = (...inputs: Tensor[]) => Tensor;

/** How to make and check one input. */
export interface InputSpec {
  /** Shape of the input. */
  shape: Shape;
  /** Fixed data (default: random normal). */
  data?: Float32Array | Int32Array;
  /** Whether to check its gradient (default: true for float32). */
  grad?: boolean;
}

/** Options of {@link checkOp}. */
export interface CheckOptions {
  /** Finite-difference step (default 1e-3). */
  eps?: number;
  /** Tolerance of gradients vs finite differences (default atol 1e-2, rtol 1e-2). */
  fd?: Tolerance;
  /** Tolerance of a fast backend (wasm, WebGPU) vs CPU (default atol 1e-4, rtol 1e-4). */
  gpu?: Tolerance;
  /** Seed of the random inputs. */
  seed?: number;
  /** Skip the finite-difference check (ops with no gradient). */
  noGrad?: boolean;
}

function makeInputs(specs: (Shape | InputSpec)[], seed: number): InputSpec[] {
  const rng = new Rng(seed);
  return specs.map((s) => {
    const spec: InputSpec = Array.isArray(s) ? { shape: s as Shape } : s as InputSpec;
    return { ...spec, data: spec.data ?? rng.normals(sizeOf(spec.shape)) };
  });
}

/** Output and input gradients of `sum(fn(inputs) · r)` on one backend. */
export async function evaluate(
  fn: OpFn,
  specs: InputSpec[],
  backend: Backend,
  seed = 1,
): Promise<{ out: Float32Array | Int32Array; grads: (Float32Array | null)[] }> {
  const inputs = specs.map((s) =>
    tensor(s.data!, {
      shape: s.shape,
      backend,
      requiresGrad: s.grad ?? s.data instanceof Float32Array,
    })
  );
  try {
    const [out, hasGrad] = tidy(() => {
      const y = fn(...inputs);
      if (!y.requiresGrad || y.dtype !== "float32") return [y, false] as const;
      const r = tensor(new Rng(seed + 7).normals(y.size), { shape: y.shape, backend });
      backward(sum(mul(y, r)));
      return [y, true] as const;
    });
    const result = {
      out: await out.data(),
      grads: await Promise.all(
        inputs.map((t) => (hasGrad && t.grad ? t.grad.data() as Promise<Float32Array> : null)),
      ),
    };
    out.dispose();
    return result;
  } finally {
    for (const t of inputs) {
      t.grad?.dispose();
      t.dispose();
    }
  }
}

/** Central finite differences of `sum(fn(inputs) · r)` w.r.t. input `index` on the CPU. */
export async function finiteDifferences(
  fn: OpFn,
  specs: InputSpec[],
  index: number,
  eps: number,
  seed = 1,
): Promise<Float32Array> {
  const data = specs[index].data as Float32Array;
  const out = new Float32Array(data.length);
  const objective = async (): Promise<number> => {
    const inputs = specs.map((s) => tensor(s.data!, { shape: s.shape, backend: cpu() }));
    const y = noGrad(() => fn(...inputs));
    const values = await y.data();
    const r = new Rng(seed + 7).normals(y.size);
    let total = 0;
    for (let i = 0; i < values.length; i++) total += values[i] * r[i];
    y.dispose();
    inputs.forEach((t) => t.dispose());
    return total;
  };
  for (let i = 0; i < data.length; i++) {
    const keep = data[i];
    data[i] = keep + eps;
    const plus = await objective();
    data[i] = keep - eps;
    const minus = await objective();
    data[i] = keep;
    out[i] = (plus - minus) / (2 * eps);
  }
  return out;
}

/**
 * Registers tests for one op: gradients vs finite differences (CPU), and the
 * forward and gradients on each fast backend (wasm, WebGPU) vs the CPU reference.
 *
 * @param name test name
 * @param fn the op as a function of its inputs
 * @param inputs shapes (random normal data) or full specs
 * @param options tolerances and seed
 */
export function checkOp(
  name: string,
  fn: OpFn,
  inputs: (Shape | InputSpec)[],
  options: CheckOptions = {},
): void {
  const seed = options.seed ?? 42;
  const specs = makeInputs(inputs, seed);
  if (!options.noGrad) {
    Deno.test(`${name}: gradient matches finite differences (cpu)`, async () => {
      const { grads } = await evaluate(fn, specs, cpu());
      for (let i = 0; i < specs.length; i++) {
        if (!grads[i]) continue;
        const fd = await finiteDifferences(fn, specs, i, options.eps ?? 1e-3);
        assertClose(grads[i]!, fd, {
          atol: 1e-2,
          rtol: 1e-2,
          ...options.fd,
          label: `${name} ∂input${i}`,
        });
      }
    });
  }
  for (const device of FAST_DEVICES) {
    Deno.test({
      name: `${name}: matches the cpu reference (${device.name})`,
      ignore: device.ignore,
      fn: async () => {
        const ref = await evaluate(fn, specs, cpu());
        const got = await evaluate(fn, specs, await device.backend());
        const tol = { atol: 1e-4, rtol: 1e-4, ...options.gpu };
        assertClose(got.out, ref.out, { ...tol, label: `${name} output` });
        ref.grads.forEach((g, i) => {
          if (g) assertClose(got.grads[i]!, g, { ...tol, label: `${name} ∂input${i}` });
        });
      },
    });
  }
}

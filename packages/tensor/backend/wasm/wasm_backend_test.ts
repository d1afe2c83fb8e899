// The wasm backend's SIMD kernels against the CPU reference, on one thread
// and on several: shapes that are not multiples of the SIMD width or of the
// GEMM's tiles, every transpose, NaN and infinities where the reference
// defines them.
import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";
import type { OpAttrs, OpName } from "../../ops/op_name.ts";
import { Rng } from "../../random.ts";
import { type DType, type Shape, sizeOf } from "../../shape.ts";
import { assertClose } from "../../testing/assert.ts";
import { CpuBackend } from "../cpu/cpu_backend.ts";
import type { Backend } from "../backend.ts";
import { WasmBackend } from "./wasm_backend.ts";
import {
  CONV_CASES,
  type ConvCase,
  convCases,
  type HostInput,
  matmulCases,
  POOL_CASES,
  type PoolCase,
} from "../../testing/kernel_check.ts";
import { opDefinition, OPS } from "../../ops/registry.ts";

const cpu = new CpuBackend();
const rng = new Rng(7);

/** A backend as this test drives it. */
type Driven<S> = Pick<Backend<S>, "upload" | "run" | "read">;

/** Runs `op` on a backend from host arrays and reads the result back. */
async function runOn<S, P extends OpName>(
  backend: Driven<S>,
  op: P,
  inputs: HostInput[],
  attrs: OpAttrs[P],
): Promise<Float32Array> {
  const specs = inputs.map((x) => ({
    shape: x.shape,
    dtype: (x.data instanceof Int32Array ? "int32" : "float32") as DType,
  }));
  const out = opDefinition(op).shape(specs.map((s) => s.shape), specs.map((s) => s.dtype), attrs);
  const handles = inputs.map((x) => backend.upload(x.data));
  const result = backend.run(
    opDefinition(op),
    handles.map((storage, i) => ({ storage, ...specs[i] })),
    attrs,
    out,
  );
  return (await backend.read(result, "float32", sizeOf(out.shape))) as Float32Array;
}

/** Runs `op` on the reference and on `wasm`, compares, and returns the wasm result. */
async function check<P extends OpName>(
  wasm: WasmBackend,
  op: P,
  inputs: HostInput[],
  attrs: OpAttrs[P],
  tolerance = { atol: 1e-5, rtol: 1e-5 },
): Promise<Float32Array> {
  const expected = await runOn(cpu, op, inputs, attrs);
  const actual = await runOn(wasm, op, inputs, attrs);
  const label = `${op} ${JSON.stringify(inputs.map((x) => x.shape))}`;
  assertClose(actual, expected, { ...tolerance, label });
  return actual;
}

const randn = (shape: Shape): HostInput => ({ data: rng.normals(sizeOf(shape)), shape });

for (const threads of [1, 2]) {
  Deno.test(`wasm matmul matches the reference: odd shapes, every transpose (${threads} thread(s))`, async () => {
    const wasm = await WasmBackend.create({ threads });
    try {
      assertEquals(wasm.threads, threads);
      // [m, k, n]: sizes off the 6×8 tile and the SIMD width, and an empty K.
      const sizes: [number, number, number][] = [
        [1, 1, 1],
        [3, 7, 5],
        [6, 4, 8],
        [13, 19, 17],
        [128, 784, 256],
        [257, 300, 129],
        [7, 33, 600],
        [4, 0, 3],
      ];
      for (const c of matmulCases(randn, sizes)) {
        await check(wasm, c.op, c.inputs, c.attrs, { atol: 1e-4, rtol: 1e-4 });
      }
    } finally {
      wasm.destroy();
    }
  });
}

for (const threads of [1, 2]) {
  Deno.test(`wasm conv2d and its gradients match the reference (${threads} thread(s))`, async () => {
    const wasm = await WasmBackend.create({ threads });
    try {
      const cases: ConvCase[] = [...CONV_CASES, [[3, 64, 16, 16], [64, 64, 3, 3], [1, 1], [1, 1]]];
      for (const c of convCases(randn, cases)) {
        await check(wasm, c.op, c.inputs, c.attrs, { atol: 1e-4, rtol: 1e-3 });
      }
    } finally {
      wasm.destroy();
    }
  });
}

for (const threads of [1, 2]) {
  Deno.test(`wasm pools and their gradients equal the reference to the bit: ties, NaN, ±∞, planes past a thread's scratch (${threads} thread(s))`, async () => {
    const wasm = await WasmBackend.create({ threads });
    try {
      // The shared cases, then ResNet-50's stem pool and VGG's 2×2 with
      // enough floats to run on every thread, odd sizes with padding, and a
      // plane whose max-pool gradient sums do not fit the scratch.
      const cases: PoolCase[] = [
        ...POOL_CASES,
        [[2, 64, 28, 28], [3, 3], [2, 2], [1, 1]],
        [[4, 32, 16, 16], [2, 2], [2, 2], [0, 0]],
        [[3, 5, 11, 9], [3, 3], [2, 2], [1, 1]],
        [[2, 3, 7, 10], [3, 2], [1, 2], [1, 0]],
        [[1, 1, 280, 280], [3, 3], [2, 2], [1, 1]],
      ];
      for (const [shape, kernel, stride, padding] of cases) {
        const attrs = { kernel, stride, padding };
        const ties: HostInput = { data: new Float32Array(sizeOf(shape)), shape };
        ties.data.forEach((_, i) => (ties.data[i] = rng.int(3)));
        const special = randn(shape);
        special.data.set([NaN, 1, Infinity, -Infinity, NaN, -Infinity, -Infinity, 0, -0, 2], 9);
        for (const x of [randn(shape), ties, special]) {
          await check(wasm, "max_pool2d", [x], attrs, { atol: 0, rtol: 0 });
          await check(wasm, "avg_pool2d", [x], attrs, { atol: 0, rtol: 0 });
          const out = OPS.max_pool2d.shape([shape], ["float32"], attrs).shape;
          const dy = randn(out);
          await check(wasm, "max_pool2d_grad", [x, dy], attrs, { atol: 0, rtol: 0 });
          await check(wasm, "avg_pool2d_grad", [dy], { ...attrs, inputHW: [shape[2], shape[3]] }, {
            atol: 0,
            rtol: 0,
          });
        }
      }
    } finally {
      wasm.destroy();
    }
  });
}

Deno.test("wasm elementwise and AGD kernels match the reference, NaN and ±∞ included", async () => {
  const wasm = await WasmBackend.create({ threads: 1 });
  const special = randn([3, 5, 7]);
  special.data.set([0, -1, -0, Infinity, -Infinity, NaN, 1e-30]);
  for (const shape of [[1], [3], [4], [5], [3, 5, 7], [128, 256]]) {
    const x = randn(shape);
    await check(wasm, "relu", [x], {});
    await check(wasm, "scaled_relu", [x], { scale: Math.SQRT2 });
    await check(wasm, "relu_grad", [randn(shape), x], { scale: 3 });
  }
  for (const op of ["add", "sub", "mul", "div"] as const) {
    for (const shape of [[1], [7], [4, 9], [2, 3, 5, 5]]) {
      await check(wasm, op, [randn(shape), randn(shape)], {});
    }
    await check(wasm, op, [special, randn([3, 5, 7])], {});
    // Broadcasting goes to the reference loop.
    await check(wasm, op, [randn([2, 3, 4]), randn([3, 1])], {});
  }
  await check(wasm, "relu", [special], {});
  await check(wasm, "scaled_relu", [special], { scale: 2 });
  await check(wasm, "relu_grad", [special, randn([3, 5, 7])], { scale: 1 });
  await check(wasm, "relu_grad", [randn([3, 5, 7]), special], { scale: 1 });
  // AGD: terms of a 2-D and a 4-D gradient, η, and the update of each.
  const g2 = randn([33, 17]);
  const g4 = randn([5, 3, 3, 3]);
  const terms = await check(wasm, "agd_terms", [g2, g4], { weights: [0.5, 2] }, {
    atol: 1e-5,
    rtol: 1e-5,
  });
  assertEquals(terms.length, 1 + 9);
  const eta = { data: new Float32Array([0.25]), shape: [] as number[] };
  const t = { data: terms, shape: [terms.length] };
  await check(wasm, "agd_update", [randn([33, 17]), g2, t, eta], { offset: 0, mul: 0.7 });
  await check(wasm, "agd_update", [randn([5, 3, 3, 3]), g4, t, eta], { offset: 1, mul: 0.7 });
  // A zero term makes the factor infinite: nan_to_num caps it, as the reference does.
  const zero = { data: new Float32Array([0]), shape: [1] };
  await check(
    wasm,
    "agd_update",
    [randn([4, 4]), randn([4, 4]), zero, eta],
    { offset: 0, mul: 1 },
    {
      atol: 1e33,
      rtol: 1e-6,
    },
  );
  wasm.destroy();
});

Deno.test("wasm memory: released ranges are reused, so a repeated workload allocates nothing new", async () => {
  const wasm = await WasmBackend.create({ threads: 1 });
  const step = () => {
    const a = wasm.upload(rng.normals(64 * 64));
    const c = wasm.run(
      OPS.matmul,
      [
        { storage: a, shape: [64, 64], dtype: "float32" },
        { storage: a, shape: [64, 64], dtype: "float32" },
      ],
      { transA: false, transB: true },
      { shape: [64, 64], dtype: "float32" },
    );
    const d = wasm.run(OPS.exp, [{ storage: c, shape: [64, 64], dtype: "float32" }], {}, {
      shape: [64, 64],
      dtype: "float32",
    });
    for (const s of [a, c, d]) wasm.release(s);
  };
  step();
  const after = wasm.memory().allocations;
  for (let i = 0; i < 10; i++) step();
  assertEquals(wasm.memory().allocations, after);
  assertEquals(wasm.memory().bytesInUse, 0);
  assert(wasm.memory().bytesPooled > 0);
  wasm.destroy();
});

Deno.test("a program that used the threaded wasm backend exits at its end (its workers do not hold it)", async () => {
  const module = new URL("./wasm_backend.ts", import.meta.url).href;
  const registry = new URL("../../ops/registry.ts", import.meta.url).href;
  const program = `
    const { WasmBackend } = await import(${JSON.stringify(module)});
    const { OPS } = await import(${JSON.stringify(registry)});
    const wasm = await WasmBackend.create({ threads: 2 });
    const a = wasm.upload(new Float32Array(256 * 256).fill(1));
    const spec = { storage: a, shape: [256, 256], dtype: "float32" };
    const c = wasm.run(OPS.matmul, [spec, spec], { transA: false, transB: false }, { shape: [256, 256], dtype: "float32" });
    console.log(wasm.threads, (await wasm.read(c, "float32", 1))[0]);
  `;
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["eval", program],
    stdout: "piped",
    stderr: "piped",
    // Generous: a hang is the failure, not a slow start.
    signal: AbortSignal.timeout(120_000),
  }).output();
  const text = new TextDecoder().decode(out.stdout).trim();
  assert(
    out.success,
    `exit ${out.code} ${out.signal ?? ""}: ${new TextDecoder().decode(out.stderr)}`,
  );
  assertEquals(text, "2 256");
});

Deno.test("wasm affine and batch norm match the reference: sizes off the SIMD width, 2-D and 4-D, a constant channel", async () => {
  const wasm = await WasmBackend.create({ threads: 1 });
  try {
    for (const n of [1, 3, 4, 5, 1023]) {
      const x = randn([n]);
      x.data[0] = NaN;
      if (n > 2) x.data[2] = -Infinity;
      // Double arithmetic rounded once, as the reference: the same bits.
      const actual = await runOn(wasm, "affine", [x], { mul: 0.3, add: -1.7 });
      assertEquals(actual, await runOn(cpu, "affine", [x], { mul: 0.3, add: -1.7 }));
    }
    for (const shape of [[5, 3], [2, 3, 5, 7], [3, 4, 4, 4], [1, 2, 1, 9], [4, 16, 8, 8]]) {
      const x = randn(shape);
      // Channel 1 constant: variance 0, so eps alone keeps the division finite.
      const [n, c] = shape;
      const s = sizeOf(shape.slice(2));
      for (let b = 0; b < n; b++) x.data.fill(0.25, (b * c + 1) * s, (b * c + 2) * s);
      const dy = randn(shape);
      const tol = { atol: 1e-6, rtol: 1e-5 };
      const stats = await check(wasm, "bn_stats", [x], {}, tol);
      const st = { data: stats, shape: [2, c] };
      await check(wasm, "batch_norm", [x, st], { eps: 1e-5 }, tol);
      await check(wasm, "batch_norm_grad", [dy, x, st], { eps: 1e-5 }, { atol: 1e-5, rtol: 1e-4 });
    }
  } finally {
    wasm.destroy();
  }
});

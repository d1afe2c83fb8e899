// The bench's code paths on tiny sizes. No timing is asserted: only that each
// path runs and that every framework computes the same AGD step.
import {
  deepStrictEqual as assertEquals,
  match as assertMatch,
  ok as assert,
} from "node:assert/strict";
import { hasWebGPU } from "@agd/tensor";
import { assertClose } from "@agd/tensor/testing/assert";
import { fcnProblem } from "./fcn_problem.ts";
import { jaxFcnStep, startJax } from "./peer_jax.ts";
import { startTfjs, tfjsFcnStep } from "./peer_tfjs.ts";
import { isReferenceBlas } from "./peers.ts";
import { benchTorch } from "./peer_torch.ts";
import { KernelBench } from "./kernels.ts";
import { type BenchReport, slugify, targets, toMarkdown } from "./report.ts";
import { timeRepeated } from "./timing.ts";
import { benchGains, GAIN_CASES } from "./gains.ts";
import { benchTrainStep } from "./training.ts";
import { benchImplementations } from "./implementations.ts";

const gpu = await hasWebGPU();

/** `actual` within `rtol` (relative) of `expected`. */
function assertNear(actual: number, expected: number, rtol: number): void {
  assertClose([actual], [expected], { rtol, atol: 0 });
}
const tiny = { depth: 3, width: 16, dataset: "mnist", batch: 8 };

Deno.test("timeRepeated counts warm-up apart and honours a fixed count", async () => {
  let issued = 0;
  let waits = 0;
  const t = await timeRepeated(() => void issued++, () => Promise.resolve(void waits++), {
    warmup: 2,
    count: 3,
  });
  assertEquals([t.count, issued, waits], [3, 5, 2]);
});

Deno.test("timeRepeated keeps the probe when one unit fills the time asked for", async () => {
  let issued = 0;
  const t = await timeRepeated(() => void issued++, () => Promise.resolve(), {
    seconds: 1e-9,
    minCount: 1,
  });
  assertEquals([t.count, issued], [1, 2]);
});

Deno.test("timeRepeated waits for an issue that returns a promise", async () => {
  let done = 0;
  const t = await timeRepeated(
    () => new Promise<void>((resolve) => setTimeout(() => resolve(void done++), 1)),
    () => Promise.resolve(),
    { warmup: 1, count: 3 },
  );
  assertEquals([t.count, done], [3, 4]);
  assert(t.encodeMs >= 1);
});

Deno.test({
  name: "every row of the gains table runs the same step, one choice undone",
  ignore: !gpu,
  fn: async () => {
    const step = { name: "tiny", arch: "fcn", ...tiny };
    const rows = await benchGains({ step, rounds: 1, timing: { count: 2 } });
    assertEquals(rows.map((r) => r.name), GAIN_CASES.map((c) => c.name));
    assertEquals(rows[0].timeRatio, 1);
    for (const r of rows) assertNear(r.eta, rows[0].eta, 1e-5);
    const unfused = rows.find((r) => r.name.startsWith("AGD as elementwise"))!;
    assert(unfused.dispatches! > rows[0].dispatches!, "unfused AGD takes more dispatches");
  },
});

Deno.test({
  name: "the training-step timer runs a tiny fcn and reports memory",
  ignore: !gpu,
  fn: async () => {
    const r = await benchTrainStep({ name: "tiny", arch: "fcn", ...tiny }, { count: 2 });
    assertEquals(r.steps, 2);
    assert(r.samplesPerSec > 0 && r.encodeMs > 0);
    assert(r.peakBytes >= r.weightBytes && r.weightBytes === 4 * (16 * 784 + 16 * 16 + 10 * 16));
    assert(Number.isFinite(r.eta) && r.eta > 0);
  },
});

Deno.test({
  name: "Deno's WebGPU and Dawn take the same step on one driver, each in its own process",
  ignore: !gpu || !(await hasWebGPU({ implementation: "dawn" })),
  fn: async () => {
    const step = { name: "tiny", arch: "fcn", ...tiny, timing: { count: 2 } };
    const r = await benchImplementations({ cases: [step], rounds: 1 });
    const [row] = r.rows;
    assertEquals(row.failures, {});
    const { deno, dawn } = row.results;
    assert(deno && dawn && deno.samplesPerSec > 0 && dawn.samplesPerSec > 0);
    // Each implementation names an adapter its own way; software or not, they agree.
    assertEquals(deno.software, dawn.software, `${deno.adapter} / ${dawn.adapter}`);
    if (deno.software) assertMatch(r.driver, /^SwiftShader|VK_/);
    assertNear(dawn.eta, deno.eta, 1e-5);
    assertNear(row.dawnOverDeno!, dawn.samplesPerSec / deno.samplesPerSec, 1e-12);
  },
});

Deno.test({
  name: "kernel bench times a matmul and a conv with their gradients",
  ignore: !gpu,
  fn: async () => {
    const bench = new KernelBench({ count: 1 });
    await bench.square(32);
    await bench.conv({ name: "tiny", x: [1, 2, 6, 6], w: [3, 2, 3, 3], stride: 1, padding: 1 });
    assertEquals(bench.results.map((r) => r.op), [
      "matmul",
      "conv2d",
      "conv2d_grad_input",
      "conv2d_grad_weight",
    ]);
    assertEquals(bench.results[1].flops, 2 * 3 * 36 * 2 * 9);
  },
});

Deno.test({
  name: "ours, TF.js (WASM) and PyTorch take the same first AGD step",
  ignore: !gpu,
  // TF.js's WASM module and the subprocess keep handles the sanitizers would flag.
  sanitizeOps: false,
  sanitizeResources: false,
  fn: async () => {
    const problem = await fcnProblem(tiny);
    const ours = await benchTrainStep({ name: "tiny", arch: "fcn", ...tiny }, { count: 1 });
    assertEquals(await startTfjs("wasm"), undefined);
    const tfjs = await tfjsFcnStep(problem, { count: 1 });
    assertNear(tfjs.eta, ours.eta, 1e-4);
    const torch = await benchTorch(problem, { matmulSizes: [16], seconds: 0.01 });
    if (torch.ok) assertNear(torch.result.fcn.eta, ours.eta, 1e-4);
    else console.log(`PyTorch peer unavailable: ${torch.reason}`);
  },
});

Deno.test({
  name: "jax-js takes the same first AGD step on each device and holds no more after 100 steps",
  ignore: !gpu,
  // jax-js's WASM worker pool and its GPUDevice outlive the test.
  sanitizeOps: false,
  sanitizeResources: false,
  fn: async () => {
    const problem = await fcnProblem(tiny);
    const ours = await benchTrainStep({ name: "tiny", arch: "fcn", ...tiny }, { count: 1 });
    for (const device of ["wasm", "webgpu"] as const) {
      assertEquals(await startJax(device), undefined);
      const jax = await jaxFcnStep(problem, device, { count: 1, leakSteps: 50 });
      assertNear(jax.eta, ours.eta, 1e-4);
      // The allocator's and the pool's high-water mark has settled: nothing leaks per step.
      const [, after50, after100] = jax.heldBytes!;
      assertEquals(after100, after50, `${device}: ${jax.heldBytes}`);
    }
  },
});

Deno.test("a PyTorch on Debian's reference BLAS is told apart from a tuned one", () => {
  assert(isReferenceBlas("/usr/lib/x86_64-linux-gnu/blas/libblas.so.3.11.0"));
  assert(!isReferenceBlas("/usr/lib/x86_64-linux-gnu/openblas-pthread/libblas.so.3"));
  assert(!isReferenceBlas("not found"));
});

Deno.test("the report renders targets, ratios and unavailable peers", () => {
  const report: BenchReport = {
    info: {
      machine: "CPU, 2 cores, 24 GiB",
      adapter: "llvmpipe (LLVM 15.0.6, 256 bits)",
      adapterSlug: slugify("llvmpipe (LLVM 15.0.6, 256 bits)"),
      date: "2026-01-01T00:00:00.000Z",
      commit: "abc1234",
      runtime: "Deno",
      load: [1, 2],
      seconds: 60,
      quick: true,
      variants: { matmul: "texture" },
    },
    kernels: [{ name: "matmul 1024³", op: "matmul", flops: 2 * 1024 ** 3, ms: 50, gflops: 42.9 }],
    training: [],
    peers: {
      problem: "fcn d8 w256 mnist b128",
      matmulSize: 1024,
      rounds: 1,
      rows: [
        { framework: "ours", backend: "webgpu", stepSamplesPerSec: 2400, stepMs: 53 },
        {
          framework: "TF.js 4.22.0",
          backend: "webgpu",
          stepSamplesPerSec: 120,
          stepMs: 1060,
          stepTimeRatio: 0.05,
        },
        { framework: "jax-js 0.1.25", backend: "wasm, jit", unavailable: "no wasm" },
        { framework: "PyTorch", backend: "cpu", unavailable: "No module named 'torch'" },
      ],
    },
    data: [],
    errors: [],
  };
  assertEquals(report.info.adapterSlug, "llvmpipe-llvm-15-0-6-256-bits");
  assertEquals(targets(report).map((t) => t.met), [true, true, true]);
  const md = toMarkdown(report);
  assertMatch(md, /0\.050 \(ours 20\.0× faster\)/);
  assertMatch(md, /unavailable: No module named 'torch'/);
  assertMatch(md, /\| jax-js 0\.1\.25 \| wasm, jit \| unavailable: no wasm/);
  // A reference-BLAS PyTorch is shown with its caveat and does not meet the target.
  report.peers!.rows[3] = {
    framework: "PyTorch 1.13.0",
    backend: "cpu (reference BLAS)",
    stepSamplesPerSec: 1000,
    stepMs: 128,
    stepTimeRatio: 0.41,
    caveat: "reference BLAS",
  };
  assertEquals(targets(report).at(-1)!.met, false);
  assertMatch(
    toMarkdown(report),
    /0\.410 \(ours 2\.4× faster\) †[^]*† PyTorch 1\.13\.0: reference BLAS\./,
  );
});

Deno.test("the report renders the ResNet-50 comparison with PyTorch, or why it is missing", () => {
  const info = {
    machine: "CPU, 16 cores, 128 GiB",
    adapter: "NVIDIA H200",
    adapterSlug: "nvidia-h200",
    date: "2026-01-01T00:00:00.000Z",
    commit: "abc1234",
    runtime: "Deno",
    load: [1, 2] as [number, number],
    seconds: 60,
    quick: false,
    variants: { matmul: "tiled" },
  };
  const ours = { samplesPerSec: 300, wallMs: 213, peakBytes: 2 ** 30 };
  const torch = {
    torch: "2.11.0",
    device: "NVIDIA H200",
    batch: 64,
    steps: 10,
    ms: 160,
    samples_per_s: 400,
    eta: 1.2,
    peak_bytes: 2 ** 33,
  };
  const report: BenchReport = {
    info,
    kernels: [],
    training: [],
    data: [],
    errors: [],
    resnetPeer: { batch: 64, ours, torch: { ok: true, result: torch } },
  };
  assertEquals(targets(report), [{
    target: "ResNet-50 step ≥ 50% of PyTorch fp32 eager (same GPU)",
    value: "75% (batch 64, NVIDIA H200)",
    met: true,
  }]);
  assertMatch(
    toMarkdown(report),
    /\| PyTorch 2\.11\.0 \(NVIDIA H200\) \| 400\.0 \| 160\.0 \| 8,192\.0 \| 0\.75× \|/,
  );
  report.resnetPeer!.torch = { ok: false, reason: "Torch not compiled with CUDA enabled" };
  assertEquals(targets(report), []);
  assertMatch(toMarkdown(report), /unavailable \| – \| – \| Torch not compiled with CUDA enabled/);
});

Deno.test({
  name: "the GPU bench bundles into one file that needs no package cache",
  ignore: Deno.build.os !== "linux",
  fn: async () => {
    const out = await Deno.makeTempFile({ suffix: ".js" });
    try {
      const entry = new URL("./gpu.ts", import.meta.url).pathname;
      const bundled = await new Deno.Command(Deno.execPath(), {
        args: ["bundle", "--quiet", "--platform", "deno", entry, "-o", out],
        stdout: "null",
        stderr: "piped",
      }).output();
      assert(bundled.success, new TextDecoder().decode(bundled.stderr));
      const text = await Deno.readTextFile(out);
      // No import is left to resolve where nothing can be fetched.
      assert(!/\bfrom\s+["'](npm|jsr|https?):/.test(text), "the bundle imports a package");
      assertMatch(text, /fn main_tex/);
    } finally {
      await Deno.remove(out);
    }
  },
});

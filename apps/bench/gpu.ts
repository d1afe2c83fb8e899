/**
 * The bench for a machine with a real GPU, in one offline run: the peers (ours
 * and TF.js WebGPU on the same adapter, PyTorch's CPU build), the gains table,
 * training steps at the batch sizes a GPU user picks, the kernels, and our
 * ResNet-50 step beside PyTorch fp32 eager's on the same GPU. It imports no
 * package that reads files at run time (no loaders, no ONNX Runtime), so
 * `deno bundle` turns it into one file that runs where nothing can be
 * fetched; apps/bench/device/ prepares and runs it (see the README).
 *
 * ```sh
 * deno run -A apps/bench/gpu.ts [--quick] [--out DIR] [--python python3] [--resnet-batch 64]
 * ```
 *
 * @module
 */
import { parseArgs } from "node:util";
import { benchBackend } from "./backend.ts";
import { benchGains } from "./gains.ts";
import { KernelBench } from "./kernels.ts";
import { benchTorchResnet } from "./peer_torch.ts";
import { benchPeers } from "./peers.ts";
import { plan, type PlannedStep } from "./plan.ts";
import { type BenchReport, finishReport, newReport, sectionRunner, toMarkdown } from "./report.ts";
import { benchTrainStep } from "./training.ts";

/** Options of {@link runGpuBench}. */
export interface GpuBenchOptions {
  /** A short run (a minute or two): fewer kernels, fewer steps. */
  quick?: boolean;
  /** Interpreter whose torch sees the GPU (default `python3`). */
  python?: string;
  /** Batch of both ResNet-50 steps (default 64). */
  resnetBatch?: number;
  /** Progress lines (default console.log). */
  log?: (message: string) => void;
}

/** Training steps at GPU batch sizes: the paper's 128 for the FCNs and CIFAR nets. */
function gpuTraining(quick: boolean, resnetBatch: number): PlannedStep[] {
  const timing = { seconds: quick ? 0.5 : 2 };
  const step = (
    name: string,
    arch: string,
    dataset: string,
    size: { depth?: number; width?: number } = {},
  ): PlannedStep => ({
    name,
    arch,
    dataset,
    batch: arch === "resnet50" ? resnetBatch : 128,
    ...size,
    // AGD's init is host QRs, minutes for the big layers; the timing does not depend on values.
    agdInit: arch === "fcn" && (size.width ?? 0) <= 256,
    loss: dataset === "imagenet" ? "xent" : "mse",
    timing,
  });
  return [
    step("fcn d8 w256 mnist", "fcn", "mnist", { depth: 8, width: 256 }),
    step("fcn d4 w2048 cifar10", "fcn", "cifar10", { depth: 4, width: 2048 }),
    step("vgg16 cifar10 32²", "vgg16", "cifar10"),
    step("resnet18 cifar10 32²", "resnet18", "cifar10"),
    step("resnet50 imagenet 224²", "resnet50", "imagenet"),
  ];
}

/**
 * Runs the GPU bench and returns its report.
 *
 * @param options quick, python, ResNet-50 batch, log
 * @returns the report (the same shape `deno task bench` writes)
 * @example
 * ```ts ignore
 * import { runGpuBench } from "./gpu.ts";
 * const report = await runGpuBench({ quick: true });
 * console.log(report.resnetPeer?.ours.samplesPerSec);
 * ```
 */
export async function runGpuBench(options: GpuBenchOptions = {}): Promise<BenchReport> {
  const quick = options.quick ?? false;
  const log = options.log ?? console.log;
  const resnetBatch = options.resnetBatch ?? 64;
  const started = performance.now();
  const backend = await benchBackend();
  const report = await newReport(backend, quick);
  log(`${report.info.machine}; adapter ${report.info.adapter}; ${report.info.commit}`);
  const p = plan(quick);
  const section = sectionRunner(report, log);
  // The PyTorch CPU peer uses the machine's python3 too: a GPU machine's has torch.
  await section("peers", async () => {
    report.peers = await benchPeers({ ...p.peers, python: options.python ?? "python3", log });
  });
  await section("gains", async () => {
    report.gains = await benchGains({ ...p.gains, log });
  });
  const training = gpuTraining(quick, resnetBatch);
  await section("training", async () => {
    for (const c of training) {
      const r = await benchTrainStep(c, c.timing);
      report.training.push(r);
      log(`${r.name} b${r.batch}: ${r.samplesPerSec.toFixed(1)} samples/s`);
    }
  });
  await section("resnet50 vs PyTorch", async () => {
    const ours = report.training.find((r) => r.name.startsWith("resnet50"));
    if (!ours) throw new Error("no ResNet-50 training row to compare (see the training error)");
    const torch = await benchTorchResnet({
      python: options.python,
      batch: resnetBatch,
      steps: quick ? 3 : 10,
    });
    report.resnetPeer = {
      batch: resnetBatch,
      ours: { samplesPerSec: ours.samplesPerSec, wallMs: ours.wallMs, peakBytes: ours.peakBytes },
      torch,
    };
    log(`PyTorch resnet50: ${torch.ok ? torch.result.samples_per_s.toFixed(1) : torch.reason}`);
  });
  await section("kernels", async () => {
    const bench = new KernelBench(p.kernelTiming, (r) => log(`${r.name}: ${r.gflops.toFixed(1)}`));
    for (const s of p.squares) await bench.square(s);
    for (const l of p.linears) await bench.linear(l);
    for (const c of p.convs) await bench.conv(c);
    report.kernels = bench.results;
  });
  return finishReport(report, started);
}

if (import.meta.main) {
  const { values } = parseArgs({
    args: Deno.args,
    options: {
      quick: { type: "boolean", default: false },
      out: { type: "string", default: "." },
      python: { type: "string" },
      "resnet-batch": { type: "string" },
    },
  });
  const resnetBatch = values["resnet-batch"] ? Number(values["resnet-batch"]) : undefined;
  if (resnetBatch !== undefined && !(Number.isInteger(resnetBatch) && resnetBatch > 0)) {
    console.error(`Cannot use --resnet-batch ${values["resnet-batch"]}: give a positive integer`);
    Deno.exit(2);
  }
  const report = await runGpuBench({ quick: values.quick, python: values.python, resnetBatch });
  const markdown = toMarkdown(report);
  console.log("\n" + markdown);
  const name = report.info.adapterSlug + (values.quick ? "-quick" : "");
  await Deno.mkdir(values.out, { recursive: true });
  await Deno.writeTextFile(`${values.out}/${name}.json`, JSON.stringify(report, null, 2) + "\n");
  await Deno.writeTextFile(`${values.out}/${name}.md`, markdown + "\n");
  console.log(`wrote ${values.out}/${name}.json and .md`);
  // TF.js keeps handles open; the run is over.
  Deno.exit(0);
}

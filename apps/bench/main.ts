/**
 * `deno task bench`: how fast we are on this machine. Kernel GFLOP/s,
 * training-step samples/s with CPU encode time and peak GPU memory, loader
 * images/s, ONNX Runtime latency, and the same matmul and FCN step in
 * TensorFlow.js (WebGPU and WASM), jax-js (WebGPU and WASM) and PyTorch
 * (CPU) beside ours, and the same training step on Deno's WebGPU and on Dawn. Prints
 * Markdown tables and writes the run as JSON to
 * `apps/bench/results/<adapter>.json` (`<adapter>-quick.json` for `--quick`).
 *
 * ```sh
 * deno task bench [--quick] [--only peers,resnet18,gains,implementations,training,kernels,data,onnx,distributed]
 *   [--webgpu deno|dawn] [--no-jax] [--out FILE] [--readme]
 * ```
 *
 * @module
 */
import { parseArgs } from "node:util";
import { WEBGPU_IMPLEMENTATIONS, type WebGpuImplementation } from "@agd/tensor";
import { benchOnnx } from "@agd/onnx-export/bench";
import { benchData } from "./data.ts";
import { benchBackend, chooseImplementation } from "./backend.ts";
import { benchGains } from "./gains.ts";
import { benchImplementations } from "./implementations.ts";
import { benchResnet18 } from "./resnet_peer.ts";
import { KernelBench } from "./kernels.ts";
import { benchPeers } from "./peers.ts";
import { type BenchReport, finishReport, newReport, sectionRunner, toMarkdown } from "./report.ts";
import { benchTrainStep } from "./training.ts";
import { plan } from "./plan.ts";

// The report's types, so that a reader of the JSON (or of runBench) can name them.
export type { BenchReport, ResnetPeerReport, RunInfo } from "./report.ts";
export type { DataResult } from "./data.ts";
export type { GainRow } from "./gains.ts";
export type {
  ImplementationResult,
  ImplementationRow,
  ImplementationsReport,
} from "./implementations_report.ts";
export type { KernelResult } from "./kernels.ts";
export type { JaxDevice } from "./peer_jax.ts";
export type { Outcome, TorchResnetResult } from "./peer_torch.ts";
export type { PeerRow, PeersReport } from "./peers.ts";
export type { JaxResnetRow, Resnet18PeerReport, ResnetRow } from "./resnet_peer.ts";
export type { TrainResult } from "./training.ts";

/** The sections of a run, in the order they run. */
export const SECTIONS = [
  "peers",
  "resnet18",
  "gains",
  "implementations",
  "training",
  "kernels",
  "data",
  "onnx",
  "distributed",
] as const;
/** A section name. */
export type Section = (typeof SECTIONS)[number];

/** Options of {@link runBench}. */
export interface RunOptions {
  /** The under-two-minutes run: fewer shapes, fewer and smaller steps, no ResNet-50. */
  quick?: boolean;
  /** Sections to run (default all). */
  only?: Section[];
  /** Interpreter with torch for the PyTorch peer (default `/usr/bin/python3`). */
  python?: string;
  /** Run the jax-js peer (default true; `--no-jax` turns it off). */
  jax?: boolean;
  /** The WebGPU implementation every section but `implementations` measures (default `deno`). */
  webgpu?: WebGpuImplementation;
  /** Progress lines (default console.log). */
  log?: (message: string) => void;
}

/**
 * Runs the chosen sections and returns the report. A section that throws is
 * recorded in `errors` and the run goes on.
 *
 * @param options quick, sections, python, log
 * @returns the report (also what the JSON file holds)
 * @example
 * ```ts ignore
 * import { runBench } from "./main.ts";
 * const report = await runBench({ quick: true, only: ["kernels"] });
 * console.log(report.kernels[0].gflops);
 * ```
 */
export async function runBench(options: RunOptions = {}): Promise<BenchReport> {
  const quick = options.quick ?? false;
  const only = new Set(options.only ?? SECTIONS);
  const log = options.log ?? console.log;
  const started = performance.now();
  chooseImplementation(options.webgpu ?? "deno");
  const backend = await benchBackend();
  const report = await newReport(backend, quick);
  log(`${report.info.machine}; adapter ${report.info.adapter}; ${report.info.commit}`);
  const p = plan(quick);
  const run = sectionRunner(report, log);
  const section = (name: Section, fn: () => Promise<void>) =>
    only.has(name) ? run(name, fn) : Promise.resolve();

  await section("peers", async () => {
    report.peers = await benchPeers({ ...p.peers, python: options.python, jax: options.jax, log });
  });
  await section("resnet18", async () => {
    report.resnet18Peer = await benchResnet18({
      ...p.resnet18,
      python: options.python,
      jaxBatch: options.jax === false ? 0 : p.resnet18.jaxBatch,
      log,
    });
  });
  await section("gains", async () => {
    report.gains = await benchGains({ ...p.gains, log });
  });
  await section("implementations", async () => {
    report.implementations = await benchImplementations({ ...p.implementations, log });
  });
  await section("training", async () => {
    for (const c of p.training) {
      const r = await benchTrainStep(c, c.timing);
      report.training.push(r);
      log(
        `${r.name} b${r.batch}: ${r.samplesPerSec.toFixed(1)} samples/s, ` +
          `${r.wallMs.toFixed(1)} ms/step wall, ${r.encodeMs.toFixed(1)} ms encode, ` +
          `peak ${(r.peakBytes / 2 ** 20).toFixed(1)} MiB`,
      );
    }
  });
  await section("kernels", async () => {
    const bench = new KernelBench(p.kernelTiming, (r) => {
      log(`${r.name}: ${r.ms.toFixed(2)} ms, ${r.gflops.toFixed(2)} GFLOP/s`);
    });
    for (const s of p.squares) await bench.square(s);
    for (const l of p.linears) await bench.linear(l);
    for (const c of p.convs) await bench.conv(c);
    report.kernels = bench.results;
  });
  await section("data", async () => {
    report.data = await benchData({ quick, log });
  });
  await section("onnx", async () => {
    report.onnx = await benchOnnx({ runs: quick ? 5 : 20 });
  });
  await section("distributed", async () => {
    // Needs Open MPI: without mpirun the section says so in `errors` and the run goes on.
    const { benchAllreduce } = await import("@agd/distributed/bench");
    report.distributed = await benchAllreduce({ steps: quick ? 2 : 3, repeats: quick ? 3 : 5 });
  });
  return finishReport(report, started);
}

const README_BEGIN = "<!-- bench:begin -->";
const README_END = "<!-- bench:end -->";

/** Replaces the text between the README's bench markers with `markdown`. */
async function updateReadme(markdown: string): Promise<string> {
  const path = decodeURIComponent(new URL("./README.md", import.meta.url).pathname);
  const text = await Deno.readTextFile(path);
  const begin = text.indexOf(README_BEGIN);
  const end = text.indexOf(README_END);
  if (begin < 0 || end < begin) {
    throw new Error(`Cannot update ${path}: it lacks the ${README_BEGIN} … ${README_END} markers`);
  }
  const next = text.slice(0, begin + README_BEGIN.length) + "\n" + markdown + text.slice(end);
  await Deno.writeTextFile(path, next);
  return path;
}

if (import.meta.main) {
  const { values } = parseArgs({
    args: Deno.args,
    options: {
      quick: { type: "boolean", default: false },
      only: { type: "string" },
      out: { type: "string" },
      python: { type: "string" },
      "no-jax": { type: "boolean", default: false },
      webgpu: { type: "string", default: "deno" },
      readme: { type: "boolean", default: false },
      help: { type: "boolean", short: "h", default: false },
    },
  });
  if (values.help) {
    console.log(
      "deno task bench [--quick] [--only " + SECTIONS.join(",") +
        "] [--webgpu deno|dawn] [--no-jax] [--out FILE] [--python PATH] [--readme]",
    );
    Deno.exit(0);
  }
  const only = values.only?.split(",").map((s) => s.trim()).filter(Boolean);
  const unknown = only?.filter((s) => !(SECTIONS as readonly string[]).includes(s));
  if (unknown?.length) {
    console.error(`Cannot run --only ${unknown.join(",")}: choose from ${SECTIONS.join(", ")}`);
    Deno.exit(2);
  }
  const webgpu = values.webgpu as WebGpuImplementation;
  if (!WEBGPU_IMPLEMENTATIONS.includes(webgpu)) {
    console.error(
      `Cannot use --webgpu ${values.webgpu}: choose ${WEBGPU_IMPLEMENTATIONS.join(" or ")}`,
    );
    Deno.exit(2);
  }
  const report = await runBench({
    quick: values.quick,
    only: only as Section[] | undefined,
    python: values.python,
    jax: !values["no-jax"],
    webgpu,
  });
  const markdown = toMarkdown(report);
  console.log("\n" + markdown);
  const name = report.info.adapterSlug + (values.quick ? "-quick" : "");
  const out = values.out ??
    decodeURIComponent(new URL(`./results/${name}.json`, import.meta.url).pathname);
  if (!values.out) await Deno.mkdir(new URL("./results/", import.meta.url), { recursive: true });
  await Deno.writeTextFile(out, JSON.stringify(report, null, 2) + "\n");
  console.log(`wrote ${out}`);
  if (values.readme) console.log(`updated ${await updateReadme(markdown)}`);
  // TF.js and the ONNX runtime keep handles open; the run is over.
  Deno.exit(report.errors.length ? 1 : 0);
}

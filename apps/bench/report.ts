/**
 * What a bench run records about where it ran (machine, adapter, date,
 * commit, load), and the run as Markdown tables for the terminal and the
 * README.
 *
 * @module
 */
import type { AllreduceBench } from "@agd/distributed/bench";
import type { DataResult } from "./data.ts";
import type { GainRow } from "./gains.ts";
import { mib, num, table } from "./_markdown.ts";
import { implementationsMarkdown, type ImplementationsReport } from "./implementations_report.ts";
import type { Resnet18PeerReport } from "./resnet_peer.ts";
import type { KernelResult } from "./kernels.ts";
import type { Outcome, TorchResnetResult } from "./peer_torch.ts";
import type { PeerRow, PeersReport } from "./peers.ts";
import type { TrainResult } from "./training.ts";

/** Our ResNet-50 training step beside PyTorch's on the same GPU. */
export interface ResnetPeerReport {
  /** Images per step, both sides. */
  batch: number;
  /** Our step: samples/s, wall ms per step, peak GPU bytes. */
  ours: { samplesPerSec: number; wallMs: number; peakBytes: number };
  /** PyTorch's figures, or why it did not run. */
  torch: Outcome<TorchResnetResult>;
}

/** Where and when a run happened. */
export interface RunInfo {
  /** CPU model name and core count, e.g. `AMD EPYC, 2 cores, 24 GiB`. */
  machine: string;
  /** The WebGPU adapter: description, vendor, architecture as the adapter reports them. */
  adapter: string;
  /** The adapter's description as a file-name slug (names the results file). */
  adapterSlug: string;
  /** ISO date of the start. */
  date: string;
  /** `git describe`-like short commit, `+dirty` when the tree has changes. */
  commit: string;
  /** Deno and V8 versions. */
  runtime: string;
  /** 1-minute load average at the start and at the end (other work on the machine). */
  load: [number, number];
  /** Seconds the whole run took. */
  seconds: number;
  /** Whether this was a `--quick` run. */
  quick: boolean;
  /** The kernel variant our backend chose per op on this adapter (measured at startup). */
  variants: Record<string, string>;
}

/** The whole run, as written to JSON. */
export interface BenchReport {
  /** Where and when. */
  info: RunInfo;
  /** Kernel GFLOP/s. */
  kernels: KernelResult[];
  /** Training-step throughput and memory. */
  training: TrainResult[];
  /** Ours beside TF.js and PyTorch. */
  peers?: PeersReport;
  /** The FCN step with one design choice undone per row. */
  gains?: GainRow[];
  /** The same steps on Deno's WebGPU and on Dawn, same driver. */
  implementations?: ImplementationsReport;
  /** Our CIFAR ResNet-18 step on each backend beside PyTorch CPU's. */
  resnet18Peer?: Resnet18PeerReport;
  /** Our ResNet-50 step beside PyTorch fp32 eager's on the same GPU (gpu.ts). */
  resnetPeer?: ResnetPeerReport;
  /** Loader throughput. */
  data: DataResult[];
  /** ONNX Runtime latency of exported models (ms). */
  onnx?: Record<string, number>;
  /** All-reduce and step overhead between 2 local MPI ranks (`--distribute`). */
  distributed?: AllreduceBench;
  /** Sections that failed, with the error. */
  errors: { section: string; error: string }[];
}

async function run(cmd: string, args: string[]): Promise<string | undefined> {
  try {
    const out = await new Deno.Command(cmd, { args, stdout: "piped", stderr: "null" }).output();
    return out.success ? new TextDecoder().decode(out.stdout).trim() : undefined;
  } catch {
    return undefined;
  }
}

/**
 * An empty report for a run on `backend`: where and when (machine, adapter,
 * date, commit, load at the start), no results yet.
 */
export async function newReport(
  backend: { adapterInfo: GPUAdapterInfo; variants(): Record<string, string> },
  quick: boolean,
): Promise<BenchReport> {
  const info = backend.adapterInfo;
  return {
    info: {
      machine: await machineName(),
      adapter: adapterName(info),
      adapterSlug: slugify(info.description || info.device || info.vendor),
      date: new Date().toISOString(),
      commit: await commitName(),
      runtime: `Deno ${Deno.version.deno}, V8 ${Deno.version.v8}`,
      load: [Deno.loadavg()[0], 0],
      seconds: 0,
      quick,
      variants: backend.variants(),
    },
    kernels: [],
    training: [],
    data: [],
    errors: [],
  };
}

/**
 * A runner of named sections for `report`: each logs its start and duration,
 * and one that throws is recorded in `errors` while the run goes on.
 */
export function sectionRunner(
  report: BenchReport,
  log: (message: string) => void,
): (name: string, fn: () => Promise<void>) => Promise<void> {
  return async (name, fn) => {
    const t0 = performance.now();
    log(`== ${name}`);
    try {
      await fn();
    } catch (e) {
      const error = e instanceof Error ? `${e.name}: ${e.message}` : String(e);
      report.errors.push({ section: name, error });
      log(`${name} failed: ${error}`);
    }
    log(`== ${name}: ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  };
}

/** Stamps the end of a run: the load average now and the seconds since `started`. */
export function finishReport(report: BenchReport, started: number): BenchReport {
  report.info.load[1] = Deno.loadavg()[0];
  report.info.seconds = (performance.now() - started) / 1000;
  return report;
}

/** CPU model (from lscpu), core count and memory of this machine. */
export async function machineName(): Promise<string> {
  const lscpu = await run("lscpu", []);
  const model = lscpu?.match(/^Model name:\s*(.+)$/m)?.[1].trim() ?? Deno.build.arch;
  const gib = Math.round(Deno.systemMemoryInfo().total / 2 ** 30);
  return `${model}, ${navigator.hardwareConcurrency} cores, ${gib} GiB`;
}

/**
 * The short commit of the repository this file is in, `+dirty` when it has
 * changes; without git (a copied tree), `AGD_COMMIT` from the environment.
 */
export async function commitName(): Promise<string> {
  const fallback = Deno.env.get("AGD_COMMIT") || "unknown";
  const dir = new URL(".", import.meta.url);
  if (dir.protocol !== "file:") return fallback;
  const cwd = decodeURIComponent(dir.pathname);
  const head = await run("git", ["-C", cwd, "rev-parse", "--short", "HEAD"]);
  if (!head) return fallback;
  const status = await run("git", ["-C", cwd, "status", "--porcelain"]);
  return status ? `${head}+dirty` : head;
}

/** The adapter as one line: description, then vendor and architecture where given. */
export function adapterName(info: GPUAdapterInfo): string {
  const device = info.device && info.device !== "0" ? `device ${info.device}` : "";
  const parts = [info.description, device, info.vendor && `vendor ${info.vendor}`];
  if (info.architecture) parts.push(info.architecture);
  return parts.filter(Boolean).join(", ") || "unknown adapter";
}

/**
 * A file-name slug: lower case, runs of other characters as one `-`.
 *
 * @example
 * ```ts
 * import { slugify } from "./report.ts";
 * console.log(slugify("llvmpipe (LLVM 15.0.6, 256 bits)")); // llvmpipe-llvm-15-0-6-256-bits
 * ```
 */
export function slugify(name: string): string {
  return name.toLowerCase().replace(/[^a-z0-9]+/g, "-").replace(/^-|-$/g, "") || "unknown";
}

function ratio(r: number | undefined, ours: boolean): string {
  if (r === undefined) return "–";
  if (ours) return r === 1 ? "1 (our best)" : `${num(r, 3)} (our other backend)`;
  return `${num(r, 3)} (ours ${r < 1 ? `${num(1 / r, 1)}× faster` : `${num(r, 1)}× slower`})`;
}

/** The run's targets (issue "apps/bench") and whether this run met them. */
export function targets(report: BenchReport): { target: string; value: string; met: boolean }[] {
  const out: { target: string; value: string; met: boolean }[] = [];
  const square = report.kernels.filter((k) => /^matmul \d+³$/.test(k.name));
  if (square.length) {
    const best = square.reduce((a, b) => (b.gflops > a.gflops ? b : a));
    out.push({
      target: "matmul ≥ 20 GFLOP/s",
      value: `${num(best.gflops)} GFLOP/s (${best.name.slice(7)})`,
      met: best.gflops >= 20,
    });
  }
  const rows = report.peers?.rows ?? [];
  const isOurs = (r: PeerRow) => r.framework.startsWith("ours");
  // Each figure of our best backend for it (the one a user would run).
  const best = (rs: PeerRow[], key: "stepSamplesPerSec" | "matmulGflops") =>
    rs.filter((r) => r[key]).reduce<PeerRow | undefined>(
      (a, r) => (!a || r[key]! > a[key]! ? r : a),
      undefined,
    );
  const ours = best(rows.filter(isOurs), "stepSamplesPerSec");
  const jaxStep = best(rows.filter((r) => r.framework.startsWith("jax-js")), "stepSamplesPerSec");
  if (ours && jaxStep) {
    const x = ours.stepSamplesPerSec! / jaxStep.stepSamplesPerSec!;
    out.push({
      target: "fcn step ≥ 1.2× jax-js's best backend",
      value: `${num(x, 2)}× (ours ${ours.backend} vs jax-js ${jaxStep.backend})`,
      met: x >= 1.2,
    });
  }
  const oursMm = best(rows.filter(isOurs), "matmulGflops");
  const jaxWasm = rows.find((r) =>
    r.framework.startsWith("jax-js") && r.backend.startsWith("wasm")
  );
  if (oursMm && jaxWasm?.matmulGflops) {
    out.push({
      target: "matmul ≥ jax-js wasm",
      value: `${num(oursMm.matmulGflops)} vs ${
        num(jaxWasm.matmulGflops)
      } GFLOP/s (ours ${oursMm.backend})`,
      met: oursMm.matmulGflops! >= jaxWasm.matmulGflops,
    });
  }
  if (ours?.stepSamplesPerSec) {
    out.push({
      target: `${report.peers!.problem} step ≥ 2,000 samples/s`,
      value: `${num(ours.stepSamplesPerSec, 0)} samples/s`,
      met: ours.stepSamplesPerSec >= 2000,
    });
    const tfjs = rows.find((r) => r.framework.startsWith("TF.js") && r.backend === "webgpu");
    if (tfjs?.stepSamplesPerSec) {
      const x = ours.stepSamplesPerSec / tfjs.stepSamplesPerSec;
      out.push({ target: "> 15× TF.js WebGPU (same step)", value: `${num(x)}×`, met: x > 15 });
    }
    const torch = rows.find((r) => r.framework.startsWith("PyTorch"));
    if (torch?.stepSamplesPerSec) {
      const x = ours.stepSamplesPerSec / torch.stepSamplesPerSec;
      // Beating PyTorch on the reference BLAS is no win: the target is not met by it.
      out.push({
        target: "≥ 0.5× PyTorch CPU with a tuned BLAS (same step)",
        value: torch.caveat
          ? `${num(x, 2)}× of a reference-BLAS PyTorch, which does not count`
          : `${num(x, 2)}×`,
        met: !torch.caveat && x >= 0.5,
      });
    }
  }
  const resnet = report.resnetPeer;
  if (resnet?.torch.ok) {
    const x = resnet.ours.samplesPerSec / resnet.torch.result.samples_per_s;
    out.push({
      target: "ResNet-50 step ≥ 50% of PyTorch fp32 eager (same GPU)",
      value: `${num(100 * x, 0)}% (batch ${resnet.batch}, ${resnet.torch.result.device})`,
      met: x >= 0.5,
    });
  }
  return out;
}

function peerTable(p: PeersReport): string {
  const rows = p.rows.map((r: PeerRow) =>
    r.unavailable
      ? [r.framework, r.backend, `unavailable: ${r.unavailable}`, "", "", "", "", "", ""]
      : [
        r.framework,
        r.backend,
        num(r.matmulGflops, 2),
        ratio(r.matmulTimeRatio, r.framework.startsWith("ours")) + (r.caveat ? " †" : ""),
        num(r.stepSamplesPerSec, 0),
        num(r.stepMs),
        num(r.encodeMs),
        ratio(r.stepTimeRatio, r.framework.startsWith("ours")) + (r.caveat ? " †" : ""),
        r.eta === undefined ? "–" : r.eta.toFixed(6),
      ]
  );
  const notes = p.rows.filter((r) => r.caveat).map((r) => `\n\n† ${r.framework}: ${r.caveat}.`);
  return table([
    "framework",
    "backend",
    `matmul ${p.matmulSize}³ GFLOP/s`,
    "our time ÷ theirs",
    `${p.problem} samples/s`,
    "ms/step",
    "encode ms/step",
    "our time ÷ theirs",
    "η step 1",
  ], rows) + notes.join("");
}

/**
 * The run as Markdown: where it ran, targets, peers, training, kernels, data, ONNX.
 *
 * @param report a finished run
 * @returns Markdown text
 */
export function toMarkdown(report: BenchReport): string {
  const i = report.info;
  const parts: string[] = [];
  parts.push(
    table(["machine", "adapter", "date", "commit", "runtime", "load avg (start → end)", "run"], [[
      i.machine,
      `${i.adapter} (kernels: ${
        Object.entries(i.variants).map(([k, v]) => `${k} ${v}`).join(", ")
      })`,
      i.date,
      i.commit,
      i.runtime,
      `${num(i.load[0], 2)} → ${num(i.load[1], 2)}`,
      `${i.quick ? "--quick, " : ""}${num(i.seconds, 0)} s`,
    ]]),
  );
  const t = targets(report);
  if (t.length) {
    parts.push(
      "**Targets** (matmul, fcn step and peers: set for lavapipe; ResNet-50: for a real GPU)\n\n" +
        table(
          ["target", "this run", "met"],
          t.map((x) => [x.target, x.value, x.met ? "yes" : "no"]),
        ),
    );
  }
  if (report.peers) {
    parts.push(
      `**Peers** (same process, ${report.peers.rounds} alternating round(s), best kept; ` +
        "time ratios below 1 mean ours is faster)\n\n" + peerTable(report.peers),
    );
  }
  if (report.resnet18Peer) parts.push(resnet18Markdown(report.resnet18Peer));
  if (report.resnetPeer) {
    const r = report.resnetPeer;
    const torch = r.torch.ok ? r.torch.result : undefined;
    parts.push(
      `**ResNet-50 training step beside PyTorch** (224², batch ${r.batch}, xent, AGD; ` +
        "PyTorch fp32 eager with TF32 off, same GPU)\n\n" +
        table(["framework", "samples/s", "ms/step", "peak GPU MiB", "ours ÷ theirs"], [
          [
            "ours (@agd/tensor, WebGPU)",
            num(r.ours.samplesPerSec, 1),
            num(r.ours.wallMs),
            mib(r.ours.peakBytes),
            "1",
          ],
          torch
            ? [
              `PyTorch ${torch.torch} (${torch.device})`,
              num(torch.samples_per_s, 1),
              num(torch.ms),
              mib(torch.peak_bytes),
              `${num(r.ours.samplesPerSec / torch.samples_per_s, 2)}×`,
            ]
            : ["PyTorch", "unavailable", "–", "–", r.torch.ok ? "" : r.torch.reason],
        ]),
    );
  }
  if (report.gains?.length) {
    parts.push(
      "**What each choice gains** (the peers' fcn d8 step with one choice undone per row; " +
        "alternating rounds, best kept; a ratio above 1 is what the choice saves)\n\n" +
        table(
          [
            "step",
            "samples/s",
            "wall ms/step",
            "encode ms/step",
            "dispatches/step",
            "AGD step ms",
            "step time ÷ shipped",
            "η step 1",
          ],
          report.gains.map((g) => [
            g.name,
            num(g.samplesPerSec, 0),
            num(g.wallMs),
            num(g.encodeMs),
            num(g.dispatches, 0),
            num(g.agdStepMs, 2),
            `${num(g.timeRatio, 2)}×`,
            num(g.eta, 6),
          ]),
        ),
    );
  }
  if (report.implementations) parts.push(implementationsMarkdown(report.implementations));
  if (report.training.length) {
    parts.push(
      "**Training step** (forward, backward, AGD update; batches uploaded every step. " +
        "Encode = JS-thread time issuing a step; queue.submit = time inside submit per step, " +
        "the final read's included — a software adapter runs the work there; process CPU = all " +
        "threads' CPU time, the software adapter's included, steadier than wall time on a shared machine)\n\n" +
        table(
          [
            "model",
            "batch",
            "samples/s",
            "wall ms/step",
            "encode ms/step",
            "upload / fwd+bwd / AGD ms",
            "queue.submit ms/step",
            "process CPU ms/step",
            "AGD step ms (share of step)",
            "dispatches/step",
            "weights MiB",
            "peak GPU MiB",
          ],
          report.training.map((r) => [
            r.name,
            String(r.batch),
            num(r.samplesPerSec, r.samplesPerSec < 100 ? 2 : 0),
            num(r.wallMs),
            num(r.encodeMs),
            `${num(r.phases.uploadMs)} / ${num(r.phases.gradMs)} / ${num(r.phases.agdMs)}`,
            num(r.submitMs),
            num(r.processCpuMs),
            `${num(r.agdStepMs, 2)} (${num((100 * r.agdStepMs) / r.wallMs, 1)}%)`,
            num(r.dispatches, 0),
            mib(r.weightBytes),
            mib(r.peakBytes),
          ]),
        ),
    );
  }
  if (report.kernels.length) {
    parts.push(
      "**Kernels** (the variant the backend chose; conv gradients counted at the forward's FLOPs)\n\n" +
        table(
          ["kernel", "ms/call", "GFLOP/s"],
          report.kernels.map((k) => [k.name, num(k.ms, 2), num(k.gflops, 2)]),
        ),
    );
  }
  if (report.data.length) {
    parts.push(
      "**Data loaders**\n\n" +
        table(
          ["dataset", "pipeline", "images/s"],
          report.data.map((d) => [d.dataset, d.pipeline, num(d.imagesPerSec, 0)]),
        ),
    );
  }
  if (report.distributed) {
    const d = report.distributed;
    parts.push(
      `**All-reduce between ${d.ranks} local MPI ranks**\n\n` +
        table(
          ["gradients", "ms", "algbw GB/s"],
          d.allreduce.map((r) => [r.name, num(r.ms, 1), num(r.algbw, 2)]),
        ) +
        `\n\n**Step overhead of --distribute** (${d.model}, ${d.backend})\n\n` +
        table(
          ["mode", "ms/step", "in MPI ms", "waited after backward ms", "overhead"],
          d.steps.map((s) => [
            s.mode,
            num(s.ms, 0),
            num(s.commMs, 0),
            num(s.waitMs, 0),
            `${num(s.overheadPercent, 0)}%`,
          ]),
        ),
    );
  }
  if (report.onnx) {
    parts.push(
      "**ONNX Runtime (wasm, 1 thread), batch 1**\n\n" +
        table(["figure", "value"], Object.entries(report.onnx).map(([k, v]) => [k, num(v, 2)])),
    );
  }
  for (const e of report.errors) parts.push(`**${e.section} failed:** ${e.error}`);
  return parts.join("\n\n") + "\n";
}

/** The CIFAR ResNet-18 table: our backends and PyTorch CPU, the same step. */
function resnet18Markdown(r: Resnet18PeerReport): string {
  const torch = r.torch.ok ? r.torch.result : undefined;
  const rows = r.ours.map((o) => [
    "ours (@agd/tensor)",
    o.backend,
    num(o.samplesPerSec, 1),
    num(o.wallMs, 0),
    torch ? `${num(o.samplesPerSec / torch.samples_per_s, 2)}×` : "–",
  ]);
  rows.push(
    torch
      ? [
        `PyTorch ${torch.torch}`,
        `cpu, ${torch.threads} thread(s)`,
        num(torch.samples_per_s, 1),
        num(torch.ms, 0),
        "1",
      ]
      : ["PyTorch", "unavailable", "–", "–", r.torch.ok ? "" : r.torch.reason],
  );
  const jax = r.jax?.ok ? r.jax.result : undefined;
  const jaxLine = !r.jax
    ? ""
    : jax
    ? `\n\njax-js ${jax.version} (${jax.device}, the whole step under jit; batch norm from ` +
      `\`nn.standardize\`) at batch ${jax.batch}: ${num(jax.samplesPerSec, 2)} samples/s ` +
      `(${num(jax.wallMs, 0)} ms/step, η ${num(jax.eta, 4)}); ours on wasm at that batch ` +
      `${num(jax.oursSamplesPerSec, 1)} samples/s, ${
        num(jax.oursSamplesPerSec / jax.samplesPerSec, 0)
      }× faster.`
    : `\n\njax-js: did not run (${r.jax.ok ? "" : r.jax.reason}).`;
  return `**ResNet-18 training step beside PyTorch** (CIFAR pre-activation ResNet-18, 32², batch ${r.batch}, ` +
    `xent, AGD; PyTorch eager on the CPU, same network and update; ${r.rounds} round(s), best kept)\n\n` +
    table(["framework", "backend", "samples/s", "ms/step", "ours ÷ PyTorch (speed)"], rows) +
    jaxLine;
}

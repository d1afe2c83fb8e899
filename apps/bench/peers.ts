/**
 * Our step and matmul beside the peers', measured in one process in
 * alternating rounds (ours on WebGPU and on wasm, TF.js WebGPU, TF.js WASM,
 * jax-js WebGPU, jax-js WASM, PyTorch CPU, then again), so each ratio
 * compares figures taken on the same machine at the same time. The best
 * round of each is kept: interference from other work only ever slows a
 * round down. Ratios are against our faster backend for each figure.
 *
 * @module
 */
import { fcnProblem, type FcnSize } from "./fcn_problem.ts";
import { KernelBench } from "./kernels.ts";
import { JAX_VERSION, type JaxDevice, jaxFcnStep, jaxMatmul, startJax } from "./peer_jax.ts";
import { startTfjs, type TfjsBackend, tfjsFcnStep, tfjsMatmul } from "./peer_tfjs.ts";
import { benchTorch } from "./peer_torch.ts";
import { benchTrainStep } from "./training.ts";
import { type Backend, wasm } from "@agd/tensor";

/** One framework/backend in the comparison. */
export interface PeerRow {
  /** e.g. `ours`, `TF.js 4.22.0`, `PyTorch 1.13.0`. */
  framework: string;
  /** e.g. `webgpu`, `wasm`, `cpu, 2 threads, BLAS …`. */
  backend: string;
  /** GFLOP/s of the square matmul. */
  matmulGflops?: number;
  /** Our matmul time ÷ this one's (below 1: we are faster). */
  matmulTimeRatio?: number;
  /** FCN training steps: samples/s. */
  stepSamplesPerSec?: number;
  /** Wall ms per FCN step. */
  stepMs?: number;
  /** JS-thread ms spent issuing one step (for synchronous CPU frameworks, all of it). */
  encodeMs?: number;
  /** Our step time ÷ this one's (below 1: we are faster). */
  stepTimeRatio?: number;
  /** η of the first step from the shared weights and batch: equal across rows when the math is. */
  eta?: number;
  /** Why this peer did not run (then no figures). */
  unavailable?: string;
  /**
   * Set when the figures are not a fair peer's: PyTorch on the reference
   * (netlib) BLAS, which no one would train with. Its ratios are shown, not claimed.
   */
  caveat?: string;
}

/** The comparison: what was timed and one row per framework/backend. */
export interface PeersReport {
  /** The FCN problem, e.g. `fcn d8 w256 mnist b128`. */
  problem: string;
  /** Side of the square matmul. */
  matmulSize: number;
  /** Alternating rounds (best kept). */
  rounds: number;
  /** Ours first, then the peers. */
  rows: PeerRow[];
}

/** Options of {@link benchPeers}. */
export interface PeersOptions {
  /** The FCN step everyone runs. */
  fcn: FcnSize;
  /** Side of the square matmul everyone runs. */
  matmulSize: number;
  /** Seconds of work per measurement. */
  seconds: number;
  /** Alternating rounds. */
  rounds: number;
  /** Interpreter with torch (default `/usr/bin/python3`). */
  python?: string;
  /** Run jax-js too (default true). */
  jax?: boolean;
  /** Progress lines. */
  log?: (message: string) => void;
}

const TFJS_VERSION = "4.22.0";
/** The framework column of our rows. */
export const OURS = "ours (@agd/tensor)";

/**
 * Whether `libblas` (the file libblas.so.3 resolves to) is Debian's reference
 * (netlib) BLAS, which runs matmul at a few GFLOP/s, rather than a tuned one.
 *
 * @param libblas resolved path, e.g. `/usr/lib/x86_64-linux-gnu/blas/libblas.so.3.11.0`
 * @returns true for the reference BLAS
 * @example
 * ```ts
 * import { isReferenceBlas } from "./peers.ts";
 * console.log(isReferenceBlas("/usr/lib/x86_64-linux-gnu/blas/libblas.so.3.11.0")); // true
 * console.log(isReferenceBlas("/usr/lib/x86_64-linux-gnu/openblas-pthread/libblas.so.3")); // false
 * ```
 */
export function isReferenceBlas(libblas: string): boolean {
  // Debian installs the netlib BLAS as the `blas/` alternative; OpenBLAS,
  // BLIS and MKL live in directories named after themselves.
  return /\/blas\/libblas\.so/.test(libblas);
}

/** Keeps, per row key, the fastest of the rounds. */
function keepBest(rows: Map<string, PeerRow>, key: string, row: PeerRow): void {
  const old = rows.get(key);
  if (!old || (old.unavailable && !row.unavailable)) return void rows.set(key, row);
  if (row.unavailable) return;
  if ((row.stepMs ?? Infinity) < (old.stepMs ?? Infinity)) {
    Object.assign(old, {
      stepMs: row.stepMs,
      stepSamplesPerSec: row.stepSamplesPerSec,
      encodeMs: row.encodeMs,
    });
  }
  if ((row.matmulGflops ?? 0) > (old.matmulGflops ?? 0)) old.matmulGflops = row.matmulGflops;
}

/**
 * Runs the comparison.
 *
 * @param options the FCN, matmul size, seconds, rounds
 * @returns one row per framework with ratios to ours
 */
export async function benchPeers(options: PeersOptions): Promise<PeersReport> {
  const log = options.log ?? (() => {});
  const { seconds, matmulSize: size } = options;
  const problem = await fcnProblem(options.fcn);
  const rows = new Map<string, PeerRow>();
  const timing = { seconds, warmup: 1 };
  for (let round = 0; round < options.rounds; round++) {
    const fcnCase = {
      name: problem.name,
      arch: "fcn",
      dataset: problem.dataset,
      batch: problem.batch,
      depth: problem.depth,
      width: problem.width,
    };
    // Our two fast backends: WebGPU (on whatever adapter this machine has) and
    // wasm (WebAssembly SIMD on every core).
    const cpuBackend = await wasm();
    const ours: [string, string, Backend | undefined][] = [
      ["ours-webgpu", "webgpu", undefined],
      ["ours-wasm", cpuBackend.description, cpuBackend],
    ];
    for (const [key, label, backend] of ours) {
      log(`peers round ${round + 1}/${options.rounds}: ours (${label})`);
      const mm = await new KernelBench(timing, undefined, backend).square(size);
      const step = await benchTrainStep(fcnCase, timing, { backend });
      keepBest(rows, key, {
        framework: OURS,
        backend: label,
        matmulGflops: mm.gflops,
        stepSamplesPerSec: step.samplesPerSec,
        stepMs: step.wallMs,
        encodeMs: step.encodeMs,
        eta: step.eta,
      });
    }

    const tfjsBackends: TfjsBackend[] = ["webgpu", "wasm"];
    for (const backend of tfjsBackends) {
      log(`peers round ${round + 1}/${options.rounds}: TF.js ${backend}`);
      const key = `tfjs-${backend}`;
      const row: PeerRow = { framework: `TF.js ${TFJS_VERSION}`, backend };
      const reason = await startTfjs(backend);
      if (reason) {
        keepBest(rows, key, { ...row, unavailable: reason });
        continue;
      }
      const gflops = await tfjsMatmul(size, timing);
      const s = await tfjsFcnStep(problem, timing);
      keepBest(rows, key, {
        ...row,
        matmulGflops: gflops,
        stepSamplesPerSec: s.samplesPerSec,
        stepMs: s.wallMs,
        encodeMs: s.encodeMs,
        eta: s.eta,
      });
    }
    // Both TF.js backends failed: its plain-JS CPU backend is the one left to compare with.
    if (["webgpu", "wasm"].every((b) => rows.get(`tfjs-${b}`)?.unavailable)) {
      const reason = await startTfjs("cpu");
      if (!reason) {
        const s = await tfjsFcnStep(problem, timing);
        keepBest(rows, "tfjs-cpu", {
          framework: `TF.js ${TFJS_VERSION}`,
          backend: "cpu (plain JS)",
          stepSamplesPerSec: s.samplesPerSec,
          stepMs: s.wallMs,
          encodeMs: s.encodeMs,
          eta: s.eta,
        });
      }
    }

    const jaxDevices: JaxDevice[] = options.jax === false ? [] : ["webgpu", "wasm"];
    for (const device of jaxDevices) {
      log(`peers round ${round + 1}/${options.rounds}: jax-js ${device}`);
      const key = `jax-${device}`;
      const row: PeerRow = {
        framework: `jax-js ${JAX_VERSION}`,
        backend: device === "wasm" ? "wasm, jit" : "webgpu, jit",
      };
      const reason = await startJax(device);
      if (reason) {
        keepBest(rows, key, { ...row, unavailable: reason });
        continue;
      }
      const gflops = await jaxMatmul(device, size, timing);
      const s = await jaxFcnStep(problem, device, timing);
      keepBest(rows, key, {
        ...row,
        matmulGflops: gflops,
        stepSamplesPerSec: s.samplesPerSec,
        stepMs: s.wallMs,
        encodeMs: s.encodeMs,
        eta: s.eta,
      });
    }

    log(`peers round ${round + 1}/${options.rounds}: PyTorch CPU`);
    const torch = await benchTorch(problem, {
      python: options.python,
      matmulSizes: [size],
      seconds,
    });
    if (!torch.ok) {
      keepBest(rows, "torch", {
        framework: "PyTorch",
        backend: "cpu",
        unavailable: torch.reason,
      });
    } else {
      const t = torch.result;
      const reference = t.blas_info === "generic" && isReferenceBlas(t.libblas);
      keepBest(rows, "torch", {
        framework: `PyTorch ${t.torch}`,
        backend: `cpu, ${t.threads} threads, BLAS ${t.blas_info} → ${t.libblas}` +
          (reference ? " (reference BLAS)" : ""),
        ...(reference
          ? {
            caveat: "reference BLAS: install libopenblas0-pthread for the PyTorch anyone would run",
          }
          : {}),
        matmulGflops: t.matmul[0].gflops,
        stepSamplesPerSec: t.fcn.samples_per_s,
        stepMs: t.fcn.ms,
        // Eager CPU execution: the Python thread does all the work while issuing it.
        encodeMs: t.fcn.ms,
        eta: t.fcn.eta,
      });
    }
  }
  // Ratios against our best backend for each figure (a user runs the faster one).
  const oursRows = [rows.get("ours-webgpu")!, rows.get("ours-wasm")!];
  const bestGflops = Math.max(...oursRows.map((r) => r.matmulGflops ?? 0));
  const bestStepMs = Math.min(...oursRows.map((r) => r.stepMs ?? Infinity));
  for (const row of rows.values()) {
    // Time is inverse to GFLOP/s for the same FLOPs.
    if (row.matmulGflops && bestGflops) row.matmulTimeRatio = row.matmulGflops / bestGflops;
    if (row.stepMs && Number.isFinite(bestStepMs)) row.stepTimeRatio = bestStepMs / row.stepMs;
  }
  return {
    problem: problem.name,
    matmulSize: size,
    rounds: options.rounds,
    rows: [...rows.values()],
  };
}

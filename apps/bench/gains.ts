/**
 * What each design choice of the training step is worth: the FCN step as
 * shipped, and the same step with one choice undone at a time — a host read
 * every step, AGD as unfused elementwise ops, storage-buffer kernels instead
 * of the texture ones, no bind-group cache, a submit per dispatch. Rows run
 * in alternating rounds (the machine's load drifts) and the best of each is
 * kept; each row's step time is given as a multiple of the shipped step's.
 *
 * @module
 */
import { createWebGpuBackend, type WebGpuOptions } from "@agd/tensor";
import { benchImplementation } from "./backend.ts";
import type { TimingOptions } from "./timing.ts";
import { benchTrainStep, type StepSetup, type TrainCase, type TrainResult } from "./training.ts";

/** One way of running the step. */
export interface GainCase {
  /** Row label: what is undone. */
  name: string;
  /** Options of a backend of its own (absent: the shared, autotuned backend). */
  backend?: WebGpuOptions;
  /** The rest of the step's setup. */
  setup?: Omit<StepSetup, "backend">;
}

/** The shipped step first, then one choice undone per row. */
export const GAIN_CASES: readonly GainCase[] = [
  { name: "as shipped" },
  { name: "host read of η after every step", setup: { readEveryStep: true } },
  { name: "AGD as elementwise ops (not fused)", setup: { fusedAgd: false } },
  {
    name: "storage-buffer kernels (not texture)",
    backend: { variants: { matmul: "tiled", conv2d: "tiled" } },
  },
  { name: "no bind-group cache", backend: { maxBindGroups: 0 } },
  { name: "a submit per dispatch (no batching)", backend: { flushEvery: 1 } },
];

/**
 * One row of {@link benchGains}: the best round's figures of the step (its η
 * is the first step's — every row computes the same step, so the same η).
 */
export type GainRow =
  & Pick<TrainResult, "samplesPerSec" | "wallMs" | "encodeMs" | "dispatches" | "agdStepMs" | "eta">
  & {
    /** The case's label. */
    name: string;
    /** This row's step time ÷ the shipped step's (> 1: the choice undone was a gain). */
    timeRatio: number;
  };

/** What {@link benchGains} measures and how long. */
export interface GainsOptions {
  /** The step (default: fcn d8 w256 mnist b128, the peers' step). */
  step?: TrainCase;
  /** Timing of each row in each round. */
  timing?: TimingOptions;
  /** Alternating rounds; the best of each row is kept (default 2). */
  rounds?: number;
  /** Progress lines. */
  log?: (message: string) => void;
}

/**
 * Times {@link GAIN_CASES} on the same step in alternating rounds.
 *
 * @param options step, timing, rounds, log
 * @returns one row per case, the shipped step first
 * @example
 * ```ts ignore
 * import { benchGains } from "./gains.ts";
 * const rows = await benchGains({ rounds: 1, timing: { seconds: 0.2 } });
 * console.log(rows.map((r) => `${r.name}: ${r.timeRatio.toFixed(2)}×`));
 * ```
 */
export async function benchGains(options: GainsOptions = {}): Promise<GainRow[]> {
  const step = options.step ??
    { name: "fcn d8 w256 mnist", arch: "fcn", dataset: "mnist", batch: 128, depth: 8, width: 256 };
  const rounds = options.rounds ?? 2;
  const log = options.log ?? (() => {});
  const backends = await Promise.all(
    GAIN_CASES.map((
      c,
    ) => (c.backend
      ? createWebGpuBackend({ ...c.backend, implementation: benchImplementation() })
      : undefined)
    ),
  );
  const best: TrainResult[] = [];
  try {
    for (let round = 1; round <= rounds; round++) {
      for (const [i, c] of GAIN_CASES.entries()) {
        log(`gains round ${round}/${rounds}: ${c.name}`);
        const r = await benchTrainStep(step, options.timing, { ...c.setup, backend: backends[i] });
        if (!best[i] || r.wallMs < best[i].wallMs) best[i] = r;
      }
    }
  } finally {
    for (const b of backends) b?.destroy();
  }
  return best.map((r, i) => ({
    name: GAIN_CASES[i].name,
    samplesPerSec: r.samplesPerSec,
    wallMs: r.wallMs,
    encodeMs: r.encodeMs,
    dispatches: r.dispatches,
    agdStepMs: r.agdStepMs,
    eta: r.eta,
    timeRatio: r.wallMs / best[0].wallMs,
  }));
}

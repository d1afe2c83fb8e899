/**
 * `train()`: AGD (or a baseline) on a model and dataset, epoch after epoch,
 * with per-epoch metrics, atomic checkpoints, resume, NaN detection and
 * `--distribute`. The parts live beside it, one job each: the epoch's steps
 * (epoch.ts), the checkpoint and resume (checkpoint.ts), the metrics
 * (metrics.ts), the evaluation (evaluate.ts), the data (data.ts) and the
 * optimizer and loss (setup.ts).
 *
 * @module
 */
import { agdInit, disposeState, type OptimizerState, type TrainSetup } from "@agd/agd";
import { createLoader, type Dataset } from "@agd/datasets";
import type { DataParallel } from "@agd/distributed";
import { createModel, type Module } from "@agd/models";
import { cpu, setBackend, useWebGPU } from "@agd/tensor";
import { chooseDevice } from "./device.ts";
import type { TrainConfig } from "./args.ts";
import { CHECKPOINT, loadRun, type RunPosition, saveRun } from "./checkpoint.ts";
import { openSplit } from "./data.ts";
import { type EpochRunner, runEpoch } from "./epoch.ts";
import { testMetrics } from "./evaluate.ts";
import { appendMetrics, epochMetrics, formatEpoch } from "./metrics.ts";
import type { EpochMetrics } from "./plot.ts";
import { Progress } from "./progress.ts";
import { makeOptimizer, stepSetup } from "./setup.ts";
import { type EpochSums, NO_SUMS } from "./step_stats.ts";

export { NonFiniteLossError } from "./epoch.ts";
export { evaluate } from "./evaluate.ts";

/** Options of {@link train}. */
export interface TrainOptions {
  /** Progress display (default: a new one on stdout). */
  progress?: Progress;
  /** Aborting it (Ctrl-C) saves a checkpoint after the current step and returns. */
  signal?: AbortSignal;
}

/** How a run ended. */
export interface TrainResult {
  /** Metrics of the epochs this call completed. */
  epochs: EpochMetrics[];
  /** True when stopped by the signal (a checkpoint was saved). */
  interrupted: boolean;
  /** The trained model (the caller disposes it). */
  model: Module;
  /**
   * Whether this process writes the run's outputs: true except on ranks other
   * than 0 of a `--distribute` job, which leave curves and exports to rank 0.
   */
  primary: boolean;
}

/** Progress of ranks other than 0: only rank 0 prints. */
class QuietProgress extends Progress {
  override start(): void {}
  override update(): void {}
  override end(): void {}
  override log(): void {}
}

/**
 * Trains as configured, appending to `<out>/metrics.jsonl` and checkpointing
 * to `<out>/checkpoint.safetensors` after every epoch (and on abort).
 *
 * With `--distribute` (under `mpirun`), this process is one rank of a
 * data-parallel job (packages/distributed): it trains on its shard with
 * train_bs / N samples per step and gradients averaged over ranks. Only rank 0
 * writes files (`primary` in the result). Any error on any rank
 * aborts the whole job.
 */
export async function train(config: TrainConfig, options: TrainOptions = {}): Promise<TrainResult> {
  if (!config.distribute) return await trainOn(config, options);
  // Loaded only here: nothing else needs Open MPI installed.
  const { DataParallel } = await import("@agd/distributed");
  // Typed explicitly so that abort(), which returns never, ends the control flow.
  const dist: DataParallel = DataParallel.init({ selectGpu: !config.cpu });
  let result: TrainResult;
  try {
    result = await trainOn(config, options, dist);
    await dist.finalize();
  } catch (e) {
    dist.abort(`rank ${dist.rank}: ${e instanceof Error ? e.message : e}`);
  }
  // Curves and ONNX export are rank 0's; other ranks may not even see its --out.
  return { ...result, primary: dist.rank === 0 };
}

async function exists(path: string): Promise<boolean> {
  try {
    await Deno.stat(path);
    return true;
  } catch {
    return false;
  }
}

/** Refuses to start over a run or to resume one without a checkpoint; makes `--out`. */
async function prepareOut(config: TrainConfig, checkpointPath: string): Promise<void> {
  const out = config.out;
  if (!config.resume && await exists(`${out}/metrics.jsonl`)) {
    throw new Error(
      `Cannot start a new run in ${out}: it already holds one; pass --resume to continue it or choose another --out`,
    );
  }
  if (config.resume && !await exists(checkpointPath)) {
    throw new Error(`Cannot --resume: ${checkpointPath} does not exist (start without --resume)`);
  }
  await Deno.mkdir(out, { recursive: true });
}

/** A run ready for its first epoch, or for the epoch and step it resumes at. */
interface OpenedRun {
  model: Module;
  trainSet: Dataset;
  testSet: Dataset;
  setup: TrainSetup;
  state: OptimizerState;
  epoch: number;
  step: number;
  sums: EpochSums;
  globalStep: number;
}

/**
 * Builds the model, opens the data, initialises the weights and the
 * optimizer's state or restores them from the checkpoint, writes config.json,
 * and gives every rank rank 0's weights.
 */
async function openRun(
  config: TrainConfig,
  progress: Progress,
  dist: DataParallel | undefined,
): Promise<OpenedRun> {
  const checkpointPath = `${config.out}/${CHECKPOINT}`;
  await prepareOut(config, checkpointPath);
  // The model first: a refused --arch/--dataset pair fails before any data is read.
  const model = createModel(config.arch, config.dataset, {
    depth: config.depth,
    width: config.width,
    seed: config.seed,
  });
  const trainSet = await openSplit(config, "train");
  const testSet = await openSplit(config, "test");
  const optimizer = makeOptimizer(config);
  const setup = stepSetup(config, model, optimizer);
  const params = setup.params;
  if (config.optimizer === "agd") agdInit(params, { seed: config.seed });
  let run: OpenedRun = {
    model,
    trainSet,
    testSet,
    setup,
    state: optimizer.init(params),
    epoch: 0,
    step: 0,
    sums: NO_SUMS,
    globalStep: 0,
  };
  if (config.resume) {
    run = { ...run, ...await loadRun(checkpointPath, { model, initial: run.state }) };
    progress.log(`Resuming ${config.out} at epoch ${run.epoch + 1}, step ${run.step}`);
  }
  // On resume too: it records what was changed (--epochs, --export, …) for the next resume.
  if (!dist || dist.rank === 0) {
    await Deno.writeTextFile(`${config.out}/config.json`, JSON.stringify(config, null, 2) + "\n");
  }
  // Rank 0's weights (and BatchNorm statistics) are everybody's starting point.
  if (dist) await dist.broadcast([...params, ...model.buffers()]);
  return run;
}

async function trainOn(
  config: TrainConfig,
  options: TrainOptions,
  dist?: DataParallel,
): Promise<TrainResult> {
  const rank0 = !dist || dist.rank === 0;
  if (dist) {
    if (config.train_bs % dist.size !== 0) {
      throw new Error(
        `Cannot --distribute --train_bs ${config.train_bs} over ${dist.size} ranks: use a multiple of ${dist.size}`,
      );
    }
    // Every rank stops after the same step, whichever rank was interrupted.
    options = { ...options, signal: dist.agree(options.signal) };
  }
  const progress = rank0 ? options.progress ?? new Progress() : new QuietProgress();
  if (dist) {
    // Every rank on the same kind of device: its GPU, or the reference with --cpu.
    if (config.cpu) setBackend(cpu());
    else await useWebGPU({ implementation: config.webgpu });
  } else {
    progress.log(await chooseDevice(config));
  }
  if (dist) {
    progress.log(
      `Distributed over ${dist.size} ranks: ${
        config.train_bs / dist.size
      } samples per rank and step; rank 0: ${dist.notes.join("; ")}`,
    );
  }
  const run = await openRun(config, progress, dist);
  const { model, trainSet, testSet, setup } = run;
  let { state, sums, globalStep } = run;
  const checkpointPath = `${config.out}/${CHECKPOINT}`;
  const save = async (position: Omit<RunPosition, "globalStep">) => {
    if (rank0) await saveRun(checkpointPath, { config, model, state }, { ...position, globalStep });
  };
  // Rank r takes every N-th sample of the shuffled epoch: step s of all ranks
  // together covers exactly the single-process global batch s.
  const loader = createLoader(trainSet, {
    batchSize: config.train_bs / (dist?.size ?? 1),
    shuffle: true,
    seed: config.seed,
    rank: dist?.rank ?? 0,
    worldSize: dist?.size ?? 1,
  });
  const runner: EpochRunner = {
    setup,
    loader,
    info: trainSet.info,
    epochs: config.epochs,
    batchSize: config.train_bs,
    progress,
    checkpointPath,
    signal: options.signal,
    dist,
  };
  const completed: EpochMetrics[] = [];
  const result = (interrupted: boolean) => ({
    epochs: completed,
    interrupted,
    model,
    primary: true,
  });
  try {
    for (let epoch = run.epoch, step = run.step; epoch < config.epochs; epoch++, step = 0) {
      const end = await runEpoch(runner, { epoch, step, sums, state });
      state = end.state;
      globalStep += end.steps;
      if (options.signal?.aborted && end.step < loader.length) {
        progress.end();
        await save({ epoch, step: end.step, partial: end.total });
        progress.log(
          `Interrupted: saved ${checkpointPath} (epoch ${
            epoch + 1
          }, step ${end.step}); continue with --resume`,
        );
        return result(true);
      }
      progress.end();
      const test = await testMetrics(model, testSet, config, dist);
      const metrics = epochMetrics(epoch, end.total, test, {
        samples: end.samples,
        trainSeconds: end.total.seconds - sums.seconds,
        seconds: (performance.now() - end.started) / 1000,
        steps: end.steps,
        dataWaitSeconds: end.dataWaitSeconds,
      });
      if (rank0) await appendMetrics(config.out, metrics);
      await save({ epoch: epoch + 1, step: 0 });
      completed.push(metrics);
      progress.log(formatEpoch(metrics));
      if (dist) progress.log(dist.describeTiming());
      sums = NO_SUMS;
      if (options.signal?.aborted) return result(true);
    }
  } finally {
    trainSet.close();
    testSet.close();
    disposeState(state);
  }
  return result(false);
}

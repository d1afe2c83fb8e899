/**
 * The run's checkpoint, `<out>/checkpoint.safetensors`: the model (PyTorch
 * `state_dict` names), the optimizer's state (tensors `optimizer.<name>`, its
 * step count in the metadata as `optimizer_step`) and where the run stands:
 * epoch, step within it, global step and, for an interrupted epoch, its
 * partial sums. Written atomically at each epoch's end and on interruption;
 * {@link loadRun} resumes from it exactly.
 *
 * @module
 */
import type { OptimizerState } from "@agd/agd";
import { loadCheckpoint, type Module, saveCheckpoint } from "@agd/models";
import type { Tensor } from "@agd/tensor";
import type { TrainConfig } from "./args.ts";
import { type EpochSums, NO_SUMS } from "./step_stats.ts";

/** The checkpoint's file name in the run directory. */
export const CHECKPOINT = "checkpoint.safetensors";

/** Where the optimizer's state tensors are in the checkpoint: `optimizer.<name>`. */
export const OPTIMIZER_PREFIX = "optimizer.";

/** Where a run stands: what a checkpoint records besides the weights and the optimizer. */
export interface RunPosition {
  /** Epochs completed (0-based index of the epoch to run next). */
  epoch: number;
  /** Steps done in that epoch (0 at an epoch's end). */
  step: number;
  /** Steps done since the run started. */
  globalStep: number;
  /** The interrupted epoch's sums so far (absent at an epoch's end). */
  partial?: EpochSums;
}

/** A run as {@link loadRun} restores it. */
export interface ResumedRun {
  /** Epochs completed: the epoch to resume. */
  epoch: number;
  /** Steps done in that epoch: the step to resume at. */
  step: number;
  /** Steps done since the run started. */
  globalStep: number;
  /** The epoch's sums so far ({@link NO_SUMS} at an epoch's end). */
  sums: EpochSums;
  /** The optimizer's state. */
  state: OptimizerState;
}

/**
 * Saves the model, the optimizer's state and the run's position to `path`
 * (atomically, by rename).
 */
export async function saveRun(
  path: string,
  run: { config: TrainConfig; model: Module; state: OptimizerState },
  position: RunPosition,
): Promise<void> {
  const { config, model, state } = run;
  const extra = new Map([...state.tensors].map(([k, v]) => [`${OPTIMIZER_PREFIX}${k}`, v]));
  await saveCheckpoint(path, model, {
    extra,
    metadata: {
      arch: config.arch,
      dataset: config.dataset,
      depth: config.depth,
      width: config.width,
      seed: config.seed,
      optimizer: config.optimizer,
      epoch: position.epoch,
      step: position.step,
      global_step: position.globalStep,
      optimizer_step: state.step,
      ...(position.partial ? { partial: JSON.stringify(position.partial) } : {}),
    },
  });
}

/**
 * The optimizer's state from a checkpoint's `optimizer.*` tensors and
 * metadata, on top of `initial` (the optimizer's `init(params)`), whose
 * tensors the loaded ones replace. A checkpoint written before the state
 * carried its step count has no `optimizer_step`: its `global_step` is the
 * count (every optimizer steps once per global step; Adam's bias correction
 * was restored from it).
 *
 * @param initial the state to fill in (consumed)
 * @param loaded the checkpoint's tensors under {@link OPTIMIZER_PREFIX} and its metadata
 * @returns the restored state
 */
export function restoreState(
  initial: OptimizerState,
  loaded: { extra: Map<string, Tensor>; metadata: Record<string, string> },
): OptimizerState {
  const tensors = new Map(initial.tensors);
  for (const [name, value] of loaded.extra) {
    const key = name.slice(OPTIMIZER_PREFIX.length);
    tensors.get(key)?.dispose();
    tensors.set(key, value);
  }
  const { optimizer_step, global_step } = loaded.metadata;
  return { step: Number(optimizer_step ?? global_step ?? 0), tensors };
}

/**
 * Loads the checkpoint at `path` into `model` and restores the optimizer's
 * state on top of `initial` (the optimizer's `init(params)`, consumed), with
 * the position to resume from.
 */
export async function loadRun(
  path: string,
  run: { model: Module; initial: OptimizerState },
): Promise<ResumedRun> {
  const { metadata, extra } = await loadCheckpoint(path, run.model, {
    extraPrefix: OPTIMIZER_PREFIX,
  });
  // JSON has no Infinity (etaMin/etaMax before a first step): null falls back to NO_SUMS.
  const sums: EpochSums = metadata.partial
    ? { ...NO_SUMS, ...JSON.parse(metadata.partial, (_, v) => v ?? undefined) }
    : NO_SUMS;
  return {
    epoch: Number(metadata.epoch),
    step: Number(metadata.step),
    globalStep: Number(metadata.global_step ?? 0),
    sums,
    state: restoreState(run.initial, { extra, metadata }),
  };
}

/**
 * The trained model as files the page offers for download: ONNX as
 * `deno task export` writes it, and a safetensors checkpoint as
 * `deno task train` writes it (apps/cli/checkpoint.ts's names and metadata).
 *
 * @module
 */
import type { DatasetInfo } from "@agd/datasets/memory";
import { type Module, stateDict } from "@agd/models";
import { exportOnnx } from "@agd/onnx-export";
import { encodeSafetensors } from "@agd/tensor";

/** The run the files describe, in their metadata. */
export interface RunInfo {
  /** The dataset's metadata (name, image shape). */
  info: DatasetInfo;
  /** fcn depth. */
  depth: number;
  /** fcn width. */
  width: number;
  /** Seed of the init and the shuffling. */
  seed: number;
  /** AGD gain. */
  gain: number;
  /** Epochs completed. */
  epochsDone: number;
}

/** Where training stands, as a checkpoint records it to resume. */
export interface CheckpointPosition {
  /** Steps done in the epoch under way (0 at an epoch's end). */
  epochStep: number;
  /** Steps taken since training began. */
  globalStep: number;
  /** The optimizer's step count. */
  optimizerStep: number;
}

/**
 * The trained model as ONNX (opset 17, `@agd/onnx-export`), with the
 * dataset's labels and normalisation in its metadata, as
 * `deno task export` writes it.
 *
 * @param model the trained fcn
 * @param run the settings and epochs done
 * @param testAcc the last epoch's test accuracy, if an epoch was completed
 * @returns the .onnx file's bytes
 */
export async function onnxFile(
  model: Module,
  run: RunInfo,
  testAcc?: number,
): Promise<Uint8Array> {
  const { info, depth, width, seed, gain } = run;
  return await exportOnnx(model, {
    inputShape: [info.channels, info.height, info.width],
    arch: "fcn",
    dataset: info.name,
    metadata: {
      depth: String(depth),
      width: String(width),
      seed: String(seed),
      gain: String(gain),
      train_epoch: String(run.epochsDone),
      ...(testAcc !== undefined ? { train_test_acc: String(testAcc) } : {}),
    },
  });
}

/**
 * The model as `deno task train` checkpoints it (apps/cli/checkpoint.ts):
 * safetensors with PyTorch `state_dict` names (`initial.weight`,
 * `layers.<i>.weight`, `final.weight`, float32) and the same metadata keys,
 * so `deno task export --checkpoint` and PyTorch's `load_state_dict` take
 * it. AGD has no optimizer state tensors.
 *
 * @param model the trained fcn
 * @param run the settings and epochs done, and where training stands
 * @returns the .safetensors file's bytes
 */
export async function checkpointFile(
  model: Module,
  run: RunInfo & CheckpointPosition,
): Promise<Uint8Array> {
  const metadata: Record<string, string> = {
    arch: "fcn",
    dataset: run.info.name,
    depth: String(run.depth),
    width: String(run.width),
    seed: String(run.seed),
    optimizer: "agd",
    gain: String(run.gain),
    epoch: String(run.epochsDone),
    step: String(run.epochStep),
    global_step: String(run.globalStep),
    optimizer_step: String(run.optimizerStep),
  };
  return encodeSafetensors(await stateDict(model), { metadata });
}

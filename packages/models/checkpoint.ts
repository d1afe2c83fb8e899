/**
 * Checkpoints as safetensors files with PyTorch state-dict names and shapes,
 * so they move between this project and PyTorch with no renaming. Writes are
 * atomic (temp file + rename); loads are strict and name the offending tensor.
 *
 * @module
 */
import {
  readSafetensors,
  type SafeTensor,
  showShape,
  type Tensor,
  tensor,
  toFloat32,
  toInt32,
  writeSafetensors,
} from "@agd/tensor";
import type { Module } from "./module.ts";

/** Training metadata stored in `__metadata__` (all values are strings there). */
export type CheckpointMetadata = Record<string, string | number>;

/** Extra tensors saved beside the model's (e.g. optimizer state), by name. */
export type ExtraTensors = Map<string, Tensor>;

/**
 * The model's state dict as safetensors entries (parameters, buffers, counters).
 *
 * @param model the network
 * @returns its tensors by state-dict name, in state-dict order
 * @example
 * ```ts
 * import { createModel, stateDict } from "@agd/models";
 * const state = await stateDict(createModel("fcn", "mnist", { depth: 2, width: 4 }));
 * for (const [name, t] of state) console.log(name, t.dtype, t.shape);
 * // initial.weight F32 [4, 784]
 * // final.weight F32 [10, 4]
 * ```
 */
export async function stateDict(model: Module): Promise<Map<string, SafeTensor>> {
  const out = new Map<string, SafeTensor>();
  for (const { name, value } of [...model.parameters(), ...model.buffers()]) {
    out.set(name, {
      dtype: "F32",
      shape: [...value.shape],
      data: (await value.data()) as Float32Array,
    });
  }
  for (const c of model.counters()) {
    out.set(c.name, { dtype: "I64", shape: [], data: BigInt64Array.of(BigInt(c.count)) });
  }
  return out;
}

/**
 * Saves parameters, buffers and counters of `model` (plus `extra` tensors and
 * `metadata`) to `path`, atomically.
 *
 * @param path the safetensors file to write
 * @param model the network
 * @param options metadata (stored as strings) and extra tensors (e.g. optimizer state)
 * @example
 * ```ts
 * import { createModel, saveCheckpoint } from "@agd/models";
 * import { readSafetensors } from "@agd/tensor";
 * const path = await Deno.makeTempFile({ suffix: ".safetensors" });
 * await saveCheckpoint(path, createModel("fcn", "mnist", { depth: 2, width: 4 }), {
 *   metadata: { epoch: 3 },
 * });
 * const { tensors, metadata } = await readSafetensors(path);
 * console.log(tensors.get("initial.weight")!.shape, metadata); // [4, 784] { epoch: "3" }
 * await Deno.remove(path);
 * ```
 */
export async function saveCheckpoint(
  path: string,
  model: Module,
  options: { metadata?: CheckpointMetadata; extra?: ExtraTensors } = {},
): Promise<void> {
  const tensors = await stateDict(model);
  for (const [name, value] of options.extra ?? []) {
    tensors.set(name, {
      dtype: "F32",
      shape: [...value.shape],
      data: (await value.data()) as Float32Array,
    });
  }
  const metadata = Object.fromEntries(
    Object.entries(options.metadata ?? {}).map(([k, v]) => [k, String(v)]),
  );
  await writeSafetensors(path, tensors, { metadata });
}

/** What {@link loadCheckpoint} returns besides filling the model. */
export interface LoadedCheckpoint {
  /** The `__metadata__` strings. */
  metadata: Record<string, string>;
  /** Tensors in the file that are not part of the model (e.g. optimizer state), on the model's device. */
  extra: Map<string, Tensor>;
}

/**
 * Loads a checkpoint into `model`: every parameter, buffer and counter must be
 * present with the right shape; a missing or mis-shaped tensor is an error
 * naming it and both shapes. Names with an `extraPrefix` are returned, others
 * that the model lacks are an error (strict, like PyTorch's load_state_dict).
 *
 * @param path the safetensors file to read
 * @param model the network whose values are replaced, on its own device
 * @param options the prefix of the file's extra tensors to return
 * @returns the file's metadata and its extra tensors
 * @example
 * ```ts
 * import { createModel, loadCheckpoint, saveCheckpoint } from "@agd/models";
 * import { tensor } from "@agd/tensor";
 * const path = await Deno.makeTempFile({ suffix: ".safetensors" });
 * const trained = createModel("fcn", "mnist", { depth: 2, width: 4, seed: 1 });
 * const extra = new Map([["optimizer.step", tensor([5])]]);
 * await saveCheckpoint(path, trained, { metadata: { epoch: 3 }, extra });
 * const model = createModel("fcn", "mnist", { depth: 2, width: 4, seed: 2 });
 * const loaded = await loadCheckpoint(path, model, { extraPrefix: "optimizer." });
 * console.log(loaded.metadata.epoch, [...loaded.extra.keys()]); // 3 ["optimizer.step"]
 * const [a, b] = [trained, model].map((m) => m.parameters()[0].value.data());
 * console.log((await a).join() === (await b).join()); // true
 * await Deno.remove(path);
 * ```
 */
export async function loadCheckpoint(
  path: string,
  model: Module,
  options: { extraPrefix?: string } = {},
): Promise<LoadedCheckpoint> {
  const { tensors, metadata } = await readSafetensors(path);
  const fail = (what: string): never => {
    throw new Error(`Cannot load checkpoint ${path}: ${what}`);
  };
  const known = new Set<string>();
  const targets = [...model.parameters(), ...model.buffers()];
  for (const target of targets) {
    known.add(target.name);
    const t = tensors.get(target.name) ?? fail(`tensor "${target.name}" is missing`);
    if (t.shape.join() !== target.value.shape.join()) {
      fail(
        `tensor "${target.name}" has shape ${showShape(t.shape)}, the model expects ${
          showShape(target.value.shape)
        }`,
      );
    }
  }
  for (const c of model.counters()) {
    known.add(c.name);
    if (!tensors.has(c.name)) fail(`tensor "${c.name}" is missing`);
  }
  const extra = new Map<string, Tensor>();
  const backend = targets[0]?.value.backend;
  for (const [name, t] of tensors) {
    if (known.has(name)) continue;
    if (options.extraPrefix && name.startsWith(options.extraPrefix)) {
      extra.set(name, tensor(toFloat32(t), { shape: t.shape, backend }));
    } else fail(`tensor "${name}" is not part of this model (wrong --arch or --dataset?)`);
  }
  // Every check passed: now replace the values.
  for (const p of model.parameters()) {
    const next = tensor(toFloat32(tensors.get(p.name)!), {
      shape: p.value.shape,
      backend,
      requiresGrad: true,
    });
    p.value.grad?.dispose();
    p.value.dispose();
    p.value = next;
  }
  for (const b of model.buffers()) {
    const next = tensor(toFloat32(tensors.get(b.name)!), { shape: b.value.shape, backend });
    b.value.dispose();
    b.value = next;
  }
  for (const c of model.counters()) c.count = toInt32(tensors.get(c.name)!)[0];
  return { metadata, extra };
}

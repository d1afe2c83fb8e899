/**
 * The small training program that tests/browser_test.ts runs three ways — in
 * Deno, bundled by `deno bundle --platform browser`, and built by Vite — and
 * whose η must agree across them: a tiny fcn, AGD's init, a fixed batch of
 * generated MNIST-shaped samples (through `@agd/datasets/memory`'s
 * ArrayDataset and loader, as a page with fetched bytes would), and a few
 * AGD steps on WebGPU.
 *
 * @module
 */
import { Agd, agdInit } from "@agd/agd";
import { ArrayDataset, createLoader, datasetInfo, Random } from "@agd/datasets/memory";
import { createModel } from "@agd/models";
import { backward, mseLoss, tensor, tidy, useWebGPU } from "@agd/tensor";

/** What one run reports. */
export interface TinyTrainingResult {
  /** AGD's η after each step. */
  etas: number[];
  /** The square loss before each step. */
  losses: number[];
  /** The WebGPU adapter that ran it. */
  adapter: string;
}

/** What the page publishes on `globalThis.agdResult` (see main.ts). */
export type PageResult = { ok: true; result: TinyTrainingResult } | { ok: false; error: string };

/** Steps, batch size and shape of the run (the same everywhere it runs). */
export const TINY = { steps: 4, samples: 16, depth: 3, width: 32, seed: 7 } as const;

/**
 * Trains the tiny fcn for {@link TINY}`.steps` AGD steps on one batch and
 * reads η back after each.
 *
 * @returns η and the loss per step, and the adapter's description
 */
export async function runTinyTraining(): Promise<TinyTrainingResult> {
  const backend = await useWebGPU();
  const info = datasetInfo("mnist");
  const plane = info.channels * info.height * info.width;
  const rng = new Random(TINY.seed);
  const images = Uint8Array.from({ length: TINY.samples * plane }, () => rng.int(0, 256));
  const labels = Uint8Array.from({ length: TINY.samples }, (_, i) => i % info.classes);
  const dataset = new ArrayDataset(
    { images, labels, count: TINY.samples },
    { info, split: "train" },
  );
  let batch: { images: Float32Array; labels: Int32Array } | undefined;
  for await (const b of createLoader(dataset, { batchSize: TINY.samples })) batch ??= b;
  if (!batch) throw new Error("Cannot train: the loader gave no batch.");

  const model = createModel("fcn", "mnist", { depth: TINY.depth, width: TINY.width });
  agdInit(model.parameters(), { seed: TINY.seed });
  const x = tensor(batch.images, { shape: [TINY.samples, 1, info.height, info.width] });
  const y = tensor(batch.labels, { shape: [TINY.samples] });
  const agd = new Agd();
  const etas: number[] = [];
  const losses: number[] = [];
  try {
    for (let step = 0; step < TINY.steps; step++) {
      const loss = tidy(() => {
        const l = mseLoss(model.forward(x), y);
        backward(l);
        return l;
      });
      const eta = agd.step(model.parameters());
      losses.push(await loss.item());
      etas.push(await eta.item());
      loss.dispose();
      eta.dispose();
    }
  } finally {
    x.dispose();
    y.dispose();
    model.dispose();
  }
  const { vendor, architecture, description } = backend.adapterInfo;
  return { etas, losses, adapter: description || [vendor, architecture].filter(Boolean).join(" ") };
}

/**
 * The trained model run forward without gradients: the test-set evaluation
 * (apps/cli/evaluate.ts's figures) and the page's classification of images.
 *
 * @module
 */
import { ArrayDataset, createLoader, type DatasetInfo } from "@agd/datasets/memory";
import type { Module } from "@agd/models";
import {
  add,
  countCorrect,
  mseLoss,
  mul,
  noGrad,
  type Tensor,
  tensor,
  tidy,
  zeros,
} from "@agd/tensor";

/** A model's predictions for a batch of images. */
export interface Predictions {
  /** Logits, one row of `classes` per image. */
  logits: Float32Array;
  /** Top class of each image. */
  top: number[];
}

/** Options of {@link evaluateModel}. */
export interface EvaluateOptions {
  /** Test batch size (`--test_bs`). */
  batchSize: number;
  /** The loader's seed (the test loader does not shuffle; apps/cli passes it all the same). */
  seed: number;
}

/**
 * Test loss and accuracy in evaluation mode, as apps/cli/evaluate.ts
 * computes them (sums kept on the GPU, one read). The model is back in
 * training mode afterwards.
 *
 * @param model the model
 * @param test the test split
 * @param options batch size and seed
 * @returns the mean loss per sample and the accuracy
 */
export async function evaluateModel(
  model: Module,
  test: ArrayDataset,
  options: EvaluateOptions,
): Promise<{ loss: number; acc: number }> {
  const shape = [test.info.channels, test.info.height, test.info.width];
  model.eval();
  let lossSum = zeros([]);
  let correct = zeros([]);
  let samples = 0;
  try {
    const loader = createLoader(test, { batchSize: options.batchSize, seed: options.seed });
    for await (const batch of loader) {
      const x = tensor(batch.images, { shape: [batch.size, ...shape] });
      const y = tensor(batch.labels);
      const [nextLoss, nextCorrect] = tidy(() =>
        noGrad(() => {
          const out = model.forward(x);
          return [
            add(lossSum, mul(mseLoss(out, y), batch.size)),
            add(correct, countCorrect(out, y)),
          ];
        })
      );
      [lossSum, correct, x, y].forEach((t) => t.dispose());
      lossSum = nextLoss;
      correct = nextCorrect;
      samples += batch.size;
    }
    return { loss: (await lossSum.item()) / samples, acc: (await correct.item()) / samples };
  } finally {
    lossSum.dispose();
    correct.dispose();
    model.train();
  }
}

/**
 * Normalises 28×28 grayscale pixels as the dataset's transform does
 * (ToTensor, then Normalize with the dataset's mean and std): the very
 * transform of the training batches, through an {@link ArrayDataset}.
 *
 * @param info the dataset's metadata (shape, mean, std)
 * @param pixels N×H×W uint8 grayscale images (white item on black, as in the dataset)
 * @returns N×1×H×W float32, normalised
 */
export async function normalizeImages(
  info: DatasetInfo,
  pixels: Uint8Array,
): Promise<Float32Array> {
  const plane = info.channels * info.height * info.width;
  const count = pixels.length / plane;
  if (!Number.isInteger(count)) {
    throw new Error(
      `Cannot normalise ${pixels.length} pixels: not a whole number of ${info.height}×${info.width} images`,
    );
  }
  const ds = new ArrayDataset({ images: pixels, labels: new Uint8Array(count), count }, {
    info,
    split: "test",
  });
  return (await ds.load(Int32Array.from({ length: count }, (_, i) => i), { seed: 0, epoch: 0 }))
    .images;
}

/** Index of the largest value of row `row` of a `[rows, cols]` array. */
function argmaxRow(v: Float32Array, row: number, cols: number): number {
  let best = 0;
  for (let j = 1; j < cols; j++) if (v[row * cols + j] > v[row * cols + best]) best = j;
  return best;
}

/**
 * The model's logits and top class for normalised images, in evaluation
 * mode (the model is back in training mode afterwards).
 *
 * @param model the model
 * @param info the dataset's metadata (image shape, classes)
 * @param images N×1×28×28 float32, normalised (see {@link normalizeImages})
 * @returns logits and top classes
 */
export async function predictImages(
  model: Module,
  info: DatasetInfo,
  images: Float32Array,
): Promise<Predictions> {
  const { channels: c, height: h, width: w, classes } = info;
  const n = images.length / (c * h * w);
  model.eval();
  let out: Tensor | undefined;
  try {
    const x = tensor(images, { shape: [n, c, h, w] });
    out = noGrad(() => model.forward(x));
    x.dispose();
    const logits = Float32Array.from(await out.data());
    return { logits, top: Array.from({ length: n }, (_, i) => argmaxRow(logits, i, classes)) };
  } finally {
    out?.dispose();
    model.train();
  }
}

/**
 * Test-set evaluation at each epoch's end: loss and accuracy in evaluation
 * mode, over the whole test set or, with `--distribute`, over every rank's
 * share of it.
 *
 * @module
 */
import { createLoader, type Dataset } from "@agd/datasets";
import type { DataParallel } from "@agd/distributed";
import type { Module } from "@agd/models";
import { add, countCorrect, mul, noGrad, tidy, zeros } from "@agd/tensor";
import type { TrainConfig } from "./args.ts";
import { toTensors } from "./data.ts";
import { lossFunction } from "./setup.ts";

/** Test loss (mean per sample) and accuracy. */
export interface TestMetrics {
  /** Mean loss per sample. */
  loss: number;
  /** Fraction of correct predictions. */
  acc: number;
}

/**
 * Test-set loss and accuracy in evaluation mode (running BatchNorm statistics);
 * with `shard`, over that rank's share of the test set only.
 */
export async function evaluate(
  model: Module,
  dataset: Dataset,
  config: TrainConfig,
  shard?: { rank: number; worldSize: number },
): Promise<TestMetrics> {
  const lossFn = lossFunction(config);
  model.eval();
  let lossSum = zeros([]);
  let correct = zeros([]);
  let samples = 0;
  for await (
    const batch of createLoader(dataset, { batchSize: config.test_bs, seed: config.seed, ...shard })
  ) {
    const [x, y] = toTensors(batch, dataset.info);
    const [nextLoss, nextCorrect] = tidy(() =>
      noGrad(() => {
        const out = model.forward(x);
        return [add(lossSum, mul(lossFn(out, y), batch.size)), add(correct, countCorrect(out, y))];
      })
    );
    [lossSum, correct, x, y].forEach((t) => t.dispose());
    lossSum = nextLoss;
    correct = nextCorrect;
    samples += batch.size;
  }
  const result = { loss: (await lossSum.item()) / samples, acc: (await correct.item()) / samples };
  lossSum.dispose();
  correct.dispose();
  model.train();
  return result;
}

/**
 * The epoch's test metrics. With `dist`, rank 0's BatchNorm statistics are
 * broadcast first (like DDP's broadcast_buffers: they are what is evaluated
 * and saved), each rank evaluates its shard, and the ranks' results are
 * averaged.
 */
export async function testMetrics(
  model: Module,
  dataset: Dataset,
  config: TrainConfig,
  dist?: DataParallel,
): Promise<TestMetrics> {
  if (!dist) return await evaluate(model, dataset, config);
  await dist.broadcast(model.buffers());
  const shard = await evaluate(model, dataset, config, { rank: dist.rank, worldSize: dist.size });
  const [loss, acc] = await dist.sum([shard.loss, shard.acc]);
  return { loss: loss / dist.size, acc: acc / dist.size };
}

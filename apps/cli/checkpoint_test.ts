// The checkpoint keeps the optimizer's whole state: Adam's moments and its
// step count. A checkpoint written before the state carried the count (no
// optimizer_step; Adam's t was the run's global_step) still resumes exactly.
import { deepStrictEqual, equal } from "node:assert/strict";
import { Adam, disposeState, type OptimizerState, type TrainSetup, trainStep } from "@agd/agd";
import { createModel, type Module, saveCheckpoint } from "@agd/models";
import {
  cpu,
  mseLoss,
  readSafetensors,
  Rng,
  setBackend,
  type Tensor,
  tensor,
  writeSafetensors,
} from "@agd/tensor";
import { parseTrainArgs } from "./args.ts";
import { CHECKPOINT, loadRun, OPTIMIZER_PREFIX, saveRun } from "./checkpoint.ts";
import { readMetrics } from "./plot.ts";
import { Progress } from "./progress.ts";
import { train } from "./train.ts";
import { haveFashion, smallFcnArgs } from "./_test_util.ts";

const config = parseTrainArgs(["--optimizer", "adam", "--lr", "0.01"]).config;

function tinyModel(): Module {
  return createModel("fcn", "mnist", { depth: 3, width: 8, seed: 0, backend: cpu() });
}

/** `steps` Adam steps on fixed random batches, starting at batch `from`. */
async function adamSteps(
  model: Module,
  state: OptimizerState,
  from: number,
  steps: number,
): Promise<OptimizerState> {
  const params = model.parameters();
  const setup: TrainSetup = {
    forward: (x) => model.forward(x),
    loss: mseLoss,
    params,
    optimizer: new Adam({ lr: 0.01 }),
  };
  for (let s = from; s < from + steps; s++) {
    const rng = new Rng(s);
    const x = tensor(rng.normals(4 * 784), { shape: [4, 1, 28, 28] });
    const y = tensor(Int32Array.from({ length: 4 }, () => rng.int(10)));
    const r = await trainStep(setup, { x, y, state });
    state = r.state;
    [r.eta, r.lossSum, r.correct, x, y].forEach((t: Tensor) => t.dispose());
  }
  return state;
}

async function weights(model: Module): Promise<number[][]> {
  return await Promise.all(model.parameters().map(async (p) => [...await p.value.data()]));
}

for (const format of ["current", "before optimizer_step"] as const) {
  Deno.test(`checkpoint (${format}): Adam resumes with its moments and step count`, async () => {
    setBackend(cpu());
    const dir = await Deno.makeTempDir();
    const path = `${dir}/${CHECKPOINT}`;
    const adam = new Adam({ lr: 0.01 });
    // Uninterrupted: 5 steps.
    const straight = tinyModel();
    disposeState(await adamSteps(straight, adam.init(straight.parameters()), 0, 5));
    // Interrupted after 3 steps, saved, loaded into a fresh model, 2 more steps.
    const first = tinyModel();
    const state = await adamSteps(first, adam.init(first.parameters()), 0, 3);
    if (format === "current") {
      await saveRun(path, { config, model: first, state }, { epoch: 0, step: 3, globalStep: 3 });
    } else {
      // What train.ts wrote before: the moments, and Adam's t only as global_step.
      await saveCheckpoint(path, first, {
        extra: new Map([...state.tensors].map(([k, v]) => [`${OPTIMIZER_PREFIX}${k}`, v])),
        metadata: { arch: "fcn", optimizer: "adam", epoch: 0, step: 3, global_step: 3 },
      });
    }
    disposeState(state);
    const second = tinyModel();
    const resumed = await loadRun(path, { model: second, initial: adam.init(second.parameters()) });
    equal(resumed.state.step, 3);
    equal(resumed.globalStep, 3);
    equal(resumed.state.tensors.size, 2 * second.parameters().length);
    disposeState(await adamSteps(second, resumed.state, 3, 2));
    deepStrictEqual(await weights(second), await weights(straight));
    [straight, first, second].forEach((m) => m.dispose());
    await Deno.remove(dir, { recursive: true });
  });
}

Deno.test({
  name: "train --optimizer adam: --resume of a checkpoint without optimizer_step matches " +
    "an uninterrupted run",
  ignore: !haveFashion,
  fn: async () => {
    const [full, split] = [await Deno.makeTempDir(), await Deno.makeTempDir()];
    const args = [...smallFcnArgs(300, 100), "--optimizer", "adam", "--lr", "0.001"];
    const run = async (argv: string[], resume = false) => {
      const { config } = parseTrainArgs([...args, ...argv]);
      const result = await train({ ...config, resume }, { progress: new Progress(false) });
      result.model.dispose();
    };
    await run(["--epochs", "2", "--out", full]);
    await run(["--epochs", "1", "--out", split]);
    // Make the checkpoint one written before the optimizer state held its step count.
    const path = `${split}/${CHECKPOINT}`;
    const { tensors, metadata } = await readSafetensors(path);
    const { optimizer_step: _, ...before } = metadata;
    equal(before.global_step, "3");
    await writeSafetensors(path, tensors, { metadata: before });
    await run(["--epochs", "2", "--out", split], true);
    const strip = (m: Awaited<ReturnType<typeof readMetrics>>) =>
      m.map(({ samples_per_s: _s, seconds: _t, data_wait_ms: _w, ...rest }) => rest);
    deepStrictEqual(strip(await readMetrics(split)), strip(await readMetrics(full)));
    await Deno.remove(full, { recursive: true });
    await Deno.remove(split, { recursive: true });
  },
});

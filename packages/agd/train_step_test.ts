// trainStep against the step written out by hand (forward, loss, backward,
// update), its statistics against the loss and predictions read back, and the
// gradient hook's place in it: watch() before backward, done() awaited before
// the update.
import { deepStrictEqual, equal, ok } from "node:assert/strict";
import {
  backward,
  cpu,
  crossEntropyLoss,
  linear,
  Rng,
  setBackend,
  type Tensor,
  tensor,
  tidy,
} from "@agd/tensor";
import { assertClose } from "../tensor/testing/assert.ts";
import { Adam, Agd, type Optimizer } from "./optimizer.ts";
import type { ParamRef } from "./param.ts";
import { type TrainSetup, trainStep } from "./train_step.ts";

/** A two-layer linear net on 6 features and 3 classes. */
function net(): ParamRef[] {
  const rng = new Rng(9);
  return [
    { name: "w1", value: tensor(rng.normals(24), { shape: [4, 6], requiresGrad: true }) },
    { name: "w2", value: tensor(rng.normals(12), { shape: [3, 4], requiresGrad: true }) },
  ].map((p) => ({
    ...p,
    layer: { fanOut: p.value.shape[0], fanIn: p.value.shape[1], kernel: [1, 1] },
  }));
}

const forward = (params: ParamRef[]) => (x: Tensor) =>
  linear(linear(x, params[0].value), params[1].value);

function batch(): { x: Tensor; y: Tensor } {
  const rng = new Rng(2);
  return {
    x: tensor(rng.normals(5 * 6), { shape: [5, 6] }),
    y: tensor(Int32Array.from([0, 2, 1, 1, 0])),
  };
}

for (
  const [name, make] of [
    ["agd", () => new Agd()],
    ["adam", () => new Adam({ lr: 0.01 })],
  ] as const
) {
  Deno.test(`trainStep (${name}) is forward, loss, backward and the optimizer's update`, async () => {
    setBackend(cpu());
    const { x, y } = batch();
    const [mine, ref] = [net(), net()];
    const optimizer: Optimizer = make();
    const setup: TrainSetup = {
      forward: forward(mine),
      loss: crossEntropyLoss,
      params: mine,
      optimizer,
    };
    let state = optimizer.init(mine);
    let refState = optimizer.init(ref);
    for (let step = 0; step < 2; step++) {
      const r = await trainStep(setup, { x, y, state });
      state = r.state;
      // The same step by hand, with the statistics read back on the host.
      const [loss, logits] = tidy(() => {
        const out = forward(ref)(x);
        const l = crossEntropyLoss(out, y);
        backward(l);
        return [l, out];
      });
      const refStep = optimizer.update(ref, refState);
      refState = refStep.state;
      equal(state.step, step + 1);
      assertClose(await r.eta.data(), await refStep.eta.data(), { atol: 0, rtol: 0, label: "η" });
      assertClose([await r.lossSum.item()], [5 * await loss.item()], { label: "loss × batch" });
      const rows = await logits.data();
      const labels = await y.data();
      let correct = 0;
      for (let i = 0; i < 5; i++) {
        const row = [...rows.slice(3 * i, 3 * i + 3)];
        if (row.indexOf(Math.max(...row)) === labels[i]) correct++;
      }
      equal(await r.correct.item(), correct);
      for (const [k, p] of mine.entries()) {
        assertClose(await p.value.data(), await ref[k].value.data(), { atol: 0, rtol: 0 });
      }
      [r.eta, r.lossSum, r.correct, refStep.eta, loss, logits].forEach((t) => t.dispose());
    }
    for (const t of [...state.tensors.values(), ...refState.tensors.values()]) t.dispose();
    [x, y, ...mine.map((p) => p.value), ...ref.map((p) => p.value)].forEach((t) => t.dispose());
  });
}

Deno.test("trainStep: watch() runs before backward, done() is awaited before the update", async () => {
  setBackend(cpu());
  const { x, y } = batch();
  const params = net();
  const optimizer = new Agd();
  const events: string[] = [];
  const before = params.map((p) => p.value);
  const sync = {
    watch: () => {
      events.push(`watch: grads ${params.map((p) => p.value.grad ? "set" : "null").join(",")}`);
    },
    done: async () => {
      await new Promise((r) => setTimeout(r, 1));
      const unchanged = params.every((p, i) => p.value === before[i] && p.value.grad);
      events.push(`done: ${unchanged ? "weights not yet updated, grads set" : "too late"}`);
    },
  };
  const r = await trainStep(
    { forward: forward(params), loss: crossEntropyLoss, params, optimizer, stats: false },
    { x, y, state: optimizer.init(params), sync },
  );
  deepStrictEqual(events, [
    "watch: grads null,null",
    "done: weights not yet updated, grads set",
  ]);
  ok(params.every((p, i) => p.value !== before[i] && !p.value.grad), "updated after done()");
  // stats: false computes no statistics.
  deepStrictEqual(Object.keys(r).sort(), ["eta", "state"]);
  [r.eta, x, y, ...params.map((p) => p.value)].forEach((t) => t.dispose());
});

// The fused AGD step (agd_terms → agd_eta → agd_update) against the unfused
// one (Algorithm 1 written with elementwise ops and reductions), on the CPU
// reference and on each WebGPU implementation: same η, same G, same new weights. Then the
// optimizers' explicit state.
import { equal, throws } from "node:assert/strict";
import { type Backend, cpu, Rng, setBackend, type Tensor, tensor } from "@agd/tensor";
import { assertClose } from "../tensor/testing/assert.ts";
import { TEST_DEVICES } from "../tensor/testing/devices.ts";
import { Adam, Agd, disposeState, type OptimizerState, Sgd, stateBytes } from "./optimizer.ts";
import type { LayerShape, ParamRef } from "./param.ts";

function makeParams(backend: Backend): ParamRef[] {
  const rng = new Rng(3);
  const layers: [string, number[], LayerShape][] = [
    ["linear", [5, 3], { fanOut: 5, fanIn: 3, kernel: [1, 1] }],
    ["conv", [4, 3, 3, 3], { fanOut: 4, fanIn: 3, kernel: [3, 3] }],
    ["resting", [2, 6], { fanOut: 2, fanIn: 6, kernel: [1, 1] }],
    ["wide", [300, 260], { fanOut: 300, fanIn: 260, kernel: [1, 1] }],
  ];
  return layers.map(([name, shape, layer]) => {
    const n = shape.reduce((a, b) => a * b);
    const value = tensor(rng.normals(n), { shape, backend, requiresGrad: true });
    // "resting" has a zero gradient: nan_to_num must keep it where it is.
    const g = name === "resting" ? new Float32Array(n) : rng.normals(n);
    value.grad = tensor(g, { shape, backend });
    return { name, value, layer };
  });
}

for (const device of TEST_DEVICES) {
  Deno.test({
    name: `fused AGD step matches the unfused composite (${device.name})`,
    ignore: device.ignore,
    fn: async () => {
      const backend = await device.backend();
      const gain = 2;
      const [params, refParams] = [makeParams(backend), makeParams(backend)];
      const [agd, ref] = [new Agd({ gain }), new Agd({ gain, fused: false })];
      const [summary, refSummary] = [agd.summary(params), ref.summary(refParams)];
      const tol = { atol: 1e-6, rtol: 1e-5 };
      assertClose(await summary.G.data(), await refSummary.G.data(), { ...tol, label: "G" });
      assertClose(await summary.eta.data(), await refSummary.eta.data(), {
        ...tol,
        label: "summary η",
      });
      const resting = await params[2].value.data();
      const [eta, refEta] = [agd.step(params), ref.step(refParams)];
      assertClose(await eta.data(), await refEta.data(), { ...tol, label: "step η" });
      for (const [k, p] of params.entries()) {
        assertClose(await p.value.data(), await refParams[k].value.data(), {
          ...tol,
          label: p.name,
        });
        if (p.name === "resting") {
          assertClose(await p.value.data(), resting, { atol: 0, rtol: 0, label: "at rest" });
        }
      }
      [summary.G, summary.eta, eta, refSummary.G, refSummary.eta, refEta].forEach((t) =>
        t.dispose()
      );
      for (const p of [...params, ...refParams]) p.value.dispose();
    },
  });
}

// Explicit state: every optimizer threads its state through update(); a state
// copied out (as a checkpoint does) and restored continues the run exactly.

/** Two weights with fixed values, and a gradient per step that depends on the step. */
function baselineParams(): ParamRef[] {
  const rng = new Rng(5);
  return [
    { name: "a", value: tensor(rng.normals(6), { shape: [3, 2], requiresGrad: true }) },
    { name: "b", value: tensor(rng.normals(8), { shape: [2, 4], requiresGrad: true }) },
  ];
}

function setGrads(params: ParamRef[], step: number): void {
  const rng = new Rng(100 + step);
  for (const p of params) {
    p.value.grad = tensor(rng.normals(p.value.size), { shape: p.value.shape });
  }
}

/** A state's values on the host and back into new tensors: what saving and loading a checkpoint does. */
async function roundTrip(state: OptimizerState): Promise<OptimizerState> {
  const tensors = new Map<string, Tensor>();
  for (const [k, t] of state.tensors) tensors.set(k, tensor(await t.data(), { shape: t.shape }));
  disposeState(state);
  return { step: state.step, tensors };
}

async function weights(params: ParamRef[]): Promise<number[][]> {
  return await Promise.all(params.map(async (p) => [...await p.value.data()]));
}

for (
  const [name, make] of [
    ["sgd with momentum", () => new Sgd({ lr: 0.1, momentum: 0.9 })],
    ["adam", () => new Adam({ lr: 0.01 })],
  ] as const
) {
  Deno.test(`${name}: a restored state continues the run exactly (step count included)`, async () => {
    setBackend(cpu());
    const run = async (restoreAfter?: number) => {
      const optimizer = make();
      const params = baselineParams();
      let state = optimizer.init(params);
      for (let step = 0; step < 4; step++) {
        setGrads(params, step);
        const next = optimizer.update(params, state);
        next.eta.dispose();
        state = step + 1 === restoreAfter ? await roundTrip(next.state) : next.state;
      }
      equal(state.step, 4);
      const bytes = stateBytes(state);
      disposeState(state);
      return { w: await weights(params), bytes };
    };
    const straight = await run();
    const restored = await run(2);
    restored.w.forEach((w, i) => assertClose(w, straight.w[i], { atol: 0, rtol: 0 }));
    // SGD: one velocity per weight; Adam: two moments per weight (14 weights of 4 bytes).
    equal(straight.bytes, name === "adam" ? 2 * 14 * 4 : 14 * 4);
  });
}

Deno.test("adam: the step count in the state drives the bias correction", async () => {
  setBackend(cpu());
  const adam = new Adam({ lr: 0.01 });
  // Adam's first step moves every weight by lr·sign(g) (m̂/√v̂ = g/|g| when t = 1) …
  const first = baselineParams();
  const before = await weights(first);
  setGrads(first, 0);
  const grads = await Promise.all(first.map(async (p) => [...await p.value.grad!.data()]));
  const one = adam.update(first, adam.init(first));
  equal(one.state.step, 1);
  (await weights(first)).forEach((w, i) =>
    assertClose(w, before[i].map((v, j) => v - 0.01 * Math.sign(grads[i][j])), { rtol: 1e-5 })
  );
  // … and from a state that says a hundred steps were taken, by PyTorch's
  // formula with t = 101: lr·(m/(1−β₁ᵗ)) / (√v/√(1−β₂ᵗ) + ε), m = 0.1·g, v = 0.001·g².
  const late = baselineParams();
  setGrads(late, 0);
  const init = adam.init(late);
  const step = adam.update(late, { step: 100, tensors: init.tensors });
  equal(step.state.step, 101);
  const [c1, c2] = [1 - 0.9 ** 101, 1 - 0.999 ** 101];
  (await weights(late)).forEach((w, i) =>
    assertClose(
      w,
      before[i].map((v, j) => {
        const g = grads[i][j];
        return v - (0.01 * (0.1 * g / c1)) / (Math.sqrt(0.001 * g * g) / Math.sqrt(c2) + 1e-8);
      }),
      { rtol: 1e-5 },
    )
  );
  [one.eta, step.eta].forEach((t) => t.dispose());
  [one.state, step.state].forEach(disposeState);
});

Deno.test("agd: update() is step() with the state's step count advanced", async () => {
  setBackend(cpu());
  const [a, b] = [makeParams(cpu()), makeParams(cpu())];
  const agd = new Agd();
  const state = agd.init(a);
  equal(stateBytes(state), 0);
  const { eta, state: next } = agd.update(a, state);
  const etaB = agd.step(b);
  equal(next.step, 1);
  equal(next.tensors.size, 0);
  assertClose(await eta.data(), await etaB.data(), { atol: 0, rtol: 0 });
  for (const [k, p] of a.entries()) {
    assertClose(await p.value.data(), await b[k].value.data(), { atol: 0, rtol: 0 });
  }
  [eta, etaB, ...a.map((p) => p.value), ...b.map((p) => p.value)].forEach((t) => t.dispose());
});

Deno.test("sgd and adam: a state without a tensor the step needs is an error naming it", () => {
  setBackend(cpu());
  const params = baselineParams();
  setGrads(params, 0);
  throws(
    () => new Adam({ lr: 0.1 }).update(params, { step: 0, tensors: new Map() }),
    /Cannot step Adam: its state has no tensor "a.m"/,
  );
});

// A training loop allocates nothing new after its first steps, and memory in
// use stays flat: 100 AGD steps of an fcn (on the CPU reference, the wasm
// backend and each WebGPU implementation), 20 of resnet18 (on the wasm
// backend and each WebGPU implementation). The pooled backends (wasm,
// WebGPU) must also take no new memory; the reference allocates per op.
import { equal } from "node:assert/strict";
import { Agd, agdInit, trainStep } from "@agd/agd";
import { createModel } from "@agd/models";
import { type Backend, crossEntropyLoss, Rng, type Tensor, tensor } from "@agd/tensor";
import { FAST_DEVICES, TEST_DEVICES } from "../packages/tensor/testing/devices.ts";

async function memoryOverSteps(backend: Backend, arch: string, dataset: string, steps: number) {
  const model = createModel(arch, dataset, { depth: 4, width: 64, backend });
  const params = model.parameters();
  agdInit(params, { seed: 0 });
  const agd = new Agd();
  const setup = {
    forward: (x: Tensor) => model.forward(x),
    loss: crossEntropyLoss,
    params,
    optimizer: agd,
    stats: false,
  } as const;
  let state = agd.init(params);
  const rng = new Rng(0);
  const shape = dataset === "mnist" ? [16, 1, 28, 28] : [4, 3, 32, 32];
  const n = shape.reduce((a, b) => a * b);
  const samples: { bytesInUse: number; allocations: number }[] = [];
  for (let i = 0; i < steps; i++) {
    const x = tensor(rng.normals(n), { shape, backend });
    const y = tensor(Int32Array.from({ length: shape[0] }, (_, k) => (k + i) % 10), { backend });
    const step = await trainStep(setup, { x, y, state });
    state = step.state;
    const eta = step.eta;
    await eta.item(); // a sync per step here only so the pool sees every release in order
    [x, y, eta].forEach((t) => t.dispose());
    const { bytesInUse, allocations } = backend.memory();
    samples.push({ bytesInUse, allocations });
  }
  model.dispose();
  return samples;
}

for (const device of TEST_DEVICES) {
  Deno.test({
    name: `memory in use is flat over 100 AGD steps of fcn (${device.name})`,
    ignore: device.ignore,
    fn: async () => {
      const backend = await device.backend();
      const samples = await memoryOverSteps(backend, "fcn", "mnist", 100);
      for (let i = 2; i < samples.length; i++) {
        equal(samples[i].bytesInUse, samples[1].bytesInUse, `bytes in use at step ${i}`);
        if (backend.name !== "cpu") {
          equal(samples[i].allocations, samples[1].allocations, `new buffers at step ${i}`);
        }
      }
    },
  });
}

for (const device of FAST_DEVICES) {
  Deno.test({
    name:
      `no new buffers and flat memory over 20 AGD steps of resnet18 at batch 4 (${device.name})`,
    ignore: device.ignore,
    fn: async () => {
      const samples = await memoryOverSteps(await device.backend(), "resnet18", "cifar10", 20);
      for (let i = 2; i < samples.length; i++) {
        equal(samples[i].bytesInUse, samples[1].bytesInUse, `bytes in use at step ${i}`);
        equal(samples[i].allocations, samples[1].allocations, `new buffers at step ${i}`);
      }
    },
  });
}

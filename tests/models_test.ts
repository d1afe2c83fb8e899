// Architectures against PyTorch: parameter and buffer names/shapes/counts from
// packages/models/testing/torch_reference.json (generated once by
// torch_reference.py with Debian's python3-torch), a forward + backward of each
// at a small batch on each WebGPU implementation (on the CPU reference where
// there is none), and checkpoint round trips.
import { deepStrictEqual, equal, match, ok, rejects } from "node:assert/strict";
import {
  createModel,
  Fcn,
  loadCheckpoint,
  type Module,
  parameterCount,
  saveCheckpoint,
} from "@agd/models";
import {
  type Backend,
  backward,
  cpu,
  encodeSafetensors,
  mean,
  noGrad,
  Rng,
  type SafeTensor,
  square,
  tensor,
  tidy,
} from "@agd/tensor";
import { loadFixture } from "../packages/tensor/testing/fixtures.ts";
import { FAST_DEVICES } from "../packages/tensor/testing/devices.ts";

interface Reference {
  arch: string;
  dataset: string;
  params: [string, number[]][];
  buffers: [string, number[], string][];
  param_count: number;
  input_shape: number[];
  output_shape: number[];
  small_input_shape?: number[];
  small_output_shape?: number[];
}

const reference: { models: Record<string, Reference> } = JSON.parse(
  await Deno.readTextFile(
    new URL("../packages/models/testing/torch_reference.json", import.meta.url),
  ),
);

function build(ref: Reference, backend: Backend): Module {
  const fcn = ref.arch === "fcn";
  const [depth, width] = fcn ? [ref.params.length, ref.params[0][1][0]] : [10, 256];
  if (fcn && ref.params[0][1][1] !== 784) {
    return new Fcn({ depth, width, inputSize: ref.params[0][1][1], classes: ref.output_shape[1] }, {
      rng: new Rng(0),
      backend,
    });
  }
  return createModel(ref.arch, ref.dataset === "mnist" ? "mnist" : ref.dataset, {
    depth,
    width,
    backend,
  });
}

for (const [key, ref] of Object.entries(reference.models)) {
  Deno.test(`${key}: parameter and buffer names, shapes and count match PyTorch`, () => {
    const model = build(ref, cpu());
    deepStrictEqual(model.parameters().map((p) => [p.name, [...p.value.shape]]), ref.params);
    const buffers = [
      ...model.buffers().map((b) => [b.name, [...b.value.shape], "F32"]),
      ...model.counters().map((c) => [c.name, [], "I64"]),
    ];
    const sort = (a: unknown[][]) =>
      [...a].sort((x, y) => String(x[0]).localeCompare(String(y[0])));
    deepStrictEqual(sort(buffers), sort(ref.buffers));
    equal(parameterCount(model), ref.param_count);
    model.dispose();
  });
}

Deno.test("resnet50 on ImageNet has 25,502,912 weights (torchvision's 25,557,032 minus biases and BN affine)", () => {
  const model = createModel("resnet50", "imagenet", { backend: cpu() });
  equal(parameterCount(model), 25_502_912);
  model.dispose();
});

for (const device of FAST_DEVICES) {
  for (const [key, ref] of Object.entries(reference.models)) {
    if (key === "fcn_d4_w32_in48" || key === "vgg13_cifar10" || key === "vgg19_cifar10") continue;
    Deno.test({
      name:
        `${key}: forward + backward at batch 2 gives the reference output shape and finite gradients (${device.name})`,
      ignore: device.ignore,
      fn: () => forwardBackward(ref, device.backend()),
    });
  }
  Deno.test({
    name:
      `checkpoint: save → load gives identical outputs in eval mode, with metadata (${device.name})`,
    ignore: device.ignore,
    fn: async () => checkpointRoundTrip(await device.backend()),
  });
}

/** A forward and backward pass of the model at its small batch. */
async function forwardBackward(ref: Reference, device: Promise<Backend>): Promise<void> {
  const backend = await device;
  const model = build(ref, backend);
  const input = ref.small_input_shape ?? ref.input_shape;
  const rng = new Rng(1);
  const x = tensor(rng.normals(input.reduce((a, b) => a * b)), { shape: input, backend });
  const out = tidy(() => {
    const y = model.forward(x);
    backward(mean(square(y)));
    return y;
  });
  deepStrictEqual([...out.shape], ref.small_output_shape ?? ref.output_shape);
  const values = await out.data();
  ok(values.every(Number.isFinite));
  for (const p of model.parameters()) {
    ok(p.value.grad, `${p.name} has a gradient`);
  }
  const last = model.parameters().at(-1)!;
  ok((await last.value.grad!.data()).some((v) => v !== 0), `${last.name} gradient is non-zero`);
  [x, out].forEach((t) => t.dispose());
  model.dispose();
}

/** Saves a model in train mode and loads it into another: same outputs in eval mode. */
async function checkpointRoundTrip(backend: Backend): Promise<void> {
  const dir = await Deno.makeTempDir();
  const a = createModel("resnet18", "cifar10", { backend, seed: 1 });
  const b = createModel("resnet18", "cifar10", { backend, seed: 2 });
  const x = tensor(new Rng(3).normals(2 * 3 * 32 * 32), { shape: [2, 3, 32, 32], backend });
  noGrad(() => a.forward(x)).dispose(); // train-mode step: moves the running statistics
  await saveCheckpoint(`${dir}/ckpt.safetensors`, a, { metadata: { arch: "resnet18", epoch: 3 } });
  const { metadata } = await loadCheckpoint(`${dir}/ckpt.safetensors`, b);
  equal(metadata.epoch, "3");
  a.eval();
  b.eval();
  const ya = noGrad(() => a.forward(x));
  const yb = noGrad(() => b.forward(x));
  deepStrictEqual(await yb.data(), await ya.data());
  equal(b.counters()[0].count, 1);
  [x, ya, yb].forEach((t) => t.dispose());
  a.dispose();
  b.dispose();
  await Deno.remove(dir, { recursive: true });
}

Deno.test("checkpoint: a PyTorch state dict (the fcn fixture's init weights) loads", async () => {
  const fx = await loadFixture("fcn_agd.safetensors");
  const dir = await Deno.makeTempDir();
  const names = ["initial.weight", "layers.0.weight", "layers.1.weight", "final.weight"];
  const tensors = new Map<string, SafeTensor>(
    names.map((
      n,
    ) => [n, { dtype: "F32", shape: fx.shape(`init.${n}`), data: fx.f32(`init.${n}`) }]),
  );
  await Deno.writeFile(`${dir}/torch.safetensors`, encodeSafetensors(tensors));
  const model = new Fcn({ depth: 4, width: 32, inputSize: 48, classes: 10 }, {
    rng: new Rng(0),
    backend: cpu(),
  });
  await loadCheckpoint(`${dir}/torch.safetensors`, model);
  deepStrictEqual(await model.parameters()[0].value.data(), fx.f32("init.initial.weight"));
  model.dispose();
  await Deno.remove(dir, { recursive: true });
});

Deno.test("checkpoint: missing or mis-shaped tensors are rejected naming the tensor and both shapes", async () => {
  const dir = await Deno.makeTempDir();
  const small = new Fcn({ depth: 3, width: 8, inputSize: 4, classes: 2 }, {
    rng: new Rng(0),
    backend: cpu(),
  });
  await saveCheckpoint(`${dir}/small.safetensors`, small);
  const wide = new Fcn({ depth: 3, width: 16, inputSize: 4, classes: 2 }, {
    rng: new Rng(0),
    backend: cpu(),
  });
  await rejects(loadCheckpoint(`${dir}/small.safetensors`, wide), (e: Error) => {
    match(e.message, /tensor "initial.weight" has shape \[8, 4\], the model expects \[16, 4\]/);
    return true;
  });
  const deep = new Fcn({ depth: 4, width: 8, inputSize: 4, classes: 2 }, {
    rng: new Rng(0),
    backend: cpu(),
  });
  await rejects(
    loadCheckpoint(`${dir}/small.safetensors`, deep),
    /tensor "layers.1.weight" is missing/,
  );
  [small, wide, deep].forEach((m) => m.dispose());
  await Deno.remove(dir, { recursive: true });
});

Deno.test("createModel refuses the pairs the reference refuses", () => {
  for (const [arch, dataset] of [["vgg", "mnist"], ["resnet18", "imagenet"], ["vgg", "imagenet"]]) {
    try {
      createModel(arch, dataset, { backend: cpu() });
    } catch (e) {
      match((e as Error).message, /not compatible/);
      continue;
    }
    throw new Error(`accepted ${arch} on ${dataset}`);
  }
});

// The exported graph's structure, metadata and errors; checkpoints and the CLI.
import assert from "node:assert/strict";
import {
  BatchNorm2d,
  Conv2d,
  createModel,
  type LayerOps,
  Linear,
  Module,
  saveCheckpoint,
} from "@agd/models";
import { cpu, tensor } from "@agd/tensor";
import { decodeModelProto, exportCheckpoint, exportOnnx, inspectOnnx } from "./mod.ts";
import { main } from "./cli.ts";
import { loadOrtModel } from "./ort.ts";
import { randomInput, randomizeBatchNorm, referenceForward, relativeError } from "./_test_util.ts";

const fcn = (): Module =>
  createModel("fcn", "mnist", { depth: 4, width: 8, seed: 1, backend: cpu() }).eval();

Deno.test("fcn export: input, output, opset, producer, metadata and initializers", async () => {
  const model = fcn();
  const bytes = await exportOnnx(model, { inputShape: [1, 28, 28], arch: "fcn", dataset: "mnist" });
  const info = await inspectOnnx(bytes);
  assert.equal(info.irVersion, 8);
  assert.equal(info.opset, 17);
  assert.equal(info.producer, "agd");
  assert.deepEqual(info.inputs, [{ name: "input", dims: ["batch", 1, 28, 28] }]);
  assert.deepEqual(info.outputs, [{ name: "logits", dims: ["batch", 10] }]);
  assert.deepEqual(info.ops, { Flatten: 1, Gemm: 4, Relu: 3, Mul: 3 });
  assert.deepEqual(info.initializers.map((i) => i.name), [
    "initial.weight",
    "const/scale_1.4142135623730951",
    "layers.0.weight",
    "layers.1.weight",
    "final.weight",
  ]);
  assert.equal(info.metadata.arch, "fcn");
  assert.equal(info.metadata.dataset, "mnist");
  assert.deepEqual(JSON.parse(info.metadata.classes), [..."0123456789"]);
  assert.equal(info.metadata.num_classes, "10");
  assert.deepEqual(JSON.parse(info.metadata.mean), [0.1307]);
  assert.deepEqual(JSON.parse(info.metadata.std), [0.3081]);
  assert.deepEqual(JSON.parse(info.metadata.input_shape), [1, 28, 28]);
  assert.equal(info.metadata.input_layout, "NCHW");
  // The weights are the parameters' values, bit for bit; √2 is a float32 scalar.
  const proto = await decodeModelProto(bytes) as {
    graph: { initializer: { name: string; raw_data: Uint8Array; dims?: number[] }[] };
  };
  const raw = (name: string): Float32Array => {
    const t = proto.graph.initializer.find((i) => i.name === name)!;
    return new Float32Array(new Uint8Array(t.raw_data).buffer);
  };
  const [initial] = model.parameters();
  assert.deepEqual(raw("initial.weight"), await initial.value.data());
  assert.deepEqual(raw("const/scale_1.4142135623730951"), Float32Array.of(Math.SQRT2));
  model.dispose();
});

Deno.test("options: class labels, mean/std, extra metadata; bad options are refused", async () => {
  const model = fcn();
  const labels = ["a", "b", "c", "d", "e", "f", "g", "h", "i", "j"];
  const info = await inspectOnnx(
    await exportOnnx(model, {
      inputShape: [1, 28, 28],
      classes: labels,
      mean: [0.5],
      std: [0.25],
      metadata: { depth: 4, note: "x" },
    }),
  );
  assert.deepEqual(JSON.parse(info.metadata.classes), labels);
  assert.equal(info.metadata.mean, "[0.5]");
  assert.equal(info.metadata.std, "[0.25]");
  assert.equal(info.metadata.depth, "4");
  assert.equal(info.metadata.arch, "Fcn");
  await assert.rejects(
    exportOnnx(model, { inputShape: [1, 28, 28], classes: 5 }),
    /options\.classes is 5, but the model outputs 10 logits/,
  );
  await assert.rejects(
    exportOnnx(model, { inputShape: [1, 28, 28], mean: [0.1, 0.2] }),
    /options\.mean must hold 1 finite numbers/,
  );
  await assert.rejects(
    exportOnnx(model, { inputShape: [1, 28, 0] }),
    /inputShape must be \[C, H, W\] of positive integers/,
  );
  await assert.rejects(
    exportOnnx(model, { inputShape: [1, 28, 28], opset: 18 as 17 }),
    /opset 18 is not supported/,
  );
  // fcn's first Linear expects 784 features.
  await assert.rejects(
    exportOnnx(model, { inputShape: [1, 14, 14] }),
    /parameter "initial\.weight" of module "initial" \(Linear\) has shape \[8, 784\], but the layer receives 196 features/,
  );
  model.dispose();
});

Deno.test("BatchNorm: running statistics, eps; folded only where it directly follows a conv", async () => {
  const vgg = createModel("vgg11", "cifar10", { backend: cpu() }).eval();
  randomizeBatchNorm(vgg, 3);
  const plain = await inspectOnnx(
    await exportOnnx(vgg, { inputShape: [3, 32, 32], foldBatchNorm: false }),
  );
  assert.deepEqual(plain.ops, {
    Conv: 8,
    BatchNormalization: 8,
    Relu: 8,
    MaxPool: 5,
    Flatten: 1,
    Gemm: 1,
  });
  assert.ok(plain.initializers.some((i) => i.name === "features.1.running_var"));
  const proto = await decodeModelProto(
    await exportOnnx(vgg, { inputShape: [3, 32, 32], foldBatchNorm: false }),
  ) as {
    graph: {
      node: { op_type: string; input: string[]; attribute?: { name: string; f?: number }[] }[];
    };
  };
  const bn = proto.graph.node.find((n) => n.op_type === "BatchNormalization")!;
  assert.deepEqual(bn.input.slice(3), ["features.1.running_mean", "features.1.running_var"]);
  assert.equal(Math.fround(bn.attribute![0].f!), Math.fround(1e-5));
  const folded = await inspectOnnx(await exportOnnx(vgg, { inputShape: [3, 32, 32] }));
  assert.equal(folded.ops.BatchNormalization, undefined);
  assert.equal(folded.ops.Conv, 8);
  assert.ok(!folded.initializers.some((i) => i.name.includes("running")));
  vgg.dispose();

  // Pre-activation ResNet-18: only bn2 (after conv1) follows a conv; the stem conv's
  // output also feeds layer1.0's identity shortcut, so bn1 there stays.
  const resnet = createModel("resnet18", "cifar10", { backend: cpu() }).eval();
  const r = await inspectOnnx(await exportOnnx(resnet, { inputShape: [3, 32, 32] }));
  assert.equal(r.ops.BatchNormalization, 8);
  assert.equal(r.ops.Conv, 20);
  assert.equal(r.ops.Add, 8);
  assert.equal(r.ops.AveragePool, 1);
  resnet.dispose();
});

Deno.test("torchvision ResNet-50: MaxPool and GlobalAveragePool, all BN folded", async () => {
  const model = createModel("resnet50", "imagenet", { classes: 10, backend: cpu() }).eval();
  const info = await inspectOnnx(
    await exportOnnx(model, { inputShape: [3, 64, 64], dataset: "imagenet" }),
  );
  assert.deepEqual(info.ops, {
    Conv: 53,
    Relu: 49,
    MaxPool: 1,
    Add: 16,
    GlobalAveragePool: 1,
    Flatten: 1,
    Gemm: 1,
  });
  assert.deepEqual(JSON.parse(info.metadata.mean), [0.485, 0.456, 0.406]);
  model.dispose();
});

class Gelu extends Module {
  call<T>(ops: LayerOps<T>, x: T): T {
    return (ops as unknown as { gelu(x: T): T }).gelu(x);
  }
}

class TensorMath extends Module {
  call<T>(_ops: LayerOps<T>, x: T): T {
    return (x as unknown as { reshape(s: number[]): T }).reshape([-1]);
  }
}

Deno.test("unsupported ops and modules are named in a one-sentence error", async () => {
  const rng = { uniforms: (n: number) => new Float32Array(n) };
  const build = (act: Module): Module => {
    const m = new (class extends Module {
      readonly act = this.child("act", act);
      readonly head = this.child(
        "head",
        new Linear(4, 2, { rng: rng as never, backend: cpu() }),
      );
      call<T>(ops: LayerOps<T>, x: T): T {
        return this.head.call(ops, this.act.call(ops, ops.flatten(x)));
      }
    })();
    return m;
  };
  const gelu = build(new Gelu());
  await assert.rejects(
    exportOnnx(gelu, { inputShape: [1, 2, 2] }),
    (e: Error) => {
      assert.match(e.message, /module "act" \(Gelu\) uses op "gelu", which the exporter/);
      assert.equal(e.message.split("\n").length, 1);
      return true;
    },
  );
  // The model is left as it was (no instrumented `call` remains).
  assert.ok(!Object.hasOwn(gelu, "call"));
  await assert.rejects(
    exportOnnx(build(new TensorMath()), { inputShape: [1, 2, 2] }),
    /tracing module "act" \(TensorMath\) failed \(.*\); its forward pass must only use LayerOps/,
  );
});

Deno.test("a corrupt parameter or buffer shape is named", async () => {
  const model = createModel("resnet18", "cifar10", { backend: cpu() }).eval();
  const conv = model.parameters().find((p) => p.name === "layer2.0.conv1.weight")!;
  const good = conv.value;
  conv.value = tensor(new Float32Array(128 * 32 * 9), { shape: [128, 32, 3, 3], backend: cpu() });
  await assert.rejects(
    exportOnnx(model, { inputShape: [3, 32, 32] }),
    /parameter "layer2\.0\.conv1\.weight" of module "layer2\.0\.conv1" \(Conv2d\) has shape \[128, 32, 3, 3\], but the layer receives 64 channels/,
  );
  conv.value.dispose();
  conv.value = tensor(new Float32Array(128 * 64 * 3), { shape: [128, 64, 3], backend: cpu() });
  await assert.rejects(
    exportOnnx(model, { inputShape: [3, 32, 32] }),
    /has shape \[128, 64, 3\], not a Conv2d weight/,
  );
  conv.value.dispose();
  conv.value = good;
  const bn = model.buffers().find((b) => b.name === "layer1.1.bn2.running_var")!;
  bn.value.dispose();
  bn.value = tensor(new Float32Array(3).fill(1), { shape: [3], backend: cpu() });
  await assert.rejects(
    exportOnnx(model, { inputShape: [3, 32, 32] }),
    /buffer "layer1\.1\.bn2\.running_var" of module "layer1\.1\.bn2" \(BatchNorm2d\) has shape \[3\], but the layer receives 64 channels/,
  );
  model.dispose();
});

Deno.test("a training-mode model exports its evaluation graph and stays in training mode", async () => {
  const model = createModel("vgg11", "cifar10", { backend: cpu() });
  const bytes = await exportOnnx(model, { inputShape: [3, 32, 32], foldBatchNorm: false });
  assert.equal((await inspectOnnx(bytes)).ops.BatchNormalization, 8);
  // Every module is as before: training mode, no instrumented `call` left behind.
  const all: Module[] = [];
  const walk = (m: Module): void => {
    all.push(m);
    for (const [, c] of m.children()) walk(c);
  };
  walk(model);
  assert.ok(all.some((m) => m instanceof Conv2d) && all.some((m) => m instanceof BatchNorm2d));
  assert.ok(all.every((m) => m.training && !Object.hasOwn(m, "call")));
  model.dispose();
});

Deno.test("exportCheckpoint and the CLI: architecture from the checkpoint's metadata", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const model = createModel("fcn", "mnist", { depth: 3, width: 16, seed: 5, backend: cpu() });
    model.eval();
    const ckpt = `${dir}/checkpoint.safetensors`;
    await saveCheckpoint(ckpt, model, {
      metadata: { arch: "fcn", dataset: "mnist", depth: 3, width: 16, epoch: 2 },
    });
    const out = `${dir}/model.onnx`;
    const r = await main(["--checkpoint", ckpt, "--out", out]);
    assert.deepEqual(r, {
      arch: "fcn",
      dataset: "mnist",
      classes: 10,
      inputShape: [1, 28, 28],
      bytes: (await Deno.stat(out)).size,
    });
    const bytes = await Deno.readFile(out);
    const info = await inspectOnnx(bytes);
    assert.equal(info.metadata.depth, "3");
    assert.equal(info.metadata.train_epoch, "2");
    const x = randomInput([2, 1, 28, 28], 3);
    const ort = await loadOrtModel(bytes);
    const y = await ort.run(x, [2, 1, 28, 28]);
    await ort.release();
    assert.ok(relativeError(y, await referenceForward(model, x, [2, 1, 28, 28])) < 1e-5);

    // Without depth/width metadata, fcn's are read from the tensors.
    const bare = `${dir}/bare.safetensors`;
    await saveCheckpoint(bare, model, { metadata: { arch: "fcn", dataset: "mnist" } });
    await exportCheckpoint(bare, `${dir}/bare.onnx`);
    const info2 = await inspectOnnx(await Deno.readFile(`${dir}/bare.onnx`));
    assert.deepEqual(info2.initializers, info.initializers);
    assert.equal(info2.metadata.width, "16");
    const noArch = `${dir}/noarch.safetensors`;
    await saveCheckpoint(noArch, model, {});
    await assert.rejects(
      exportCheckpoint(noArch, `${dir}/x.onnx`),
      /Cannot export checkpoint .*noarch\.safetensors to ONNX: it has no "arch" metadata; pass --arch/,
    );
    await assert.rejects(
      exportCheckpoint(bare, `${dir}/x.onnx`, { arch: "resnet18", dataset: "cifar10" }),
      /Cannot load checkpoint .*is missing/,
    );
    model.dispose();
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

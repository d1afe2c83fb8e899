// A short CIFAR-shaped training run of vgg16 and resnet18 on generated data in
// the official binary format, through the real trainer, on the wasm backend
// and on each WebGPU implementation.
import { equal, ok } from "node:assert/strict";
import { createModel, loadCheckpoint } from "@agd/models";
import { parseTrainArgs } from "../apps/cli/args.ts";
import { Progress } from "../apps/cli/progress.ts";
import { train } from "../apps/cli/train.ts";
import { readMetrics } from "../apps/cli/plot.ts";
import { getBackend, Rng, type WebGpuBackend } from "@agd/tensor";
import { FAST_DEVICES, type GpuTestDevice } from "../packages/tensor/testing/devices.ts";

/** `n` CIFAR-10 records (label byte + 3072 random pixel bytes). */
function cifarRecords(n: number, rng: Rng): Uint8Array {
  const out = new Uint8Array(n * 3073);
  for (let i = 0; i < n; i++) {
    out[i * 3073] = i % 10;
    const pixels = rng.uniforms(3072, 0, 256);
    for (let p = 0; p < 3072; p++) out[i * 3073 + 1 + p] = pixels[p];
  }
  return out;
}

async function writeCifar10(root: string): Promise<void> {
  const dir = `${root}/cifar-10-batches-bin`;
  await Deno.mkdir(dir, { recursive: true });
  const rng = new Rng(0);
  for (let b = 1; b <= 5; b++) {
    await Deno.writeFile(`${dir}/data_batch_${b}.bin`, cifarRecords(4, rng));
  }
  await Deno.writeFile(`${dir}/test_batch.bin`, cifarRecords(8, rng));
}

for (const device of FAST_DEVICES) {
  const implementation = (device as Partial<GpuTestDevice>).implementation;
  for (const arch of ["vgg16", "resnet18"]) {
    Deno.test({
      name: `train: 1 epoch of ${arch} on generated CIFAR-10 completes (${device.name})`,
      ignore: device.ignore,
      fn: () => trainOnce(arch, implementation ?? "wasm"),
    });
  }
}

/** One epoch through the trainer, on WebGPU's `implementation` (`--webgpu`) or on wasm. */
async function trainOnce(
  arch: string,
  implementation: GpuTestDevice["implementation"] | "wasm",
): Promise<void> {
  const gpu = implementation !== "wasm";
  const root = await Deno.makeTempDir();
  try {
    await writeCifar10(root);
    const { config } = parseTrainArgs([
      "--arch",
      arch,
      "--dataset",
      "cifar10",
      "--data-dir",
      root,
      "--no-download",
      "--epochs",
      "1",
      "--train_bs",
      "10",
      "--test_bs",
      "8",
      "--loss",
      "xent",
      "--out",
      `${root}/run`,
      ...(gpu ? ["--device", "webgpu", "--webgpu", implementation] : ["--device", "wasm"]),
    ]);
    const result = await train(config, { progress: new Progress(false) });
    result.model.dispose();
    if (gpu) equal((getBackend() as WebGpuBackend).implementation, implementation);
    else equal(getBackend().name, "wasm");
    const [m] = await readMetrics(`${root}/run`);
    equal(m.epoch, 1);
    for (const [k, v] of Object.entries(m)) ok(Number.isFinite(v), `${k} = ${v}`);
    ok(m.eta_min > 0 && m.eta_min <= m.eta_max, `η range ${m.eta_min}..${m.eta_max}`);
    ok(m.train_acc >= 0 && m.train_acc <= 1 && m.test_acc >= 0 && m.test_acc <= 1);
    const model = createModel(arch, "cifar10");
    const { metadata } = await loadCheckpoint(`${root}/run/checkpoint.safetensors`, model, {
      extraPrefix: "optimizer.",
    });
    equal(metadata.epoch, "1");
    model.dispose();
  } finally {
    await Deno.remove(root, { recursive: true });
  }
}

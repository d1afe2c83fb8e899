// The training page (train.html, train_page.js, trainer.ts), end to end:
//
// 1. in headless chromium (WebGPU on SwiftShader), one epoch of the full
//    Fashion-MNIST training set (fcn depth 4 width 128, seed 0) reaches ≥ 80%
//    test accuracy, within 0.5 points of `deno task train` with the same
//    flags; the page's .onnx (onnxruntime-web, in the page) gives the page's
//    top class on test images and on a drawing; the downloaded .safetensors
//    has the CLI checkpoint's tensor names, shapes and metadata, exports with
//    `deno task export --checkpoint`, predicts as the page in Deno and loads
//    with PyTorch's `load_state_dict(strict=True)` (where /usr/bin/python3 has
//    torch). AGD_TRAIN_PAGE_SAMPLES=N trains on the first N samples only (page
//    and CLI alike; the 80% bar then does not apply);
// 2. in Deno, trainer.ts gives the η, loss and accuracy of `deno task train`
//    on the same adapter (same init, batch order and steps);
// 3. serve.ts serves the page, its bundle and the IDX files; the bundle is
//    rebuilt when a source changes, and only then.
//
// Ignored, saying why, without chromium, the dataset or a WebGPU adapter.
import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import { datasetInfo, Normalizer } from "@agd/datasets/memory";
import { createModel, loadCheckpoint } from "@agd/models";
import { cpu, decodeSafetensors, hasWebGPU, noGrad, tensor } from "@agd/tensor";
import { inspectOnnx } from "@agd/onnx-export";
import { loadOrtModel } from "../../packages/onnx-export/ort.ts";
import {
  draw,
  hasChromium,
  openTrainPage,
  readState,
  trainInPage,
  TROUSERS,
  waitForState,
} from "./_train_driver.ts";
import { PageBundle } from "./bundle.ts";
import { DEFAULT_DATA_DIR, ISOLATION_HEADERS, startServer } from "./serve.ts";
import { IDX_FILES, idxData, openGpu, TabTrainer } from "./trainer.ts";

const ROOT = new URL("../../", import.meta.url).pathname;
const PYTHON = "/usr/bin/python3";

const hasData = IDX_FILES.every((f) => {
  try {
    return Deno.statSync(`${DEFAULT_DATA_DIR}/${f}`).isFile;
  } catch {
    return false;
  }
});
const denoWebGPU = await hasWebGPU();
const samplesEnv = Deno.env.get("AGD_TRAIN_PAGE_SAMPLES");
const SAMPLES = samplesEnv ? Number(samplesEnv) : undefined;
if (SAMPLES !== undefined && !(Number.isInteger(SAMPLES) && SAMPLES > 0)) {
  throw new Error(`AGD_TRAIN_PAGE_SAMPLES=${samplesEnv}: use a positive integer`);
}
const pageSkip = !hasChromium
  ? "/usr/bin/chromium is missing (apt-get install -y chromium)"
  : !hasData
  ? `${DEFAULT_DATA_DIR} lacks the Fashion-MNIST IDX files (apt-get install -y dataset-fashion-mnist)`
  : undefined;
const denoSkip = !hasData
  ? `${DEFAULT_DATA_DIR} lacks the Fashion-MNIST IDX files`
  : !denoWebGPU
  ? "Deno has no WebGPU adapter (apt-get install -y mesa-vulkan-drivers)"
  : undefined;
if (pageSkip) console.warn(`train_page_test.ts: the browser test is ignored: ${pageSkip}.`);
if (denoSkip) console.warn(`train_page_test.ts: the Deno-side test is ignored: ${denoSkip}.`);

/** Settings of the page's run and of the CLI's. */
const RUN = { depth: 4, width: 128, seed: 0, epochs: 1 } as const;

/** Runs `deno <args>` in the repository root; throws with its output when it fails. */
async function deno(args: string[]): Promise<string> {
  const out = await new Deno.Command(Deno.execPath(), {
    args,
    cwd: ROOT,
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1" },
  }).output();
  const text = new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr);
  if (!out.success) throw new Error(`deno ${args.join(" ")} failed (${out.code}):\n${text}`);
  return text;
}

/** apps/cli's per-epoch record (metrics.jsonl). */
interface CliRecord {
  eta_min: number;
  eta_mean: number;
  eta_max: number;
  train_loss: number;
  train_acc: number;
  test_loss: number;
  test_acc: number;
}

/**
 * `deno task train` with `flags` into `out` (on the CPU reference where Deno
 * has no WebGPU, unless the flags name a `--device`); its first epoch's
 * record and its seconds.
 */
async function cliTrain(
  out: string,
  flags: string[],
): Promise<{ record: CliRecord; seconds: number }> {
  const t0 = performance.now();
  await deno([
    "task",
    "train",
    "--arch",
    "fcn",
    "--dataset",
    "fashion-mnist",
    "--data-dir",
    "/usr/share/datasets",
    "--no-download",
    "--out",
    out,
    ...flags,
    ...(denoWebGPU || flags.includes("--device") ? [] : ["--cpu"]),
  ]);
  const seconds = (performance.now() - t0) / 1000;
  const line = (await Deno.readTextFile(`${out}/metrics.jsonl`)).trim().split("\n")[0];
  return { record: JSON.parse(line), seconds };
}

const argmax = (v: Float32Array, row: number, cols: number): number => {
  let best = 0;
  for (let j = 1; j < cols; j++) if (v[row * cols + j] > v[row * cols + best]) best = j;
  return best;
};
const tops = (logits: Float32Array, n: number): number[] =>
  Array.from({ length: n }, (_, i) => argmax(logits, i, logits.length / n));

/** The first `n` test images, normalised as the dataset does, and their raw pixels. */
async function testImages(n: number): Promise<Float32Array> {
  const bytes = await Deno.readFile(`${DEFAULT_DATA_DIR}/t10k-images-idx3-ubyte.gz`);
  const raw = new Uint8Array(
    await new Response(new Blob([bytes]).stream().pipeThrough(new DecompressionStream("gzip")))
      .arrayBuffer(),
  );
  const pixels = raw.subarray(16, 16 + n * 784);
  const out = new Float32Array(n * 784);
  new Normalizer(datasetInfo("fashion-mnist")).apply(pixels, out);
  return out;
}

/** Top classes of PyTorch's fcn after `load_state_dict(strict=True)` of the checkpoint, or why not. */
async function torchTops(
  checkpoint: string,
  input: string,
  n: number,
): Promise<number[] | string> {
  const probe = await new Deno.Command(PYTHON, { args: ["-c", "import torch"], stderr: "null" })
    .output().catch(() => undefined);
  if (!probe?.success) return `${PYTHON} has no torch (apt-get install -y python3-torch)`;
  // The reference fcn (SPEC: bias-free Linear layers `initial`, `layers.i`, `final`, relu·√2).
  const script = `
import json, struct, sys
import numpy as np, torch, torch.nn as nn
path, inp, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
raw = open(path, "rb").read()
size = struct.unpack("<Q", raw[:8])[0]
header = json.loads(raw[8:8 + size])
meta = header.pop("__metadata__", {})
data = raw[8 + size:]
assert all(v["dtype"] == "F32" for v in header.values()), header
state = {k: torch.from_numpy(np.frombuffer(data[v["data_offsets"][0]:v["data_offsets"][1]],
         dtype="<f4").reshape(v["shape"]).copy()) for k, v in header.items()}
depth, width = int(meta["depth"]), int(meta["width"])
class Fcn(nn.Module):
    def __init__(self):
        super().__init__()
        self.initial = nn.Linear(784, width, bias=False)
        self.layers = nn.ModuleList([nn.Linear(width, width, bias=False) for _ in range(depth - 2)])
        self.final = nn.Linear(width, 10, bias=False)
    def forward(self, x):
        x = self.initial(x.flatten(1))
        for layer in self.layers:
            x = layer(torch.relu(x) * 2 ** 0.5)
        return self.final(torch.relu(x) * 2 ** 0.5)
model = Fcn()
model.load_state_dict(state, strict=True)
x = torch.from_numpy(np.fromfile(inp, dtype="<f4").reshape(n, 1, 28, 28))
with torch.no_grad():
    print(json.dumps(model(x).argmax(1).tolist()))
`;
  const out = await new Deno.Command(PYTHON, {
    args: ["-c", script, checkpoint, input, String(n)],
    stdout: "piped",
    stderr: "piped",
  }).output();
  if (!out.success) {
    throw new Error(`PyTorch refused the checkpoint: ${new TextDecoder().decode(out.stderr)}`);
  }
  return JSON.parse(new TextDecoder().decode(out.stdout));
}

Deno.test({
  name:
    "training page: one epoch of Fashion-MNIST in headless chromium (WebGPU) matches deno task train; its .onnx and .safetensors work",
  ignore: pageSkip !== undefined,
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "agd_train_page_" });
    const limit = SAMPLES ? ["--train-limit", String(SAMPLES)] : [];
    const flags = [
      "--depth",
      String(RUN.depth),
      "--width",
      String(RUN.width),
      "--epochs",
      String(RUN.epochs),
      "--seed",
      String(RUN.seed),
      ...limit,
    ];
    // The CLI first, alone: on a 2-core machine the two runs would slow each other down.
    const cli = await cliTrain(`${dir}/cli`, flags);
    const server = await startServer({ data: DEFAULT_DATA_DIR });
    const session = await openTrainPage(`${server.url}train`);
    try {
      const t0 = performance.now();
      const state = await trainInPage(session, { ...RUN, trainLimit: SAMPLES }, 900_000);
      const pageSeconds = (performance.now() - t0) / 1000;
      const page = state.records[0];
      const gap = Math.abs(page.test_acc - cli.record.test_acc);
      console.log(
        `${SAMPLES ?? 60000} training samples; page on ${state.adapter}: training ${
          state.seconds.toFixed(1)
        } s (${page.samples_per_s.toFixed(0)} samples/s; ${
          pageSeconds.toFixed(1)
        } s with the export and the .onnx check); deno task train: ${cli.seconds.toFixed(1)} s on ${
          denoWebGPU ? "WebGPU" : "the CPU"
        }\n` +
          `  test acc page ${(100 * page.test_acc).toFixed(2)}%, CLI ${
            (100 * cli.record.test_acc).toFixed(2)
          }% (gap ${(100 * gap).toFixed(2)} points)\n` +
          `  train loss page ${page.train_loss.toFixed(5)}, CLI ${
            cli.record.train_loss.toFixed(5)
          }; η mean page ${page.eta_mean.toFixed(5)}, CLI ${cli.record.eta_mean.toFixed(5)}`,
      );
      assert.deepEqual(session.problems, [], "the page had errors or failed requests");
      if (!SAMPLES) {
        assert.ok(page.test_acc >= 0.8, `test accuracy ${page.test_acc} < 80% after one epoch`);
      }
      assert.ok(gap <= 0.005, `page and CLI test accuracies differ by ${100 * gap} points`);
      // The curves got points while training, and a test evaluation every 100 steps.
      const steps = Math.ceil((SAMPLES ?? 60000) / 128);
      assert.ok(state.points.length >= Math.floor(steps / 10), `${state.points.length} points`);
      assert.equal(state.tests.length, Math.ceil(steps / 100));

      // The .onnx in the page (onnxruntime-web, wasm) agrees with the page's model.
      const check = state.onnxCheck;
      assert.equal(check.same, check.total, `the .onnx disagrees: ${JSON.stringify(check)}`);
      assert.ok(check.maxDiff < 1e-3, `the .onnx's logits differ by ${check.maxDiff}`);

      // A drawing: the page's input is the dataset's normalisation of the 28×28
      // pixels it shows, and the .onnx gives the page's class for it.
      await draw(session.page, TROUSERS);
      const drawn = await session.page.evaluate(() => {
        const s = (globalThis as unknown as {
          agdTrain: { lastPixels: Uint8Array; lastInput: Float32Array };
        }).agdTrain;
        return [Array.from(s.lastPixels), Array.from(s.lastInput)];
      });
      const pixels = Uint8Array.from(drawn[0]);
      const expected = new Float32Array(784);
      new Normalizer(datasetInfo("fashion-mnist")).apply(pixels, expected);
      assert.deepEqual(Array.from(Float32Array.from(drawn[1])), Array.from(expected));
      assert.ok(pixels.some((v) => v > 0), "the drawing reached the model input");
      const after = await readState(session.page);
      assert.equal(after.lastOnnxTop, after.lastTop, "the .onnx classifies the drawing otherwise");

      // The downloads.
      const save = async (selector: string, name: string) => {
        const [download] = await Promise.all([
          session.page.waitForEvent("download"),
          session.page.click(selector),
        ]);
        assert.equal(download.suggestedFilename(), name);
        const path = `${dir}/${name}`;
        await download.saveAs(path);
        return path;
      };
      const onnxPath = await save("#download-onnx", state.downloads.onnx);
      const checkpointPath = await save("#download-checkpoint", state.downloads.checkpoint);

      // The checkpoint is a CLI checkpoint: the same tensors, dtypes, shapes and metadata.
      const mine = decodeSafetensors(await Deno.readFile(checkpointPath));
      const theirs = decodeSafetensors(await Deno.readFile(`${dir}/cli/checkpoint.safetensors`));
      const layout = (f: typeof mine) =>
        [...f.tensors].map(([k, t]) => `${k} ${t.dtype} [${t.shape}]`).sort();
      assert.deepEqual(layout(mine), layout(theirs));
      for (const [key, value] of Object.entries(theirs.metadata)) {
        assert.equal(mine.metadata[key], value, `checkpoint metadata "${key}"`);
      }

      // `deno task export --checkpoint` takes it; the .onnx it writes and the
      // page's give the same logits, and the checkpoint predicts as the page.
      const exported = `${dir}/exported.onnx`;
      await deno(["task", "export", "--checkpoint", checkpointPath, "--out", exported]);
      const info = await inspectOnnx(await Deno.readFile(exported));
      assert.equal(info.metadata.arch, "fcn");
      assert.equal(info.metadata.depth, String(RUN.depth));
      assert.equal(info.metadata.width, String(RUN.width));
      const n = check.total;
      const input = await testImages(n);
      const run = async (path: string) => {
        const m = await loadOrtModel(await Deno.readFile(path));
        try {
          return await m.run(input, [n, 1, 28, 28]);
        } finally {
          await m.release();
        }
      };
      const [fromPage, fromExport] = [await run(onnxPath), await run(exported)];
      let diff = 0;
      for (let i = 0; i < fromPage.length; i++) {
        diff = Math.max(diff, Math.abs(fromPage[i] - fromExport[i]));
      }
      assert.ok(diff < 1e-4, `the page's .onnx and the exported one differ by ${diff}`);
      assert.deepEqual(tops(fromPage, n), check.pageTop);
      const model = createModel("fcn", "fashion-mnist", { ...RUN, backend: cpu() });
      await loadCheckpoint(checkpointPath, model);
      model.eval();
      const logits = await noGrad(() =>
        model.forward(tensor(input, { shape: [n, 1, 28, 28], backend: cpu() }))
      ).data() as Float32Array;
      assert.deepEqual(tops(logits, n), check.pageTop);
      model.dispose();

      // PyTorch's load_state_dict(strict=True) takes it and predicts the same.
      await Deno.writeFile(`${dir}/input.f32`, new Uint8Array(input.buffer));
      const torch = await torchTops(checkpointPath, `${dir}/input.f32`, n);
      if (typeof torch === "string") console.warn(`PyTorch check skipped: ${torch}`);
      else {
        assert.deepEqual(torch, check.pageTop);
        console.log(`PyTorch load_state_dict(strict=True): the page's top classes on ${n} images`);
      }
    } finally {
      await session.close();
      await server.close();
      await Deno.remove(dir, { recursive: true });
    }
  },
});

/** An IDX file of unsigned bytes (magic 0x000008NN) with `dims`, gzipped when `gzip`. */
async function idxFile(dims: number[], values: Uint8Array, gzip: boolean): Promise<Uint8Array> {
  const bytes = new Uint8Array(4 + 4 * dims.length + values.length);
  const view = new DataView(bytes.buffer);
  view.setUint32(0, 0x800 + dims.length);
  dims.forEach((d, i) => view.setUint32(4 + 4 * i, d));
  bytes.set(values, 4 + 4 * dims.length);
  if (!gzip) return bytes;
  const stream = new Blob([bytes]).stream().pipeThrough(new CompressionStream("gzip"));
  return new Uint8Array(await new Response(stream).arrayBuffer());
}

Deno.test({
  name:
    "training page on the CPU (?device=wasm): WebAssembly SIMD on every core of the cross-origin-isolated tab, the η, loss and accuracy of deno task train --device wasm",
  ignore: pageSkip !== undefined,
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "agd_train_page_wasm_" });
    const run = { depth: 3, width: 64, seed: 2, epochs: 1 } as const;
    const trainLimit = 4096;
    const { record: cli } = await cliTrain(dir, [
      "--device",
      "wasm",
      "--depth",
      String(run.depth),
      "--width",
      String(run.width),
      "--epochs",
      "1",
      "--seed",
      String(run.seed),
      "--train-limit",
      String(trainLimit),
    ]);
    const server = await startServer({ data: DEFAULT_DATA_DIR });
    const session = await openTrainPage(`${server.url}train?device=wasm`);
    try {
      const state = await trainInPage(session, { ...run, trainLimit }, 300_000);
      const cores = await session.page.evaluate(() => navigator.hardwareConcurrency);
      const threads = Number(
        /^wasm \(WebAssembly SIMD, (\d+) threads?\)$/.exec(state.adapter)?.[1],
      );
      assert.equal(threads, cores, `the page trained on "${state.adapter}", on ${cores} cores`);
      assert.match(await session.page.textContent("#cli") ?? "", /--device wasm/);
      assert.deepEqual(session.problems, [], "the page had errors or failed requests");
      const page = state.records[0];
      console.log(
        `page on ${state.adapter}: η mean ${page.eta_mean}, train loss ${page.train_loss}, test acc ${page.test_acc}; CLI: ${cli.eta_mean}, ${cli.train_loss}, ${cli.test_acc}`,
      );
      for (const key of ["eta_mean", "train_loss", "test_loss"] as const) {
        const rel = Math.abs(page[key] - cli[key]) / Math.abs(cli[key]);
        assert.ok(rel < 1e-4, `${key}: page ${page[key]}, CLI ${cli[key]}`);
      }
      assert.ok(Math.abs(page.test_acc - cli.test_acc) <= 0.001, "test accuracies differ");
    } finally {
      await session.close();
      await server.close();
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test({
  name: "training page: the user's own IDX files (gzipped or not), picked with the file input",
  ignore: !hasChromium,
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    // Tiny MNIST-shaped splits whose class is the image's brightness: learnable in 2 steps.
    const split = (count: number, seed: number) => {
      const labels = Uint8Array.from({ length: count }, (_, i) => (i * 7 + seed) % 10);
      const images = new Uint8Array(count * 784);
      labels.forEach((l, i) => images.fill(25 * l + ((i * 13) % 5), i * 784, (i + 1) * 784));
      return { images, labels, count };
    };
    const [train, test] = [split(256, 0), split(100, 3)];
    const files = [
      ["train-images-idx3-ubyte.gz", await idxFile([256, 28, 28], train.images, true)],
      ["train-labels-idx1-ubyte.gz", await idxFile([256], train.labels, true)],
      ["t10k-images-idx3-ubyte", await idxFile([100, 28, 28], test.images, false)],
      ["t10k-labels-idx1-ubyte", await idxFile([100], test.labels, false)],
    ] as const;
    const server = await startServer({ data: null });
    const session = await openTrainPage(`${server.url}train`);
    try {
      await waitForState(session, "no-data", 60_000);
      assert.match(await session.page.textContent("#served-info") ?? "", /no dataset/);
      await session.page.selectOption("#dataset", "mnist");
      await session.page.setInputFiles(
        "#idx-files",
        files.map(([name, bytes]) => ({
          name,
          mimeType: "application/octet-stream",
          buffer: Buffer.from(bytes),
        })),
      );
      await waitForState(session, "ready", 60_000);
      assert.equal(
        await session.page.textContent("#data-info"),
        "256 training and 100 test images",
      );
      const state = await trainInPage(
        session,
        { depth: 3, width: 32, seed: 1, epochs: 2 },
        300_000,
      );
      assert.equal(state.records.length, 2);
      assert.equal(state.points.at(-1)?.globalStep, 4);
      assert.equal(state.onnxCheck.same, state.onnxCheck.total);
      assert.equal(state.downloads.checkpoint, "fcn-d3-w32-mnist-agd-seed1.safetensors");
      assert.deepEqual(session.problems, []);
    } finally {
      await session.close();
      await server.close();
    }
  },
});

Deno.test({
  name: "trainer.ts in Deno: the η, loss and accuracy of deno task train (same adapter)",
  ignore: denoSkip !== undefined,
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "agd_trainer_" });
    try {
      const [trainLimit, testLimit] = [2560, 1000];
      const settings = { depth: 3, width: 64, seed: 5, epochs: 2, gain: 2 };
      const cli = await cliTrain(`${dir}/cli`, [
        ...Object.entries(settings).flatMap(([k, v]) => [`--${k}`, String(v)]),
        "--train-limit",
        String(trainLimit),
        "--test-limit",
        String(testLimit),
      ]);
      const lines = (await Deno.readTextFile(`${dir}/cli/metrics.jsonl`)).trim().split("\n");
      const expected: CliRecord[] = lines.map((l) => JSON.parse(l));
      const files = await Promise.all(
        IDX_FILES.map(async (name) => ({
          name,
          bytes: await Deno.readFile(`${DEFAULT_DATA_DIR}/${name}`),
        })),
      );
      const adapter = await openGpu(); // the CLI's backend: WebGPU on the same adapter
      const trainer = new TabTrainer(await idxData(files), { ...settings, trainLimit, testLimit });
      try {
        const records = await trainer.run();
        assert.equal(records.length, expected.length);
        records.forEach((r, i) => {
          const e = expected[i];
          for (
            const key of ["eta_min", "eta_mean", "eta_max", "train_loss", "test_loss"] as const
          ) {
            assert.ok(
              Math.abs(r[key] - e[key]) <= 1e-5 * Math.max(1, Math.abs(e[key])),
              `epoch ${i + 1} ${key}: trainer ${r[key]}, CLI ${e[key]}`,
            );
          }
          assert.ok(Math.abs(r.train_acc - e.train_acc) <= 1 / trainLimit, `train acc ${i + 1}`);
          assert.ok(Math.abs(r.test_acc - e.test_acc) <= 1 / testLimit, `test acc ${i + 1}`);
        });
        console.log(
          `trainer.ts and deno task train (${cli.seconds.toFixed(1)} s) agree on ${adapter}`,
        );
      } finally {
        trainer.dispose();
      }
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test("serve.ts: the training page, its bundle and the IDX files, cross-origin isolated", async () => {
  const data = await Deno.makeTempDir({ prefix: "agd_idx_" });
  await Deno.writeFile(`${data}/train-images-idx3-ubyte.gz`, Uint8Array.of(0x1f, 0x8b));
  await Deno.writeFile(`${data}/t10k-labels-idx1-ubyte`, Uint8Array.of(0, 0, 8, 1));
  await Deno.writeFile(`${data}/secret.txt`, Uint8Array.of(1));
  const server = await startServer({ data });
  const none = await startServer({ data: null });
  const cases: [string, number, string?][] = [
    ["train", 200, "text/html"],
    ["train.html", 200, "text/html"],
    ["train.css", 200, "text/css"],
    ["train.js", 200, "text/javascript"],
    ["data/index.json", 200, "application/json"],
    ["data/train-images-idx3-ubyte.gz", 200, "application/gzip"],
    ["data/t10k-labels-idx1-ubyte", 200, "application/octet-stream"],
    ["data/t10k-images-idx3-ubyte.gz", 404],
    ["data/secret.txt", 404],
    ["data/..%2Fsecret.txt", 404],
  ];
  try {
    for (const [path, status, type] of cases) {
      const r = await fetch(new URL(path, server.url));
      const body = new Uint8Array(await r.arrayBuffer());
      assert.equal(r.status, status, `GET /${path}: HTTP ${r.status}`);
      for (const [k, v] of Object.entries(ISOLATION_HEADERS)) {
        assert.equal(r.headers.get(k), v, `/${path}: ${k}`);
      }
      if (type) assert.match(r.headers.get("content-type") ?? "", new RegExp(`^${type}\\b`));
      if (path === "train.js") {
        const js = new TextDecoder().decode(body);
        // Checked as booleans: a failed match would print the whole bundle.
        assert.ok(/\bTabTrainer\b/.test(js), "the bundle lacks trainer.ts");
        assert.ok(!/from\s*["']node:|import\(["']node:/.test(js), "the bundle imports node:");
      }
    }
    assert.deepEqual(await (await fetch(new URL("data/index.json", server.url))).json(), {
      dataset: "fashion-mnist",
      files: ["t10k-labels-idx1-ubyte", "train-images-idx3-ubyte.gz"],
    });
    assert.deepEqual(await (await fetch(new URL("data/index.json", none.url))).json(), {
      dataset: "fashion-mnist",
      files: [],
    });
    const html = await (await fetch(new URL("train", server.url))).text();
    assert.doesNotMatch(html, /learning rate|\blr\b/i, "the page mentions a learning rate");
  } finally {
    await server.close();
    await none.close();
    await Deno.remove(data, { recursive: true });
  }
});

Deno.test("bundle.ts: built on first request, cached while no source changes, rebuilt after", async () => {
  const dir = await Deno.makeTempDir({ prefix: "agd_bundle_" });
  const root = new URL(`file://${dir}/`);
  try {
    await Deno.writeTextFile(`${dir}/dep.js`, `export const word = "first";\n`);
    await Deno.writeTextFile(
      `${dir}/entry.js`,
      `import { word } from "./dep.js";\nconsole.log(word);\n`,
    );
    const bundle = new PageBundle({ entry: new URL("entry.js", root), watch: [root], cwd: root });
    const text = async () => new TextDecoder().decode(await bundle.get());
    const a = await bundle.get();
    assert.match(new TextDecoder().decode(a), /"first"/);
    assert.equal(await bundle.get(), a, "an unchanged source was bundled again");
    await Deno.writeTextFile(`${dir}/dep.js`, `export const word = "second, longer";\n`);
    assert.match(await text(), /"second, longer"/, "a changed source gave the old bundle");
    await Deno.writeTextFile(`${dir}/dep.js`, `export const word = ;\n`);
    await assert.rejects(() => bundle.get(), /Cannot bundle .*entry\.js for the browser/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

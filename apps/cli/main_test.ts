// End-to-end tests of the training command on a slice of real Fashion-MNIST:
// metrics.jsonl, the checkpoint, resume (identical to an uninterrupted run),
// SIGINT leaving a valid checkpoint, and clear errors for bad flags.
import { deepStrictEqual, equal, match, ok } from "node:assert/strict";
import { createModel, loadCheckpoint } from "@agd/models";
import { cpu, hasWebGPU } from "@agd/tensor";
import { parseTrainArgs, resumeConfig, UsageError } from "./args.ts";
import { readMetrics, renderSvg } from "./plot.ts";
import { haveFashion, MAIN, ROOT, smallFcnArgs } from "./_test_util.ts";

const base = smallFcnArgs(1000, 300);

async function run(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", MAIN, ...args],
    cwd: ROOT,
    stdout: "piped",
    stderr: "piped",
  }).output();
  const dec = new TextDecoder();
  return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
}

Deno.test({
  name: "train: 2 epochs of fcn on Fashion-MNIST write metrics, checkpoint, config and curves",
  ignore: !haveFashion,
  fn: async () => {
    const dir = await Deno.makeTempDir();
    const { code, stderr } = await run([...base, "--epochs", "2", "--out", dir]);
    equal(code, 0, stderr);
    const metrics = await readMetrics(dir);
    equal(metrics.length, 2);
    for (
      const key of [
        "eta_min",
        "eta_mean",
        "eta_max",
        "train_loss",
        "train_acc",
        "test_loss",
        "test_acc",
        "data_wait_ms",
      ]
    ) {
      ok(Number.isFinite((metrics[1] as unknown as Record<string, number>)[key]), key);
    }
    ok(metrics[1].eta_min <= metrics[1].eta_mean && metrics[1].eta_mean <= metrics[1].eta_max);
    ok(metrics[1].data_wait_ms! >= 0, "the step's wait for data is recorded");
    ok(
      metrics[1].test_acc > 0.4,
      `test accuracy ${metrics[1].test_acc} after 2 epochs on 1000 images`,
    );
    const config = JSON.parse(await Deno.readTextFile(`${dir}/config.json`));
    equal(config.arch, "fcn");
    match(await Deno.readTextFile(`${dir}/curves.svg`), /<svg/);
    const model = createModel("fcn", "fashion-mnist", { depth: 3, width: 32, backend: cpu() });
    const { metadata } = await loadCheckpoint(`${dir}/checkpoint.safetensors`, model, {
      extraPrefix: "optimizer.",
    });
    equal(metadata.epoch, "2");
    model.dispose();
    // A second run into the same directory without --resume is refused, not overwritten.
    const again = await run([...base, "--epochs", "2", "--out", dir]);
    equal(again.code, 1);
    match(again.stderr, /already holds one; pass --resume/);
    await Deno.remove(dir, { recursive: true });
  },
});

Deno.test({
  name: "train --device wasm: 1 epoch of the default fcn on all of Fashion-MNIST reaches 81.5%",
  ignore: !haveFashion,
  fn: async () => {
    const dir = await Deno.makeTempDir();
    const { code, stdout, stderr } = await run([
      "--device",
      "wasm",
      "--dataset",
      "fashion-mnist",
      "--data-dir",
      "/usr/share/datasets",
      "--no-download",
      "--epochs",
      "1",
      "--seed",
      "0",
      "--out",
      dir,
    ]);
    equal(code, 0, stderr);
    match(stdout, /^Device: wasm \(WebAssembly SIMD, \d+ threads?\)/m);
    match(stdout, /data wait \d+(\.\d+)? ms\/step/);
    const [m] = await readMetrics(dir);
    ok(
      m.test_acc >= 0.815,
      `test accuracy ${m.test_acc} after 1 epoch (depth 10, width 256, seed 0)`,
    );
    await Deno.remove(dir, { recursive: true });
  },
});

Deno.test({
  name: "train: --resume after 1 epoch gives the same metrics as an uninterrupted 2-epoch run",
  ignore: !haveFashion,
  fn: async () => {
    const full = await Deno.makeTempDir();
    const split = await Deno.makeTempDir();
    equal((await run([...base, "--epochs", "2", "--out", full])).code, 0);
    equal((await run([...base, "--epochs", "1", "--out", split])).code, 0);
    // Only what changes: the rest comes from the run's config.json.
    const resumed = await run(["--resume", "--out", split, "--epochs", "2"]);
    equal(resumed.code, 0, resumed.stderr);
    const a = await readMetrics(full);
    const b = await readMetrics(split);
    const strip = (m: typeof a) =>
      m.map(({ samples_per_s: _s, seconds: _t, data_wait_ms: _w, ...rest }) => rest);
    deepStrictEqual(strip(b), strip(a));
    // config.json now says 2 epochs, so a plain --resume has nothing left to do.
    equal(JSON.parse(await Deno.readTextFile(`${split}/config.json`)).epochs, 2);
    // A flag that would change the run is refused, naming it and both values.
    const conflict = await run(["--resume", "--out", split, "--epochs", "3", "--depth", "4"]);
    equal(conflict.code, 1);
    equal(
      conflict.stderr.trim(),
      `error: Cannot --resume with --depth 4: the run in ${split}/config.json has depth 3; ` +
        "start a new run with another --out to change it",
    );
    equal((await readMetrics(split)).length, 2, "the refused resume must not train");
    await Deno.remove(full, { recursive: true });
    await Deno.remove(split, { recursive: true });
  },
});

Deno.test({
  name: "train: SIGINT mid-epoch saves a checkpoint that --resume continues from",
  ignore: !haveFashion || Deno.build.os === "windows",
  fn: async () => {
    const dir = await Deno.makeTempDir();
    const child = new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", MAIN, ...base, "--train-limit", "20000", "--epochs", "1", "--out", dir],
      cwd: ROOT,
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    // Wait until training has started (progress is printed), then interrupt.
    const reader = child.stdout.getReader();
    let text = "";
    while (!text.includes("steps/s")) {
      const { value, done } = await reader.read();
      if (done) break;
      text += new TextDecoder().decode(value);
    }
    child.kill("SIGINT");
    const rest = await new Response(
      new ReadableStream({
        pull: async (c) => {
          const { value, done } = await reader.read();
          if (done) c.close();
          else c.enqueue(value);
        },
      }),
    ).text();
    const status = await child.status;
    await child.stderr.cancel();
    equal(status.code, 130, text + rest);
    match(rest, /Interrupted: saved/);
    const model = createModel("fcn", "fashion-mnist", { depth: 3, width: 32, backend: cpu() });
    const { metadata } = await loadCheckpoint(`${dir}/checkpoint.safetensors`, model, {
      extraPrefix: "optimizer.",
    });
    equal(metadata.epoch, "0");
    ok(Number(metadata.step) > 0 && Number(metadata.step) < 200);
    model.dispose();
    const resumed = await run(["--resume", "--out", dir]);
    equal(resumed.code, 0, resumed.stderr);
    match(resumed.stdout, new RegExp(`Resuming ${dir} at epoch 1, step ${metadata.step}`));
    equal((await readMetrics(dir)).length, 1);
    await Deno.remove(dir, { recursive: true });
  },
});

const haveGpu = await hasWebGPU();

Deno.test({
  name: "train: a normal WebGPU run prints no line starting with error:" +
    (haveGpu ? "" : " (ignored: no WebGPU adapter)"),
  ignore: !haveFashion || !haveGpu,
  fn: async () => {
    const dir = await Deno.makeTempDir();
    const out = await new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "-A",
        MAIN,
        ...base.filter((a) => a !== "--cpu"),
        "--epochs",
        "1",
        "--out",
        dir,
      ],
      cwd: ROOT,
      // As on a machine without a login session: the Vulkan loader used to say "error:" here.
      env: { XDG_RUNTIME_DIR: "" },
      stdout: "piped",
      stderr: "piped",
    }).output();
    const dec = new TextDecoder();
    const text = dec.decode(out.stdout) + dec.decode(out.stderr);
    equal(out.code, 0, text);
    match(text, /epoch 1: η/);
    deepStrictEqual(text.split("\n").filter((l) => /^\s*error/i.test(l)), []);
    await Deno.remove(dir, { recursive: true });
  },
});

Deno.test("args: --resume takes the run's config; only what may change can be given", () => {
  const run = parseTrainArgs([...base, "--epochs", "2", "--seed", "7", "--out", "runs/x"]).config;
  const saved = JSON.parse(JSON.stringify(run));
  const resume = (argv: string[]) =>
    resumeConfig(saved, parseTrainArgs(["--resume", "--out", "runs/x", ...argv]), "x/config.json");
  deepStrictEqual(resume([]), { ...run, resume: true });
  deepStrictEqual(resume(["--epochs", "5", "--test_bs", "50", "--seed", "7"]), {
    ...run,
    epochs: 5,
    test_bs: 50,
    resume: true,
  });
  for (
    const [argv, message] of [
      [["--arch", "vgg"], "--arch vgg: the run in x/config.json has arch fcn"],
      [["--optimizer", "sgd"], "--optimizer sgd: the run in x/config.json has optimizer agd"],
      [["--seed", "0"], "--seed 0: the run in x/config.json has seed 7"],
      [["--depth", "10"], "--depth 10: the run in x/config.json has depth 3"],
      [["--train-limit", "5"], "--train-limit 5: the run in x/config.json has train-limit 1000"],
    ] as const
  ) {
    let error: Error | undefined;
    try {
      resume([...argv]);
    } catch (e) {
      error = e as Error;
    }
    ok(error?.message.includes(message), `${argv.join(" ")}: ${error?.message}`);
  }
});

Deno.test("args: unknown flags and bad values are one-line errors naming them", () => {
  const fails = (argv: string[], re: RegExp) => {
    try {
      parseTrainArgs(argv);
    } catch (e) {
      ok(e instanceof UsageError);
      match((e as Error).message, re);
      ok(!(e as Error).message.includes("\n"));
      return;
    }
    throw new Error(`accepted ${argv.join(" ")}`);
  };
  fails(["--bogus"], /bogus/);
  fails(["--arch", "alexnet"], /--arch: choose one of fcn/);
  fails(["--train_bs", "0"], /--train_bs/);
  fails(["--gain", "abc"], /"abc" for --gain/);
  fails(["--depth", "1"], /--depth/);
  const { config } = parseTrainArgs([]);
  deepStrictEqual(
    [
      config.arch,
      config.dataset,
      config.loss,
      config.train_bs,
      config.test_bs,
      config.epochs,
      config.depth,
      config.width,
      config.gain,
    ],
    ["fcn", "cifar10", "mse", 128, 128, 200, 10, 256, 1],
  );
});

Deno.test("train: a bad --arch/--dataset pair is refused with the reference's reason", async () => {
  const { code, stderr } = await run([
    "--cpu",
    "--arch",
    "vgg",
    "--dataset",
    "mnist",
    "--no-download",
    "--out",
    await Deno.makeTempDir(),
  ]);
  equal(code, 1);
  match(stderr, /not compatible/);
});

Deno.test("plot: renders one polyline per run and panel", () => {
  const m = (epoch: number, acc: number) => ({
    epoch,
    eta_min: 0.1,
    eta_mean: 0.2,
    eta_max: 0.3,
    train_loss: 1 / epoch,
    train_acc: acc,
    test_loss: 1,
    test_acc: acc,
    samples_per_s: 1,
    seconds: 1,
  });
  const svg = renderSvg([
    { label: "agd", epochs: [m(1, 0.5), m(2, 0.7)] },
    { label: "sgd", epochs: [m(1, 0.1), m(2, 0.1)] },
  ]);
  equal(svg.match(/<polyline/g)?.length, 8);
  match(svg, /agd/);
});

// End-to-end tests of the training command on a slice of real Fashion-MNIST:
// metrics.jsonl, the checkpoint, resume (identical to an uninterrupted run),
// SIGINT leaving a valid checkpoint, and clear errors for bad flags.
import { deepStrictEqual, equal, match, ok } from "node:assert/strict";
import { createModel, loadCheckpoint } from "@agd/models";
import { cpu } from "@agd/tensor";
import { parseTrainArgs, UsageError } from "./args.ts";
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
      ]
    ) {
      ok(Number.isFinite((metrics[1] as unknown as Record<string, number>)[key]), key);
    }
    ok(metrics[1].eta_min <= metrics[1].eta_mean && metrics[1].eta_mean <= metrics[1].eta_max);
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
  name: "train: --resume after 1 epoch gives the same metrics as an uninterrupted 2-epoch run",
  ignore: !haveFashion,
  fn: async () => {
    const full = await Deno.makeTempDir();
    const split = await Deno.makeTempDir();
    equal((await run([...base, "--epochs", "2", "--out", full])).code, 0);
    equal((await run([...base, "--epochs", "1", "--out", split])).code, 0);
    const resumed = await run([...base, "--epochs", "2", "--out", split, "--resume"]);
    equal(resumed.code, 0, resumed.stderr);
    const a = await readMetrics(full);
    const b = await readMetrics(split);
    const strip = (m: typeof a) => m.map(({ samples_per_s: _s, seconds: _t, ...rest }) => rest);
    deepStrictEqual(strip(b), strip(a));
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
    const resumed = await run([
      ...base,
      "--train-limit",
      "20000",
      "--epochs",
      "1",
      "--out",
      dir,
      "--resume",
    ]);
    equal(resumed.code, 0, resumed.stderr);
    equal((await readMetrics(dir)).length, 1);
    await Deno.remove(dir, { recursive: true });
  },
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

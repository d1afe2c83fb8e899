/**
 * `deno task train`: train a network with Automatic Gradient Descent (or the
 * SGD/Adam baselines), with the AGD reference trainer's flags; and
 * `deno task train plot RUN...` to draw training curves.
 *
 * @example
 * ```sh
 * deno task train --arch fcn --dataset fashion-mnist --epochs 3
 * deno task train plot runs/fcn-fashion-mnist-agd-seed0 runs/fcn-fashion-mnist-sgd-seed0 --out agd-vs-sgd.svg
 * ```
 *
 * @module
 */
import { parseArgs } from "node:util";
import {
  type ParsedArgs,
  parseTrainArgs,
  resumeConfig,
  type TrainConfig,
  usage,
  UsageError,
} from "./args.ts";
import { plotRuns } from "./plot.ts";
import { train } from "./train.ts";

/** Runs the command line; returns the process exit code. */
export async function main(argv: string[]): Promise<number> {
  try {
    if (argv[0] === "plot") return await plotCommand(argv.slice(1));
    const parsed = parseTrainArgs(argv);
    if (parsed.help) {
      console.log(usage());
      return 0;
    }
    const config = parsed.config.resume ? await savedConfig(parsed) : parsed.config;
    const controller = new AbortController();
    const signals: Deno.Signal[] = Deno.build.os === "windows" ? ["SIGINT"] : ["SIGINT", "SIGTERM"];
    const onSignal = () => controller.abort();
    for (const s of signals) Deno.addSignalListener(s, onSignal);
    try {
      const result = await train(config, { signal: controller.signal });
      if (result.primary && (!result.interrupted || result.epochs.length)) {
        await plotRuns([config.out], `${config.out}/curves.svg`);
      }
      if (config.export && result.primary && !result.interrupted) {
        const { exportOnnx } = await import("@agd/onnx-export");
        const info = (await import("@agd/models")).DATASET_SHAPES[config.dataset];
        result.model.eval();
        const bytes = await exportOnnx(result.model, {
          inputShape: info.input,
          arch: config.arch,
          dataset: config.dataset,
          metadata: { depth: config.depth, width: config.width, seed: config.seed },
        });
        await Deno.writeFile(config.export, bytes);
        console.log(`Exported ${config.export} (${bytes.length} bytes)`);
      }
      result.model.dispose();
      return result.interrupted ? 130 : 0;
    } finally {
      for (const s of signals) Deno.removeSignalListener(s, onSignal);
    }
  } catch (e) {
    if (e instanceof UsageError) {
      console.error(`error: ${e.message}\n\n${usage()}`);
      return 2;
    }
    console.error(`error: ${(e as Error).message}`);
    return 1;
  }
}

/** `--resume`: the run's own config.json, with the flags that may change applied. */
async function savedConfig(parsed: ParsedArgs): Promise<TrainConfig> {
  const path = `${parsed.config.out}/config.json`;
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) {
      throw new Error(
        `Cannot --resume: ${path} does not exist (is --out the run's directory? start without --resume)`,
      );
    }
    throw new Error(`Cannot --resume: cannot read ${path}: ${(e as Error).message}`);
  }
  let saved: unknown;
  try {
    saved = JSON.parse(text);
  } catch (e) {
    throw new Error(`Cannot --resume: ${path} is not valid JSON (${(e as Error).message})`);
  }
  return resumeConfig(saved, parsed, path);
}

async function plotCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    options: { out: { type: "string", default: "curves.svg" } },
    allowPositionals: true,
    strict: true,
  });
  if (!positionals.length) throw new UsageError("plot needs at least one run directory");
  await plotRuns(positionals, values.out!);
  console.log(`Wrote ${values.out}`);
  return 0;
}

if (import.meta.main) Deno.exit(await main(Deno.args));

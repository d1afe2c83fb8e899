/**
 * Command line: a training checkpoint to an .onnx model.
 *
 * ```sh
 * deno run -A packages/onnx-export/cli.ts --checkpoint runs/checkpoint.safetensors --out model.onnx
 * ```
 *
 * `--arch`, `--dataset`, `--depth` and `--width` default to the checkpoint's
 * metadata; `--input-shape C,H,W` overrides the dataset's input size and
 * `--no-fold-bn` keeps BatchNormalization nodes.
 *
 * @module
 */
import { parseArgs } from "node:util";
import { exportCheckpoint, type ExportCheckpointResult } from "./checkpoint.ts";

const USAGE = `Usage: deno task export --checkpoint FILE.safetensors --out FILE.onnx
  [--arch A] [--dataset D] [--depth N] [--width N] [--input-shape C,H,W] [--no-fold-bn]
  [--extra-prefix P]`;

function positive(name: string, v: string | undefined): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!(Number.isInteger(n) && n > 0)) throw new Error(`--${name} must be a positive integer`);
  return n;
}

/**
 * Runs the command line.
 *
 * @param args command-line arguments (without the program)
 * @returns what was written, or undefined after --help
 * @throws Error with a one-line message for bad arguments or a bad checkpoint
 */
export async function main(args: string[]): Promise<ExportCheckpointResult | undefined> {
  const { values } = parseArgs({
    args,
    options: {
      checkpoint: { type: "string" },
      out: { type: "string" },
      arch: { type: "string" },
      dataset: { type: "string" },
      depth: { type: "string" },
      width: { type: "string" },
      "input-shape": { type: "string" },
      "no-fold-bn": { type: "boolean" },
      "extra-prefix": { type: "string" },
      help: { type: "boolean", short: "h" },
    },
    strict: true,
  });
  if (values.help) {
    console.log(USAGE);
    return undefined;
  }
  if (!values.checkpoint || !values.out) throw new Error(`--checkpoint and --out are required`);
  let inputShape: [number, number, number] | undefined;
  if (values["input-shape"]) {
    const dims = values["input-shape"].split(",").map(Number);
    if (dims.length !== 3 || dims.some((d) => !(Number.isInteger(d) && d > 0))) {
      throw new Error(`--input-shape must be C,H,W (positive integers)`);
    }
    inputShape = dims as [number, number, number];
  }
  const result = await exportCheckpoint(values.checkpoint, values.out, {
    arch: values.arch,
    dataset: values.dataset,
    depth: positive("depth", values.depth),
    width: positive("width", values.width),
    inputShape,
    foldBatchNorm: !values["no-fold-bn"],
    extraPrefix: values["extra-prefix"],
  });
  console.log(
    `Wrote ${values.out}: ${result.arch} (${result.dataset}), input [batch, ${
      result.inputShape.join(", ")
    }], ${result.classes} classes, ${result.bytes} bytes`,
  );
  return result;
}

if (import.meta.main) {
  try {
    await main(Deno.args);
  } catch (e) {
    console.error(`error: ${(e as Error).message}\n${USAGE}`);
    Deno.exit(1);
  }
}

/**
 * `exportCheckpoint`: a training checkpoint (safetensors with PyTorch names)
 * to an .onnx file, with the architecture read from the checkpoint's metadata.
 *
 * @module
 */
import { createModel, DATASET_SHAPES, loadCheckpoint } from "@agd/models";
import { cpu } from "@agd/tensor";
import { exportOnnx } from "./export.ts";

/** Options of {@link exportCheckpoint}; each overrides the checkpoint's metadata. */
export interface ExportCheckpointOptions {
  /** Architecture (default: metadata `arch`). */
  arch?: string;
  /** Dataset (default: metadata `dataset`). */
  dataset?: string;
  /** FCN depth (default: metadata `depth`, else counted from the tensors). */
  depth?: number;
  /** FCN width (default: metadata `width`, else read from the tensors). */
  width?: number;
  /** Per-sample input shape (default: the dataset's). */
  inputShape?: [number, number, number];
  /** Fold BatchNorm into the preceding convs (default true). */
  foldBatchNorm?: boolean;
  /** Checkpoint tensors under this prefix are not part of the model (default "optimizer."). */
  extraPrefix?: string;
}

/** What {@link exportCheckpoint} wrote. */
export interface ExportCheckpointResult {
  /** Architecture exported. */
  arch: string;
  /** Dataset of the metadata. */
  dataset: string;
  /** Number of classes. */
  classes: number;
  /** Per-sample input shape. */
  inputShape: [number, number, number];
  /** Size of the .onnx file in bytes. */
  bytes: number;
}

interface Header {
  metadata: Record<string, string>;
  shapes: Map<string, number[]>;
}

/**
 * Deno's file-system API, or a one-sentence error where there is none: a web
 * page can import this package, but exports a model with `exportOnnx`.
 */
function denoFs(action: string): typeof Deno {
  const deno = (globalThis as { Deno?: typeof Deno }).Deno;
  if (!deno) {
    throw new Error(
      `Cannot ${action}: file access needs Deno, which this runtime lacks; in a browser, load the weights into a model and call exportOnnx.`,
    );
  }
  return deno;
}

/** Reads only the safetensors JSON header (8-byte little-endian length, then JSON). */
async function readHeader(deno: typeof Deno, path: string): Promise<Header> {
  const file = await deno.open(path, { read: true });
  try {
    const read = async (n: number): Promise<Uint8Array> => {
      const buf = new Uint8Array(n);
      let off = 0;
      while (off < n) {
        const got = await file.read(buf.subarray(off));
        if (got === null) throw new Error(`the file ends inside its header`);
        off += got;
      }
      return buf;
    };
    const len = Number(new DataView((await read(8)).buffer).getBigUint64(0, true));
    if (!(len > 1 && len < 100_000_000)) throw new Error(`its header length ${len} is invalid`);
    const json = JSON.parse(new TextDecoder().decode(await read(len))) as Record<
      string,
      { shape?: number[] } | Record<string, string>
    >;
    const shapes = new Map<string, number[]>();
    for (const [name, v] of Object.entries(json)) {
      if (name !== "__metadata__") shapes.set(name, (v as { shape?: number[] }).shape ?? []);
    }
    return { metadata: (json.__metadata__ ?? {}) as Record<string, string>, shapes };
  } finally {
    file.close();
  }
}

const HEADS = ["final.weight", "classifier.weight", "linear.weight", "fc.weight"];

function positiveInt(value: string | number | undefined): number | undefined {
  if (value === undefined || value === "") return undefined;
  const n = Number(value);
  return Number.isInteger(n) && n > 0 ? n : undefined;
}

/**
 * Loads a checkpoint written by `saveCheckpoint` into the model its metadata
 * (`arch`, `dataset`, `depth`, `width`) describes, on the CPU backend, and
 * writes it as ONNX with {@link exportOnnx}. The class count comes from the
 * classifier weight's shape; for fcn, depth and width fall back to the
 * tensors' names and shapes.
 *
 * @param checkpointPath the .safetensors checkpoint
 * @param outPath where to write the .onnx model
 * @param options overrides of the checkpoint's metadata
 * @returns what was written
 * @example
 * ```ts ignore
 * import { exportCheckpoint } from "@agd/onnx-export";
 * const r = await exportCheckpoint("runs/checkpoint.safetensors", "model.onnx");
 * console.log(`${r.arch} on ${r.dataset}: ${r.bytes} bytes`);
 * ```
 */
export async function exportCheckpoint(
  checkpointPath: string,
  outPath: string,
  options: ExportCheckpointOptions = {},
): Promise<ExportCheckpointResult> {
  const fail = (what: string): never => {
    throw new Error(`Cannot export checkpoint ${checkpointPath} to ONNX: ${what}`);
  };
  const deno = denoFs(`export checkpoint ${checkpointPath} to ${outPath}`);
  let header: Header;
  try {
    header = await readHeader(deno, checkpointPath);
  } catch (e) {
    return fail((e as Error).message);
  }
  const meta = header.metadata;
  const arch = options.arch ?? meta.arch ?? fail(`it has no "arch" metadata; pass --arch`);
  const dataset = options.dataset ?? meta.dataset ??
    fail(`it has no "dataset" metadata; pass --dataset`);
  const shape = DATASET_SHAPES[dataset] ?? fail(`unknown dataset "${dataset}"`);
  const head = HEADS.map((n) => header.shapes.get(n)).find((s) => s?.length === 2);
  const classes = head?.[0] ?? positiveInt(meta.classes) ?? shape.classes;
  let depth = options.depth ?? positiveInt(meta.depth);
  let width = options.width ?? positiveInt(meta.width);
  if (arch === "fcn") {
    depth ??= [...header.shapes.keys()].filter((n) => /^layers\.\d+\.weight$/.test(n)).length + 2;
    width ??= header.shapes.get("initial.weight")?.[0];
  }
  const model = createModel(arch, dataset, { depth, width, classes, backend: cpu() });
  try {
    await loadCheckpoint(checkpointPath, model, {
      extraPrefix: options.extraPrefix ?? "optimizer.",
    });
    model.eval();
    const inputShape = options.inputShape ?? shape.input;
    const extra: Record<string, string> = {};
    if (arch === "fcn") Object.assign(extra, { depth: String(depth), width: String(width) });
    for (const key of ["epoch", "loss", "test_acc", "test_accuracy"]) {
      if (meta[key] !== undefined) extra[`train_${key}`] = meta[key];
    }
    const bytes = await exportOnnx(model, {
      inputShape,
      arch,
      dataset,
      foldBatchNorm: options.foldBatchNorm,
      metadata: extra,
    });
    await deno.writeFile(outPath, bytes);
    return { arch, dataset, classes, inputShape: [...inputShape], bytes: bytes.length };
  } finally {
    model.dispose();
  }
}

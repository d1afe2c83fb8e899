/**
 * `exportOnnx(model, options)`: the evaluation-mode network as an ONNX model
 * (opset 17, IR 8) for onnxruntime-web, with its preprocessing and class
 * labels in `metadata_props`.
 *
 * @module
 */
import type { Module } from "@agd/models";
import type { Tensor } from "@agd/tensor";
import { encodeModelProto, ONNX_IR_VERSION } from "./schema.ts";
import { type OnnxInitializer, type OnnxNode, type TracedGraph, traceGraph } from "./trace.ts";
import { classLabels, normalization } from "./datasets.ts";

/** The exporter's version, written as `producer_version`. */
export const PRODUCER_VERSION = "0.1.0";

/** Options of {@link exportOnnx}. */
export interface ExportOnnxOptions {
  /** Per-sample input shape [C, H, W] (the batch dimension is dynamic). */
  inputShape: readonly [number, number, number];
  /** Architecture name for the metadata (e.g. "resnet18"). */
  arch?: string;
  /** Dataset name for the metadata; also the default mean/std and class labels. */
  dataset?: string;
  /**
   * Class labels, or their number (labels "0", "1", …). Default: the dataset's
   * labels when their count matches the model's output, else indices.
   */
  classes?: number | readonly string[];
  /** Per-channel mean of the normalization (default: the dataset's, else 0). */
  mean?: readonly number[];
  /** Per-channel standard deviation of the normalization (default: the dataset's, else 1). */
  std?: readonly number[];
  /** ONNX opset (only 17 is written). */
  opset?: 17;
  /**
   * Fold each BatchNormalization that directly follows a Conv (and is that
   * conv's only consumer) into the conv's weights and a new bias. Default true.
   */
  foldBatchNorm?: boolean;
  /** Extra `metadata_props` entries (e.g. depth and width). */
  metadata?: Readonly<Record<string, string | number>>;
}

const LITTLE_ENDIAN = new Uint8Array(Uint16Array.of(1).buffer)[0] === 1;

function fail(model: Module, message: string): never {
  throw new Error(`Cannot export ${model.constructor.name || "the model"} to ONNX: ${message}`);
}

/** Reads every tensor initializer (after the trace: LayerOps methods are synchronous). */
async function readInitializers(
  model: Module,
  graph: TracedGraph,
): Promise<Map<string, Float32Array>> {
  const data = new Map<string, Float32Array>();
  for (const init of graph.initializers.values()) {
    data.set(init.name, await readSource(model, init));
  }
  return data;
}

async function readSource(model: Module, init: OnnxInitializer): Promise<Float32Array> {
  if (init.source instanceof Float32Array) return init.source;
  const t: Tensor = init.source;
  let values;
  try {
    values = await t.data();
  } catch (e) {
    fail(model, `reading tensor "${init.name}" failed (${(e as Error).message})`);
  }
  const size = init.dims.reduce((a, b) => a * b, 1);
  if (values.length !== size) {
    fail(model, `tensor "${init.name}" holds ${values.length} values, its shape needs ${size}`);
  }
  return values instanceof Float32Array ? values : Float32Array.from(values as ArrayLike<number>);
}

/**
 * Folds BatchNormalization into the Conv producing its input, where the conv
 * has no bias yet and the BN is the conv output's only consumer:
 * W'[o] = W[o]·γ[o]/√(var[o]+ε), b'[o] = β[o] − mean[o]·γ[o]/√(var[o]+ε),
 * computed in float64 and rounded to float32 once.
 */
function foldBatchNorms(graph: TracedGraph, data: Map<string, Float32Array>): number {
  const uses = new Map<string, number>();
  for (const n of graph.nodes) for (const v of n.input) uses.set(v, (uses.get(v) ?? 0) + 1);
  uses.set(graph.output, (uses.get(graph.output) ?? 0) + 1);
  const producer = new Map<string, OnnxNode>();
  for (const n of graph.nodes) for (const v of n.output) producer.set(v, n);
  const removed = new Set<OnnxNode>();
  for (const bn of graph.nodes) {
    if (bn.op_type !== "BatchNormalization") continue;
    const conv = producer.get(bn.input[0]);
    if (!conv || conv.op_type !== "Conv" || conv.input.length !== 2) continue;
    if (uses.get(conv.output[0]) !== 1) continue;
    const w = data.get(conv.input[1])!;
    const [gamma, beta, mean, variance] = bn.input.slice(1).map((v) => data.get(v)!);
    const eps = bn.attribute.find((a) => a.name === "epsilon")?.f ?? 1e-5;
    const channels = mean.length;
    const per = w.length / channels;
    const folded = new Float32Array(w.length);
    const bias = new Float32Array(channels);
    for (let o = 0; o < channels; o++) {
      const k = gamma[o] / Math.sqrt(variance[o] + Math.fround(eps));
      for (let i = o * per; i < (o + 1) * per; i++) folded[i] = w[i] * k;
      bias[o] = beta[o] - mean[o] * k;
    }
    const weightName = `${conv.name}/weight_bn_folded`;
    const biasName = `${conv.name}/bias_bn_folded`;
    const dims = graph.initializers.get(conv.input[1])!.dims;
    graph.initializers.set(weightName, { name: weightName, dims, source: folded });
    graph.initializers.set(biasName, { name: biasName, dims: [channels], source: bias });
    data.set(weightName, folded);
    data.set(biasName, bias);
    conv.input = [conv.input[0], weightName, biasName];
    conv.output = [bn.output[0]];
    removed.add(bn);
  }
  graph.nodes = graph.nodes.filter((n) => !removed.has(n));
  return removed.size;
}

function tensorType(dims: (number | string)[]): Record<string, unknown> {
  return {
    tensor_type: {
      elem_type: 1, // FLOAT
      shape: {
        dim: dims.map((d) => (typeof d === "string" ? { dim_param: d } : { dim_value: d })),
      },
    },
  };
}

function channelStats(
  model: Module,
  what: string,
  given: readonly number[] | undefined,
  fallback: readonly number[] | undefined,
  channels: number,
  neutral: number,
): number[] {
  const v = given ?? fallback ?? [neutral];
  if (v.length === 1 && channels > 1 && given === undefined && fallback === undefined) {
    return Array(channels).fill(neutral);
  }
  if (v.length !== channels || v.some((x) => !Number.isFinite(x))) {
    fail(model, `${what} must hold ${channels} finite numbers (one per channel), got [${v}]`);
  }
  return [...v];
}

/**
 * Exports `model` as an ONNX model (opset 17) for onnxruntime-web. The graph
 * is derived from the model itself: its `call` runs with graph-building
 * LayerOps, so every architecture of packages/models exports with no extra
 * description. Semantics are those of evaluation mode, whatever the model's
 * current mode: BatchNormalization uses the running statistics (scale 1,
 * bias 0, ε from the module), and is folded into the preceding conv by
 * default (`foldBatchNorm`). The FCN's relu·√2 is exported as Relu then Mul
 * by a float32 scalar initializer (`const/scale_1.4142135623730951`).
 * AveragePool counts padded zeros (count_include_pad = 1), as the project does.
 *
 * The graph has one input `input` [batch, C, H, W] float32 (batch is the
 * dynamic dimension "batch") and one output `logits` [batch, classes]. Weights
 * are initializers named as in the state dict. `metadata_props` holds `arch`,
 * `dataset`, `classes` (JSON array of labels), `num_classes`, `mean` and
 * `std` (JSON arrays), `input_shape` (JSON [C, H, W]), `input_layout`
 * ("NCHW"), `input_scale` (pixels ÷ 255 before normalizing) and any
 * `options.metadata`; `producer_name` is "agd".
 *
 * @param model the network (any packages/models Module); it is not modified
 * @param options input shape, metadata, BatchNorm folding
 * @returns the serialized ONNX ModelProto
 * @throws Error naming the module and op when the forward pass uses an op the
 *   exporter does not know, or a parameter's shape does not fit the network
 * @example
 * ```ts
 * import { createModel } from "@agd/models";
 * import { exportOnnx } from "@agd/onnx-export";
 * const model = createModel("fcn", "mnist", { depth: 3, width: 16 });
 * const bytes = await exportOnnx(model, { inputShape: [1, 28, 28], arch: "fcn", dataset: "mnist" });
 * console.log(bytes.length > 0); // true; write it with Deno.writeFile("model.onnx", bytes)
 * ```
 */
export async function exportOnnx(model: Module, options: ExportOnnxOptions): Promise<Uint8Array> {
  const opset = options.opset ?? 17;
  if (opset !== 17) fail(model, `opset ${opset} is not supported (only 17)`);
  if (!LITTLE_ENDIAN) fail(model, "this host is big-endian; raw_data must be little-endian");
  const graph = traceGraph(model, options.inputShape);
  const [channels, height, width] = graph.inputShape;
  const data = await readInitializers(model, graph);
  if (options.foldBatchNorm ?? true) foldBatchNorms(graph, data);

  // Class labels.
  let labels: string[];
  const given = options.classes;
  if (typeof given === "number") {
    if (given !== graph.classes) {
      fail(model, `options.classes is ${given}, but the model outputs ${graph.classes} logits`);
    }
    labels = Array.from({ length: given }, (_, i) => String(i));
  } else if (given) {
    if (given.length !== graph.classes) {
      fail(
        model,
        `options.classes has ${given.length} labels, but the model outputs ${graph.classes} logits`,
      );
    }
    labels = [...given];
  } else {
    const known = options.dataset ? classLabels(options.dataset) : undefined;
    labels = known?.length === graph.classes
      ? [...known]
      : Array.from({ length: graph.classes }, (_, i) => String(i));
  }
  const norm = options.dataset ? normalization(options.dataset) : undefined;
  const mean = channelStats(model, "options.mean", options.mean, norm?.mean, channels, 0);
  const std = channelStats(model, "options.std", options.std, norm?.std, channels, 1);
  if (std.some((s) => s <= 0)) fail(model, `options.std must be positive, got [${std}]`);

  // Keep only initializers some node reads, in first-use order.
  const used: string[] = [];
  const seen = new Set<string>();
  for (const n of graph.nodes) {
    for (const v of n.input) {
      if (graph.initializers.has(v) && !seen.has(v)) {
        seen.add(v);
        used.push(v);
      }
    }
  }
  const initializer = used.map((name) => {
    const values = data.get(name)!;
    return {
      name,
      dims: graph.initializers.get(name)!.dims,
      data_type: 1, // FLOAT
      raw_data: new Uint8Array(values.buffer, values.byteOffset, values.byteLength),
    };
  });

  const metadata: Record<string, string> = {
    arch: options.arch ?? model.constructor.name,
    dataset: options.dataset ?? "",
    classes: JSON.stringify(labels),
    num_classes: String(graph.classes),
    mean: JSON.stringify(mean),
    std: JSON.stringify(std),
    input_shape: JSON.stringify([channels, height, width]),
    input_layout: "NCHW",
    input_scale: "1/255",
  };
  for (const [k, v] of Object.entries(options.metadata ?? {})) metadata[k] = String(v);

  return await encodeModelProto({
    ir_version: ONNX_IR_VERSION,
    opset_import: [{ domain: "", version: opset }],
    producer_name: "agd",
    producer_version: PRODUCER_VERSION,
    model_version: 1,
    doc_string:
      `${metadata.arch} (${
        metadata.dataset || "no dataset"
      }) in evaluation mode, exported by @agd/onnx-export from the model's own forward pass. ` +
      `Input: float32 [batch, ${channels}, ${height}, ${width}] (NCHW), pixels/255 normalized ` +
      `with (x - mean) / std per channel; output: logits [batch, ${graph.classes}].`,
    graph: {
      name: metadata.arch,
      node: graph.nodes,
      initializer,
      input: [{ name: graph.input, type: tensorType(["batch", channels, height, width]) }],
      output: [{ name: graph.output, type: tensorType(["batch", graph.classes]) }],
    },
    metadata_props: Object.entries(metadata).map(([key, value]) => ({ key, value })),
  });
}

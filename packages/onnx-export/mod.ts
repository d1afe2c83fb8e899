/**
 * Exports the networks of `@agd/models` to ONNX (opset 17) for
 * onnxruntime-web: the graph comes from each model's own forward pass, run
 * with graph-building LayerOps, so no architecture is described twice.
 *
 * @example
 * ```ts
 * import { createModel } from "@agd/models";
 * import { exportOnnx, inspectOnnx } from "@agd/onnx-export";
 * const model = createModel("fcn", "mnist", { depth: 3, width: 16 }).eval();
 * const bytes = await exportOnnx(model, { inputShape: [1, 28, 28], arch: "fcn", dataset: "mnist" });
 * const info = await inspectOnnx(bytes);
 * console.log(info.inputs[0].dims, info.metadata.mean); // ["batch", 1, 28, 28] "[0.1307]"
 * ```
 *
 * @module
 */
export { exportOnnx, type ExportOnnxOptions, PRODUCER_VERSION } from "./export.ts";
export {
  exportCheckpoint,
  type ExportCheckpointOptions,
  type ExportCheckpointResult,
} from "./checkpoint.ts";
export {
  type OnnxAttribute,
  type OnnxInitializer,
  type OnnxNode,
  SUPPORTED_OPS,
  type TracedGraph,
  traceGraph,
} from "./trace.ts";
export {
  decodeModelProto,
  encodeModelProto,
  inspectOnnx,
  ONNX_IR_VERSION,
  type OnnxMessageType,
  type OnnxSchema,
  onnxSchema,
  type OnnxSummary,
} from "./schema.ts";

/**
 * Traces a {@link Module}'s forward pass into an ONNX graph: the model's own
 * `call` runs with a {@link LayerOps} whose values are tensor names and whose
 * methods append ONNX nodes, so every architecture is described exactly once
 * (in packages/models) and exported from that description.
 *
 * @module
 */
import type {
  BatchNormState,
  BufferRef,
  LayerOps,
  Module,
  Parameter,
  Pool2dOptions,
} from "@agd/models";
import type { Tensor } from "@agd/tensor";

/** An ONNX attribute as a plain `onnx.AttributeProto` object. */
export interface OnnxAttribute {
  /** Attribute name. */
  name: string;
  /** Attribute type (AttributeProto.AttributeType name). */
  type: "INT" | "INTS" | "FLOAT";
  /** INT value. */
  i?: number;
  /** INTS value. */
  ints?: number[];
  /** FLOAT value. */
  f?: number;
}

/** An ONNX node as a plain `onnx.NodeProto` object. */
export interface OnnxNode {
  /** Unique node name (module path and op type). */
  name: string;
  /** Operator type in the default domain, opset 17. */
  op_type: string;
  /** Input value names. */
  input: string[];
  /** Output value names. */
  output: string[];
  /** Attributes. */
  attribute: OnnxAttribute[];
}

/** A float32 initializer: a model tensor (read after the trace) or constant data. */
export interface OnnxInitializer {
  /** Value name (the state-dict name for parameters and buffers). */
  name: string;
  /** Shape. */
  dims: number[];
  /** The tensor to read, or the data itself. */
  source: Tensor | Float32Array;
}

/** What {@link traceGraph} returns. */
export interface TracedGraph {
  /** Nodes in topological order. */
  nodes: OnnxNode[];
  /** Initializers by name. */
  initializers: Map<string, OnnxInitializer>;
  /** Name of the graph input (`input`). */
  input: string;
  /** Name of the graph output (`logits`). */
  output: string;
  /** Per-sample input shape [C, H, W]. */
  inputShape: number[];
  /** Number of classes (the per-sample output size). */
  classes: number;
}

const OPS = [
  "linear",
  "conv2d",
  "batchNorm",
  "relu",
  "scale",
  "scaledRelu",
  "maxPool2d",
  "avgPool2d",
  "globalAvgPool2d",
  "flatten",
  "add",
] as const satisfies readonly (keyof LayerOps<string>)[];
// Compile-time check: every LayerOps method is listed (a new one must be exported too).
const _allOpsListed: Exclude<keyof LayerOps<string>, (typeof OPS)[number]> extends never ? true
  : never = true;

/** The op names of {@link LayerOps} the exporter implements (all of them). */
export const SUPPORTED_OPS: readonly string[] = OPS;

const ints = (name: string, value: readonly number[]): OnnxAttribute => ({
  name,
  type: "INTS",
  ints: [...value],
});
const int = (name: string, value: number): OnnxAttribute => ({ name, type: "INT", i: value });
const float = (name: string, value: number): OnnxAttribute => ({ name, type: "FLOAT", f: value });
const show = (s: readonly number[]): string => `[${s.join(", ")}]`;

interface Scope {
  path: string;
  kind: string;
}

/** {@link LayerOps} over graph value names: each call appends ONNX nodes. */
class GraphBuilder implements LayerOps<string> {
  readonly nodes: OnnxNode[] = [];
  readonly initializers = new Map<string, OnnxInitializer>();
  readonly shapes = new Map<string, number[]>();
  readonly scopes: Scope[] = [];
  /** The innermost module that was running when tracing threw. */
  failedAt?: string;
  readonly #refNames = new Map<Parameter | BufferRef, string>();
  readonly #constants = new Map<string, string>();
  readonly #nodeNames = new Set<string>();

  constructor(readonly modelName: string) {}

  fail(message: string): never {
    throw new Error(`Cannot export ${this.modelName} to ONNX: ${message}`);
  }

  /** The module being traced, as text for messages. */
  where(): string {
    const s = this.scopes.at(-1);
    if (!s) return `the model (${this.modelName})`;
    return s.path ? `module "${s.path}" (${s.kind})` : `the model (${s.kind})`;
  }

  shapeOf(x: unknown, op: string): number[] {
    const shape = typeof x === "string" ? this.shapes.get(x) : undefined;
    if (!shape) {
      this.fail(
        `${this.where()} passes ${
          typeof x === "string" ? `the unknown value "${x}"` : `a ${typeof x}`
        } to op "${op}"; a forward pass must only combine the values that LayerOps returns`,
      );
    }
    return shape;
  }

  emit(opType: string, inputs: string[], attribute: OnnxAttribute[], shape: number[]): string {
    if (shape.some((d) => !(Number.isInteger(d) && d > 0))) {
      this.fail(
        `${this.where()} makes ${opType} produce the empty per-sample shape ${show(shape)}`,
      );
    }
    const path = this.scopes.at(-1)?.path ?? "";
    const base = `/${path.replaceAll(".", "/")}${path ? "/" : ""}${opType}`;
    let name = base;
    for (let i = 1; this.#nodeNames.has(name); i++) name = `${base}_${i}`;
    this.#nodeNames.add(name);
    const output = `${name}_output_0`;
    this.nodes.push({ name, op_type: opType, input: inputs, output: [output], attribute });
    this.shapes.set(output, shape);
    return output;
  }

  /** Registers a model tensor as an initializer under its state-dict name. */
  tensorInit(ref: Parameter | BufferRef, dims: number[]): string {
    const known = this.#refNames.get(ref);
    if (known) return known;
    let name = ref.name || "tensor";
    for (let i = 1; this.initializers.has(name); i++) name = `${ref.name}_${i}`;
    this.#refNames.set(ref, name);
    this.initializers.set(name, { name, dims, source: ref.value });
    return name;
  }

  /** A constant float32 initializer, shared between nodes by value. */
  constInit(key: string, dims: number[], data: Float32Array): string {
    const known = this.#constants.get(key);
    if (known) return known;
    const name = `const/${key}`;
    this.#constants.set(key, name);
    this.initializers.set(name, { name, dims, source: data });
    return name;
  }

  checkParam(p: Parameter, rank: number, what: string): readonly number[] {
    const s = p.value.shape;
    if (s.length !== rank || s.some((d) => !(Number.isInteger(d) && d > 0))) {
      this.fail(`parameter "${p.name}" of ${this.where()} has shape ${show(s)}, not a ${what}`);
    }
    return s;
  }

  linear(x: string, weight: Parameter): string {
    const s = this.shapeOf(x, "linear");
    const w = this.checkParam(weight, 2, "Linear weight [out, in]");
    if (s.length !== 1) {
      this.fail(
        `${this.where()} applies linear to a per-sample ${
          show(s)
        } value; only [batch, features] inputs (flatten first) are supported`,
      );
    }
    if (w[1] !== s[0]) {
      this.fail(
        `parameter "${weight.name}" of ${this.where()} has shape ${
          show(w)
        }, but the layer receives ${s[0]} features`,
      );
    }
    const name = this.tensorInit(weight, [...w]);
    return this.emit("Gemm", [x, name], [int("transB", 1)], [w[0]]);
  }

  conv2d(
    x: string,
    weight: Parameter,
    options: { stride: [number, number]; padding: [number, number] },
  ): string {
    const s = this.shapeOf(x, "conv2d");
    const w = this.checkParam(weight, 4, "Conv2d weight [out, in, kh, kw]");
    if (s.length !== 3) {
      this.fail(`${this.where()} applies conv2d to a per-sample ${show(s)} value, not [C, H, W]`);
    }
    if (w[1] !== s[0]) {
      this.fail(
        `parameter "${weight.name}" of ${this.where()} has shape ${show(w)}, but the layer ` +
          `receives ${s[0]} channels`,
      );
    }
    const [sh, sw] = options.stride;
    const [ph, pw] = options.padding;
    const h = Math.floor((s[1] + 2 * ph - w[2]) / sh) + 1;
    const wd = Math.floor((s[2] + 2 * pw - w[3]) / sw) + 1;
    const name = this.tensorInit(weight, [...w]);
    return this.emit("Conv", [x, name], [
      ints("kernel_shape", [w[2], w[3]]),
      ints("strides", [sh, sw]),
      ints("pads", [ph, pw, ph, pw]),
      ints("dilations", [1, 1]),
      int("group", 1),
    ], [w[0], h, wd]);
  }

  batchNorm(x: string, bn: BatchNormState): string {
    const s = this.shapeOf(x, "batchNorm");
    const c = s[0];
    for (const buffer of [bn.runningMean, bn.runningVar]) {
      if (buffer.value.shape.length !== 1 || buffer.value.shape[0] !== c) {
        this.fail(
          `buffer "${buffer.name}" of ${this.where()} has shape ${
            show(buffer.value.shape)
          }, but the layer receives ${c} channels`,
        );
      }
    }
    const scale = this.constInit(`ones_${c}`, [c], new Float32Array(c).fill(1));
    const bias = this.constInit(`zeros_${c}`, [c], new Float32Array(c));
    const mean = this.tensorInit(bn.runningMean, [c]);
    const variance = this.tensorInit(bn.runningVar, [c]);
    return this.emit(
      "BatchNormalization",
      [x, scale, bias, mean, variance],
      [float("epsilon", bn.eps)],
      s,
    );
  }

  relu(x: string): string {
    return this.emit("Relu", [x], [], this.shapeOf(x, "relu"));
  }

  /** Relu then Mul: ONNX has no scaled relu. */
  scaledRelu(x: string, factor: number): string {
    return this.scale(this.relu(x), factor);
  }

  scale(x: string, factor: number): string {
    const s = this.shapeOf(x, "scale");
    if (!Number.isFinite(factor)) this.fail(`${this.where()} scales by ${factor}`);
    const c = this.constInit(`scale_${factor}`, [], Float32Array.of(factor));
    return this.emit("Mul", [x, c], [], s);
  }

  #pool(x: string, op: string, onnxOp: string, o: Pool2dOptions, extra: OnnxAttribute[]): string {
    const s = this.shapeOf(x, op);
    if (s.length !== 3) {
      this.fail(`${this.where()} applies ${op} to a per-sample ${show(s)} value, not [C, H, W]`);
    }
    const h = Math.floor((s[1] + 2 * o.padding[0] - o.kernel[0]) / o.stride[0]) + 1;
    const w = Math.floor((s[2] + 2 * o.padding[1] - o.kernel[1]) / o.stride[1]) + 1;
    return this.emit(onnxOp, [x], [
      ints("kernel_shape", o.kernel),
      ints("strides", o.stride),
      ints("pads", [o.padding[0], o.padding[1], o.padding[0], o.padding[1]]),
      ...extra,
    ], [s[0], h, w]);
  }

  maxPool2d(x: string, options: Pool2dOptions): string {
    return this.#pool(x, "maxPool2d", "MaxPool", options, []);
  }

  avgPool2d(x: string, options: Pool2dOptions): string {
    return this.#pool(x, "avgPool2d", "AveragePool", options, [int("count_include_pad", 1)]);
  }

  globalAvgPool2d(x: string): string {
    const s = this.shapeOf(x, "globalAvgPool2d");
    if (s.length !== 3) {
      this.fail(`${this.where()} applies globalAvgPool2d to a per-sample ${show(s)} value`);
    }
    return this.emit("GlobalAveragePool", [x], [], [s[0], 1, 1]);
  }

  flatten(x: string): string {
    const s = this.shapeOf(x, "flatten");
    return this.emit("Flatten", [x], [int("axis", 1)], [s.reduce((a, b) => a * b, 1)]);
  }

  add(a: string, b: string): string {
    const sa = this.shapeOf(a, "add");
    const sb = this.shapeOf(b, "add");
    if (sa.join() !== sb.join()) {
      this.fail(`${this.where()} adds values of per-sample shapes ${show(sa)} and ${show(sb)}`);
    }
    return this.emit("Add", [a, b], [], sa);
  }
}

/** Makes every module of the tree record its path on the builder while it runs; returns the undo. */
function instrument(root: Module, builder: GraphBuilder): () => void {
  const undo: (() => void)[] = [];
  const visit = (m: Module, path: string): void => {
    const own = Object.getOwnPropertyDescriptor(m, "call");
    const original = m.call;
    const kind = m.constructor.name || "anonymous Module";
    Object.defineProperty(m, "call", {
      configurable: true,
      writable: true,
      value: (ops: LayerOps<unknown>, x: unknown): unknown => {
        builder.scopes.push({ path, kind });
        try {
          return original.call(m, ops, x);
        } catch (e) {
          builder.failedAt ??= builder.where();
          throw e;
        } finally {
          builder.scopes.pop();
        }
      },
    });
    undo.push(() => {
      if (own) Object.defineProperty(m, "call", own);
      else Reflect.deleteProperty(m, "call");
    });
    for (const [name, child] of m.children()) visit(child, path ? `${path}.${name}` : name);
  };
  visit(root, "");
  return () => undo.reverse().forEach((f) => f());
}

/**
 * Runs `model.call` with graph-building {@link LayerOps} on the value
 * `"input"` of per-sample shape `inputShape`, giving the evaluation-mode graph
 * (BatchNorm always uses the running statistics, whatever the model's mode).
 * Nothing is read from the device: parameters are referenced, not copied.
 *
 * @param model the network (parameters and buffers get their state-dict names)
 * @param inputShape per-sample input shape [C, H, W]
 * @returns nodes, initializers and the output's class count
 * @throws Error naming the module and op when the forward pass uses an op the
 *   exporter does not know, something other than graph values, or a parameter
 *   whose shape does not fit its input
 */
export function traceGraph(model: Module, inputShape: readonly number[]): TracedGraph {
  const modelName = model.constructor.name || "the model";
  if (
    inputShape.length !== 3 || inputShape.some((d) => !(Number.isInteger(d) && d > 0))
  ) {
    throw new Error(
      `Cannot export ${modelName} to ONNX: inputShape must be [C, H, W] of positive integers, got ${
        show(inputShape)
      }`,
    );
  }
  // Assign the state-dict names the initializers are called by.
  model.parameters();
  model.buffers();
  const builder = new GraphBuilder(modelName);
  builder.shapes.set("input", [...inputShape]);
  const ops = new Proxy(builder, {
    get(target, prop, receiver) {
      if (typeof prop === "string" && !SUPPORTED_OPS.includes(prop)) {
        target.fail(
          `${target.where()} uses op "${prop}", which the exporter does not support ` +
            `(it exports ${SUPPORTED_OPS.join(", ")})`,
        );
      }
      const v = Reflect.get(target, prop, receiver);
      return typeof v === "function" ? v.bind(target) : v;
    },
  }) as LayerOps<string>;
  const restore = instrument(model, builder);
  let out: unknown;
  try {
    out = model.call(ops, "input");
  } catch (e) {
    if (e instanceof Error && e.message.startsWith(`Cannot export ${modelName} to ONNX`)) throw e;
    throw new Error(
      `Cannot export ${modelName} to ONNX: tracing ${builder.failedAt ?? builder.where()} failed (${
        (e as Error)?.message ?? e
      }); its forward pass must only use LayerOps`,
      { cause: e },
    );
  } finally {
    restore();
  }
  const outShape = builder.shapeOf(out, "the model output");
  if (outShape.length !== 1) {
    builder.fail(`the model's output has per-sample shape ${show(outShape)}, not [classes]`);
  }
  let output = out as string;
  if (output === "input") {
    output = builder.emit("Identity", ["input"], [], outShape);
  }
  // Name the graph output "logits".
  for (const node of builder.nodes) {
    node.input = node.input.map((v) => (v === output ? "logits" : v));
    node.output = node.output.map((v) => (v === output ? "logits" : v));
  }
  return {
    nodes: builder.nodes,
    initializers: builder.initializers,
    input: "input",
    output: "logits",
    inputShape: [...inputShape],
    classes: outShape[0],
  };
}
